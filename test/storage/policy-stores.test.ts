// Policy versions, device settings, compliance records and API tokens in SQLite.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DeviceSettingRecord } from '../../src/storage/device-settings.js';
import type { Storage } from '../../src/storage/index.js';
import { openSqliteStorage } from '../../src/storage/sqlite/index.js';

let storage: Storage;
beforeEach(() => {
  storage = openSqliteStorage({ file: ':memory:' });
});
afterEach(() => storage.close());

const AT = '2026-02-01T00:00:00.000Z';
const policy = (name: string, hash: string) => ({ name, hash, file: `${name}.yaml`, body: { name, hash } });

describe('PolicyStore', () => {
  it('versions changed policies, deactivates removed ones and skips an unchanged folder', async () => {
    const first = await storage.policies.applyPolicySet(
      { policies: [policy('a', 'h1'), policy('b', 'h1')], config: { x: 1 }, hash: 'F1', summary: [] },
      AT,
    );
    expect(first).toEqual({
      revision: 1,
      created: true,
      changes: [
        { name: 'a', change: 'added', version: 1 },
        { name: 'b', change: 'added', version: 1 },
      ],
    });
    const second = await storage.policies.applyPolicySet(
      { policies: [policy('a', 'h2')], config: { x: 2 }, hash: 'F2', summary: [] },
      AT,
    );
    expect(second.changes).toEqual([
      { name: 'a', change: 'changed', version: 2 },
      { name: 'b', change: 'removed', version: 1 },
    ]);
    expect(
      await storage.policies.applyPolicySet({ policies: [], config: {}, hash: 'F2', summary: [] }, AT),
    ).toEqual({
      revision: 2,
      created: false,
      changes: [],
    });
    const current = await storage.policies.currentPolicySet();
    expect(current).toMatchObject({ revision: 2, hash: 'F2', config: { x: 2 } });
    expect(current.policies.map((p) => [p.name, p.version, p.body])).toEqual([
      ['a', 2, { name: 'a', hash: 'h2' }],
    ]);
    expect((await storage.policies.policyVersions('a')).map((v) => v.version)).toEqual([1, 2]);
    // A policy that comes back with its old content is re-activated without a new version.
    const third = await storage.policies.applyPolicySet(
      { policies: [policy('a', 'h2'), policy('b', 'h1')], config: {}, hash: 'F3', summary: [] },
      AT,
    );
    expect(third.changes).toEqual([{ name: 'b', change: 'added', version: 1 }]);
  });
});

describe('DeviceSettingStore', () => {
  const record = (
    deviceId: string,
    path: string,
    patch: Partial<DeviceSettingRecord> = {},
  ): DeviceSettingRecord => ({
    deviceId,
    path,
    state: 'verified',
    policy: 'p',
    desiredValue: '1',
    format: 'int',
    plan: { any: 'json' },
    deliveredValue: '1',
    reportedValue: '01',
    statusCode: 200,
    reason: null,
    added: true,
    driftRetries: 0,
    failRetries: 0,
    sentAt: AT,
    appliedAt: AT,
    verifiedAt: AT,
    reportedAt: AT,
    nextCheckAt: null,
    updatedAt: AT,
    ...patch,
  });

  it('round-trips records and filters them', async () => {
    await storage.deviceSettings.saveDeviceSettings([
      record('D1', './a'),
      record('D1', './b', {
        state: 'failed',
        statusCode: 500,
        reason: 'boom',
        added: false,
        policy: 'q',
        failRetries: 2,
        nextCheckAt: AT,
      }),
      record('D2', './a', { state: 'conflict', plan: null, desiredValue: null }),
    ]);
    expect(await storage.deviceSettings.getDeviceSetting('D1', './a')).toEqual(record('D1', './a'));
    expect(await storage.deviceSettings.getDeviceSetting('D1', './b')).toMatchObject({ failRetries: 2 });
    expect(
      (await storage.deviceSettings.querySettings({ policy: 'q' })).map((r) => [r.deviceId, r.path]),
    ).toEqual([['D1', './b']]);
    expect((await storage.deviceSettings.querySettings({ state: 'conflict' }))[0]?.plan).toBeNull();
    expect(await storage.deviceSettings.countSettingsByState()).toMatchObject({
      verified: 1,
      failed: 1,
      conflict: 1,
      removed: 0,
    });
    expect(await storage.deviceSettings.deviceIdsWithSettings()).toEqual(['D1', 'D2']);
  });
});

describe('ComplianceStore', () => {
  it('keeps facts, compliance, check-ins and outcome counters', async () => {
    await storage.compliance.recordFacts('D1', [
      { path: './x', value: '1', statusCode: 200, reportedAt: AT },
    ]);
    await storage.compliance.recordFacts('D1', [
      { path: './x', value: null, statusCode: 404, reportedAt: AT },
    ]);
    expect(await storage.compliance.getFacts('D1')).toEqual([
      { path: './x', value: null, statusCode: 404, reportedAt: AT },
    ]);
    const c = {
      deviceId: 'D1',
      state: 'in_grace' as const,
      reasons: ['r'],
      failingSince: AT,
      graceEndsAt: AT,
      actionsDone: [],
      evaluatedAt: AT,
      factsRequestedAt: null,
    };
    await storage.compliance.saveCompliance(c);
    expect(await storage.compliance.getCompliance('D1')).toEqual(c);
    await storage.compliance.recordCheckin('D1', AT, true);
    await storage.compliance.recordCheckin('D1', AT, false);
    expect(await storage.compliance.getCheckin('D1')).toEqual({
      deviceId: 'D1',
      count: 2,
      lastAt: AT,
      userLoggedOn: false,
    });
    await storage.compliance.countOutcome('policy', 'Add', '2xx');
    await storage.compliance.countOutcome('policy', 'Add', '2xx');
    await storage.compliance.countOutcome('policy', 'Get', '4xx');
    expect(await storage.compliance.listOutcomeCounts()).toEqual([
      { origin: 'policy', verb: 'Add', class: '2xx', count: 2 },
      { origin: 'policy', verb: 'Get', class: '4xx', count: 1 },
    ]);
  });
});

describe('TokenStore', () => {
  it('finds live tokens by hash only and revokes them', async () => {
    await storage.tokens.createToken({ id: 't1', name: 'ci', hash: 'abc', createdAt: AT });
    expect((await storage.tokens.findTokenByHash('abc'))?.id).toBe('t1');
    await storage.tokens.markTokenUsed('t1', AT);
    expect((await storage.tokens.listTokens())[0]?.lastUsedAt).toBe(AT);
    expect(await storage.tokens.revokeToken('t1', AT)).toBe(true);
    expect(await storage.tokens.revokeToken('t1', AT)).toBe(false);
    expect(await storage.tokens.findTokenByHash('abc')).toBeUndefined();
  });
});
