// The app store on both backends: hosted packages by hash, per device × app records.
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { DeviceAppRecord } from '../../src/storage/apps.js';
import type { Storage } from '../../src/storage/index.js';
import { describeBackends, type TestDatabase, testDatabase } from '../support/backends.js';

const record = (over: Partial<DeviceAppRecord>): DeviceAppRecord => ({
  deviceId: 'DEV1',
  appKey: 'msi:{AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE}',
  kind: 'msi',
  state: 'pending',
  policy: 'tools',
  name: 'Contoso Tool',
  appId: '{11111111-2222-3333-4444-555555555555}',
  desiredVersion: '1.2.3',
  plan: { version: '1.2.3' },
  installedId: null,
  installedVersion: null,
  cspStatus: null,
  statusCode: null,
  lastError: null,
  lastErrorDesc: null,
  reason: null,
  attempts: 0,
  nextRetryAt: null,
  sentAt: null,
  installedAt: null,
  verifiedAt: null,
  nextCheckAt: null,
  reinstalls: 0,
  updatedAt: '2026-01-01T00:00:00.000Z',
  ...over,
});

describeBackends('app store', (backend) => {
  let db: TestDatabase;
  let storage: Storage;
  beforeEach(async () => {
    db = await testDatabase(backend);
    storage = db.open();
  });
  afterEach(async () => {
    await storage.close();
    db.cleanup();
  });

  it('stores a package once by its hash and returns its bytes', async () => {
    const bytes = Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0, 1, 2, 255]);
    await storage.apps.putContent('aa'.repeat(32), bytes, '2026-01-01T00:00:00.000Z');
    await storage.apps.putContent('aa'.repeat(32), Buffer.from('other'), '2026-01-02T00:00:00.000Z');
    const got = await storage.apps.getContent('aa'.repeat(32));
    expect(got).toEqual({ sha256: 'aa'.repeat(32), size: 8, bytes });
    expect(await storage.apps.hasContent('aa'.repeat(32))).toBe(true);
    expect(await storage.apps.getContent('bb'.repeat(32))).toBeUndefined();
  });

  it('upserts device app records and queries and counts them', async () => {
    await storage.apps.saveDeviceApps([
      record({}),
      record({ deviceId: 'DEV2', state: 'failed', cspStatus: 60, lastError: '-2146889721' }),
      record({
        deviceId: 'DEV2',
        appKey: 'msix:Contoso.App_8wekyb3d8bbwe',
        kind: 'msix',
        state: 'installed',
      }),
    ]);
    await storage.apps.saveDeviceApps([
      record({ state: 'installed', installedVersion: '1.2.3', attempts: 1 }),
    ]);
    const verified = {
      state: 'installed' as const,
      installedVersion: '1.2.3',
      attempts: 1,
      verifiedAt: '2026-01-02T00:00:00.000Z',
      nextCheckAt: '2026-01-03T00:00:00.000Z',
      reinstalls: 2,
    };
    await storage.apps.saveDeviceApps([record(verified)]);
    expect(await storage.apps.listDeviceApps('DEV1')).toEqual([record(verified)]);
    expect((await storage.apps.queryApps({ state: 'failed' })).map((r) => [r.deviceId, r.lastError])).toEqual(
      [['DEV2', '-2146889721']],
    );
    expect(await storage.apps.countAppsByState()).toEqual([
      { kind: 'msi', state: 'failed', count: 1 },
      { kind: 'msi', state: 'installed', count: 1 },
      { kind: 'msix', state: 'installed', count: 1 },
    ]);
  });
});
