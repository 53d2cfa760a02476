// Certificate profile state per device × profile on both backends: upsert, list, query.
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { Storage } from '../../src/storage/index.js';
import type { DeviceCertificateProfileRecord } from '../../src/storage/scep.js';
import { describeBackends, type TestDatabase, testDatabase } from '../support/backends.js';

const record = (over: Partial<DeviceCertificateProfileRecord>): DeviceCertificateProfileRecord => ({
  deviceId: 'DEV1',
  profile: 'wifi',
  policy: 'corp-wifi',
  root: './Device/Vendor/MSFT/ClientCertificateInstall/SCEP/wifi',
  state: 'pending',
  subject: 'CN=DEV1',
  san: ['dns:dev1.example.com'],
  challengeExpiresAt: '2026-01-01T01:00:00.000Z',
  attempts: 1,
  serial: null,
  thumbprint: null,
  notBefore: null,
  notAfter: null,
  installedThumbprint: null,
  cspStatus: null,
  errorCode: null,
  statusCode: null,
  reason: null,
  nextRetryAt: null,
  requestedAt: null,
  issuedAt: null,
  installedAt: null,
  updatedAt: '2026-01-01T00:00:00.000Z',
  ...over,
});

describeBackends('certificate profile store', (backend) => {
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

  it('upserts device profile records and lists and queries them', async () => {
    await storage.scep.saveDeviceProfiles([
      record({}),
      record({ deviceId: 'DEV2', state: 'failed', cspStatus: 16, errorCode: -2147467259, reason: 'x' }),
      record({ profile: 'vpn', root: './Device/Vendor/MSFT/ClientCertificateInstall/SCEP/vpn' }),
    ]);
    const installed = record({
      state: 'installed',
      serial: '0A1B',
      thumbprint: 'AB'.repeat(20),
      installedThumbprint: 'AB'.repeat(20),
      notBefore: '2026-01-01T00:00:00.000Z',
      notAfter: '2027-01-01T00:00:00.000Z',
      cspStatus: 1,
      errorCode: 2147500037,
      installedAt: '2026-01-01T00:10:00.000Z',
      updatedAt: '2026-01-01T00:10:00.000Z',
    });
    await storage.scep.saveDeviceProfiles([installed]);
    expect(await storage.scep.listDeviceProfiles('DEV1')).toEqual([
      record({ profile: 'vpn', root: './Device/Vendor/MSFT/ClientCertificateInstall/SCEP/vpn' }),
      installed,
    ]);
    expect(
      (await storage.scep.queryDeviceProfiles({ state: 'failed' })).map((r) => [r.deviceId, r.errorCode]),
    ).toEqual([['DEV2', -2147467259]]);
    expect((await storage.scep.queryDeviceProfiles({ profile: 'wifi' })).map((r) => r.deviceId)).toEqual([
      'DEV1',
      'DEV2',
    ]);
    expect(await storage.scep.queryDeviceProfiles({ deviceId: 'NONE' })).toEqual([]);
  });
});
