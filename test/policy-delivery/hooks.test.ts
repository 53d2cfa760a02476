// Delivery and compliance through the session hooks, with real SQLite storage, the real policy
// compiler and catalog, a pinned clock and a scripted device (see engine.ts).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultCatalog } from '../../src/catalog/catalog.js';
import { createLogger } from '../../src/logger.js';
import type { ComplianceNotice } from '../../src/policy/compliance/service.js';
import { applyPolicyFolder } from '../../src/policy/delivery/apply-folder.js';
import { createPolicyHooks, type PolicyHooks } from '../../src/policy/hooks.js';
import type { CommandRecord } from '../../src/storage/commands.js';
import type { Storage } from '../../src/storage/index.js';
import { openSqliteStorage } from '../../src/storage/sqlite/index.js';
import {
  checkInExchange,
  enrollInStorage,
  FakeDevice,
  outcomeExchange,
  type Queued,
  session,
} from './engine.js';

const FIREWALL = './Vendor/MSFT/DeviceStatus/Firewall/Status';
const CAMERA = './Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera';
const CORTANA = './Device/Vendor/MSFT/Policy/Config/Experience/AllowCortana';
const PASSWORD = './Device/Vendor/MSFT/Policy/Config/DeviceLock/DevicePasswordEnabled';
const LOCK = './Vendor/MSFT/RemoteLock/Lock';
const RESULT = './Device/Vendor/MSFT/Policy/Result/Camera/AllowCamera';
const T0 = Date.parse('2026-05-01T08:00:00Z');
const HOUR = 3_600_000;

let dir: string;
let storage: Storage;
let clock: number;
let logLines: string[];
let webhooks: { url: string; notice: ComplianceNotice }[];

function hooks(extra: Partial<Parameters<typeof createPolicyHooks>[0]> = {}): PolicyHooks {
  const sink = new Writable({
    write(chunk, _enc, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  return createPolicyHooks({
    logger: createLogger('info', sink),
    now: () => new Date(clock),
    sendWebhook: async (url, notice) => {
      webhooks.push({ url, notice });
    },
    ...extra,
  });
}

async function apply(files: Record<string, string>) {
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, 'policies', name), text);
  const result = await applyPolicyFolder(storage.policies, join(dir, 'policies'), {
    catalog: defaultCatalog(),
    now: new Date(clock),
  });
  expect(result.folder.issues).toEqual([]);
  return result;
}

const setting = async (deviceId: string, path: string) =>
  storage.deviceSettings.getDeviceSetting(deviceId, path);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mdm-hooks-'));
  mkdirSync(join(dir, 'policies'));
  storage = openSqliteStorage({ file: ':memory:' });
  clock = T0;
  logLines = [];
  webhooks = [];
});
afterEach(async () => {
  await storage.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('compliance through the session hooks', () => {
  const files = {
    'password-on.yaml':
      'name: password-on\nsettings:\n  - path: DeviceLock/DevicePasswordEnabled\n    value: 0\n',
    'compliance.yaml': `rules:
  - name: firewall
    gracePeriod: 1h
    require:
      firewall: true
    actions:
      - notify: log
      - notify: { webhook: "https://hooks.example.com/mdm" }
      - lock: true
      - remediate: password-on
`,
  };

  it('is in grace first, noncompliant after the grace period, runs the actions once, recovers', async () => {
    await apply(files);
    await enrollInStorage(storage, 'D1');
    const device = new FakeDevice('D1');
    device.tree.set(FIREWALL, '1');
    const h = hooks();

    await session(h, device, storage);
    const first = await storage.compliance.getCompliance('D1');
    expect(first).toMatchObject({
      state: 'in_grace',
      reasons: ['firewall: firewall disabled'],
      actionsDone: [],
    });
    expect(first?.graceEndsAt).toBe(new Date(T0 + HOUR).toISOString());
    expect(device.received).toEqual([`Get ${FIREWALL}`]);

    clock = T0 + 2 * HOUR;
    await session(h, device, storage);
    expect(await storage.compliance.getCompliance('D1')).toMatchObject({
      state: 'noncompliant',
      actionsDone: ['firewall'],
    });
    expect(webhooks).toEqual([
      {
        url: 'https://hooks.example.com/mdm',
        notice: expect.objectContaining({
          deviceId: 'D1',
          rule: 'firewall',
          reasons: ['firewall: firewall disabled'],
        }),
      },
    ]);
    expect(logLines.some((l) => l.includes('"msg":"device is noncompliant"'))).toBe(true);
    expect(device.received).toContain(`Exec ${LOCK}`);
    expect(await setting('D1', PASSWORD)).toMatchObject({ state: 'verified', policy: 'password-on' });

    clock = T0 + 3 * HOUR + 1;
    device.received.length = 0;
    await session(h, device, storage);
    expect(webhooks).toHaveLength(1); // actions run once per failing run
    expect(device.received).not.toContain(`Exec ${LOCK}`);

    device.tree.set(FIREWALL, '0');
    clock = T0 + 5 * HOUR;
    await session(h, device, storage);
    expect(await storage.compliance.getCompliance('D1')).toMatchObject({
      state: 'compliant',
      actionsDone: [],
      failingSince: null,
    });
    expect(await setting('D1', PASSWORD)).toMatchObject({ state: 'removed' });
    expect(device.tree.has(PASSWORD)).toBe(false);
  });

  it('is unknown while the device cannot report a fact', async () => {
    await apply(files);
    await enrollInStorage(storage, 'D2');
    const device = new FakeDevice('D2'); // no firewall node: the Get answers 404
    await session(hooks(), device, storage);
    expect(await storage.compliance.getCompliance('D2')).toMatchObject({
      state: 'unknown',
      reasons: ['firewall: firewall status not reported'],
    });
  });
});

describe('delivery through the session hooks', () => {
  it('sends an atomic policy as one Atomic and verifies each setting', async () => {
    await apply({
      'locked.yaml':
        'name: locked\natomic: true\nsettings:\n  - path: Camera/AllowCamera\n    value: 0\n  - path: Experience/AllowCortana\n    value: 0\n',
      'assignments.yaml': 'assignments:\n  - policy: locked\n    include: [all]\n',
    });
    await enrollInStorage(storage, 'A1');
    const device = new FakeDevice('A1');
    const queued = await session(hooks(), device, storage);
    expect(queued[0]?.command.verb).toBe('Atomic');
    expect(queued[0]?.tag).toBe('setting-atomic:locked');
    expect(await setting('A1', CAMERA)).toMatchObject({ state: 'verified' });
    expect(await setting('A1', CORTANA)).toMatchObject({ state: 'verified' });
  });

  it('re-sends a setting answered 418 inside an Atomic as its own Replace', async () => {
    await apply({
      'locked.yaml':
        'name: locked\natomic: true\nsettings:\n  - path: Camera/AllowCamera\n    value: 0\n  - path: Experience/AllowCortana\n    value: 0\n',
      'assignments.yaml': 'assignments:\n  - policy: locked\n    include: [all]\n',
    });
    await enrollInStorage(storage, 'A2');
    const device = new FakeDevice('A2');
    device.tree.set(CAMERA, '1');
    await session(hooks(), device, storage);
    expect(device.received.filter((r) => r.endsWith(CAMERA))).toEqual([`Add ${CAMERA}`, `Replace ${CAMERA}`]);
    expect(await setting('A2', CAMERA)).toMatchObject({ state: 'verified', reportedValue: '0' });
    expect(await setting('A2', CORTANA)).toMatchObject({ state: 'verified' });
  });

  it('lets the engine turn a 418 Add into Replace without sending a second one', async () => {
    await apply({
      'camera.yaml': 'name: camera\nsettings:\n  - path: Camera/AllowCamera\n    value: 0\n',
      'assignments.yaml': 'assignments:\n  - policy: camera\n    include: [all]\n',
    });
    await enrollInStorage(storage, 'R1');
    const device = new FakeDevice('R1');
    device.tree.set(CAMERA, '1'); // another MDM value is already there
    await session(hooks(), device, storage);
    expect(device.received.filter((r) => r.endsWith(CAMERA))).toEqual([`Add ${CAMERA}`, `Replace ${CAMERA}`]);
    expect(await setting('R1', CAMERA)).toMatchObject({ state: 'verified', added: true, reportedValue: '0' });
  });

  it('re-delivers a changed value with Replace and keeps verified settings quiet', async () => {
    await apply({
      'camera.yaml': 'name: camera\nsettings:\n  - path: Camera/AllowCamera\n    value: 0\n',
      'assignments.yaml': 'assignments:\n  - policy: camera\n    include: [all]\n',
    });
    await enrollInStorage(storage, 'C1');
    const device = new FakeDevice('C1');
    const h = hooks();
    await session(h, device, storage);
    device.received.length = 0;
    await session(h, device, storage);
    expect(device.received).toEqual([]); // verified, not due for re-verification (default 24 h)
    await apply({ 'camera.yaml': 'name: camera\nsettings:\n  - path: Camera/AllowCamera\n    value: 1\n' });
    await session(h, device, storage);
    expect(device.received).toEqual([
      `Replace ${CAMERA}`,
      `Get ./Device/Vendor/MSFT/Policy/Result/Camera/AllowCamera`,
    ]);
    expect(await setting('C1', CAMERA)).toMatchObject({ state: 'verified', desiredValue: '1' });
  });

  it('retries a 5xx failure on later check-ins after a doubling delay, then gives up', async () => {
    await apply({
      'camera.yaml': 'name: camera\nsettings:\n  - path: Camera/AllowCamera\n    value: 0\n',
      'assignments.yaml':
        'assignments:\n  - policy: camera\n    include: [all]\n' +
        'verification:\n  maxFailureRetries: 2\n  failureRetryDelay: 30m\n',
    });
    await enrollInStorage(storage, 'F1');
    const device = new FakeDevice('F1');
    device.failPaths.add(CAMERA);
    const h = hooks();
    const sends = async (minutes: number) => {
      clock += minutes * 60_000;
      device.received.length = 0;
      await session(h, device, storage);
      return device.received.filter((r) => r === `Add ${CAMERA}`).length;
    };
    expect(await sends(0)).toBe(1);
    expect(await setting('F1', CAMERA)).toMatchObject({
      state: 'failed',
      statusCode: 500,
      failRetries: 1,
      nextCheckAt: new Date(T0 + 30 * 60_000).toISOString(),
    });
    expect(await sends(20)).toBe(0); // not due yet
    expect(await sends(11)).toBe(1); // retry 1 at +30 min
    expect((await setting('F1', CAMERA))?.nextCheckAt).toBe(new Date(clock + 60 * 60_000).toISOString());
    expect(await sends(61)).toBe(1); // retry 2 after the doubled delay
    const final = await setting('F1', CAMERA);
    expect(final).toMatchObject({ state: 'failed', failRetries: 2, nextCheckAt: null });
    expect(final?.reason).toBe('apply failed: command failed on the device (gave up after 2 retries)');
    expect(await sends(24 * 60)).toBe(0);
    // The device recovers and the admin changes the value: a fresh delivery and retry budget.
    device.failPaths.clear();
    await apply({ 'camera.yaml': 'name: camera\nsettings:\n  - path: Camera/AllowCamera\n    value: 1\n' });
    expect(await sends(1)).toBe(1);
    expect(await setting('F1', CAMERA)).toMatchObject({
      state: 'verified',
      desiredValue: '1',
      failRetries: 0,
    });
  });

  it('never retries a 4xx failure', async () => {
    await apply({
      'camera.yaml': 'name: camera\nsettings:\n  - path: Camera/AllowCamera\n    value: 0\n',
      'assignments.yaml': 'assignments:\n  - policy: camera\n    include: [all]\n',
    });
    await enrollInStorage(storage, 'F2');
    const device = new FakeDevice('F2');
    const refuse = device.answer.bind(device);
    device.answer = (q) => refuse(q).map((o) => (o.targets[0] === CAMERA ? { ...o, statusCode: 405 } : o));
    const h = hooks();
    await session(h, device, storage);
    expect(await setting('F2', CAMERA)).toMatchObject({
      state: 'failed',
      statusCode: 405,
      nextCheckAt: null,
    });
    clock += 7 * 24 * HOUR;
    device.received.length = 0;
    await session(h, device, storage);
    expect(device.received.filter((r) => r.endsWith(CAMERA))).toEqual([]);
  });

  it('repairs, never fails, a setting whose read-back came after a dropped connection and a drift', async () => {
    await apply({
      'camera.yaml': 'name: camera\nsettings:\n  - path: Camera/AllowCamera\n    value: 0\n',
      'assignments.yaml': 'assignments:\n  - policy: camera\n    include: [all]\n',
    });
    await enrollInStorage(storage, 'K1');
    const device = new FakeDevice('K1');
    const h = hooks();
    device.silentPaths.add(RESULT); // the Add is answered, the connection drops before the read-back
    await session(h, device, storage);
    expect(await setting('K1', CAMERA)).toMatchObject({ state: 'applied' });
    device.silentPaths.clear();
    device.tree.set(CAMERA, '1'); // changed on the device meanwhile
    clock += HOUR;
    device.received.length = 0;
    await session(h, device, storage);
    expect(device.received).toEqual([`Get ${RESULT}`, `Replace ${CAMERA}`, `Get ${RESULT}`]);
    expect(await setting('K1', CAMERA)).toMatchObject({
      state: 'verified',
      driftRetries: 1,
      reportedValue: '0',
      reason: null,
    });
  });

  it('reports a node that takes the write but cannot be read back as applied, and reads it no more', async () => {
    await apply({
      'camera.yaml': 'name: camera\nsettings:\n  - path: Camera/AllowCamera\n    value: 0\n',
      'assignments.yaml':
        'assignments:\n  - policy: camera\n    include: [all]\nverification:\n  interval: 1h\n',
    });
    await enrollInStorage(storage, 'W1');
    const device = new FakeDevice('W1');
    device.writeOnly.add(CAMERA);
    const h = hooks();
    await session(h, device, storage);
    expect(device.received).toEqual([`Add ${CAMERA}`, `Get ${RESULT}`]);
    const record = await setting('W1', CAMERA);
    expect(record).toMatchObject({
      state: 'applied',
      statusCode: 404,
      deliveredValue: '0',
      reason: 'read-back returned 404: the node cannot be verified',
      nextCheckAt: null,
    });
    // Later check-ins, past the re-verification interval: no Get, no retry, nothing changes.
    for (let i = 0; i < 3; i++) {
      clock += 2 * HOUR;
      device.received.length = 0;
      await session(h, device, storage);
      expect(device.received).toEqual([]);
    }
    expect((await setting('W1', CAMERA))?.updatedAt).toBe(record?.updatedAt);
  });

  it('queues again a command whose exchange was lost after the setting was saved', async () => {
    await apply({
      'camera.yaml': 'name: camera\nsettings:\n  - path: Camera/AllowCamera\n    value: 0\n',
      'assignments.yaml': 'assignments:\n  - policy: camera\n    include: [all]\n',
    });
    await enrollInStorage(storage, 'L1');
    const h = hooks(); // with the real stored command queue
    // An exchange whose queued commands were lost (they expired or were cancelled unsent).
    const kept: Queued[] = [];
    const commit = async () => {
      for (const c of kept.splice(0)) await storage.commands.enqueue({ deviceId: 'L1', ...c });
    };
    const policyCommands = () =>
      kept.filter((c) => c.origin === 'policy').map((c) => `${c.command.verb} ${c.tag}`);

    await checkInExchange(h, storage, 'L1');
    expect(await setting('L1', CAMERA)).toMatchObject({ state: 'pending' });
    clock += HOUR;
    kept.push(...(await checkInExchange(h, storage, 'L1')));
    expect(policyCommands()).toEqual([`Add setting:apply:${CAMERA}`]);
    await commit();
    // The Add is queued now: a further check-in sends nothing twice.
    clock += HOUR;
    kept.push(...(await checkInExchange(h, storage, 'L1')));
    expect(policyCommands()).toEqual([]);

    // The device accepts it, but the verify Get queued with that Status is lost.
    const [add] = await storage.commands.listForDevice('L1', { states: ['pending'] });
    const outcome = {
      deviceId: 'L1',
      commandId: add!.id,
      origin: 'policy' as const,
      tag: add!.tag!,
      path: '',
      verb: 'Add' as const,
      targets: [CAMERA],
    };
    await outcomeExchange(h, storage, [{ ...outcome, statusCode: 200, results: [] }]);
    expect(await setting('L1', CAMERA)).toMatchObject({ state: 'applied' });
    clock += HOUR;
    kept.push(...(await checkInExchange(h, storage, 'L1')));
    expect(policyCommands()).toEqual([`Get setting:verify:${CAMERA}`]);
  });

  it('follows the engine queue: sent, then failed when abandoned unacknowledged', async () => {
    await apply({
      'camera.yaml': 'name: camera\nsettings:\n  - path: Camera/AllowCamera\n    value: 0\n',
      'assignments.yaml': 'assignments:\n  - policy: camera\n    include: [all]\n',
    });
    await enrollInStorage(storage, 'X1');
    const abandoned: CommandRecord[] = [];
    const h = hooks();
    const tx = { ...storage, commands: { listForDevice: async () => abandoned } };
    const silent = new FakeDevice('X1');
    // First check-in queues the Add; the device never answers it.
    await checkInExchange(h, tx, 'X1');
    expect(await setting('X1', CAMERA)).toMatchObject({ state: 'pending' });
    const command: CommandRecord = {
      id: 'c1',
      deviceId: 'X1',
      command: { verb: 'Add', items: [{ target: CAMERA, data: '0' }] },
      origin: 'policy',
      tag: `setting:apply:${CAMERA}`,
      attempts: 3,
      priority: 50,
      state: 'failed',
      statusCode: null,
      failureReason: 'no Status after 3 sessions',
      retryOf: null,
      actor: null,
      createdAt: new Date(T0).toISOString(),
      expiresAt: null,
      sentAt: new Date(T0).toISOString(),
      completedAt: null,
    };
    // The engine sent it in a session that broke off: the setting is `sent`.
    clock += HOUR;
    abandoned.push({ ...command, state: 'sent' });
    await checkInExchange(h, tx, 'X1');
    expect(await setting('X1', CAMERA)).toMatchObject({ state: 'sent', sentAt: new Date(T0).toISOString() });
    // It gave up after commandMaxAttempts sessions.
    clock += HOUR;
    abandoned[0] = { ...command, completedAt: new Date(clock).toISOString() };
    clock += 1;
    await checkInExchange(h, tx, silent.deviceId);
    expect(await setting('X1', CAMERA)).toMatchObject({
      state: 'failed',
      statusCode: null,
      reason: 'apply failed: the device never acknowledged it',
    });
  });
});
