// Data disposition of retired devices, on both backends: a device retired (or unenrolled) longer
// than `retiredDeviceRetentionDays` ago loses every row stored about it, each removal audited with
// what went; enrolled devices and recently retired ones keep theirs; SCEP certificates still valid
// are kept until they expire.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { defaultCatalog } from '../../src/catalog/catalog.js';
import { loadConfig } from '../../src/config.js';
import { startSessionPruning } from '../../src/dm/retention.js';
import { silentLogger } from '../../src/logger.js';
import { retireDevice } from '../../src/services/devices.js';
import { VirtualDevice } from '../../src/simulator/device.js';
import { makeProfile } from '../../src/simulator/profile.js';
import type { Storage } from '../../src/storage/index.js';
import { describeBackends } from '../support/backends.js';
import { startTestServer, type TestServer } from '../support/server.js';

const DAY = 86_400_000;
const retention = { deviceEvents: 90, commands: 90, audit: 365, retiredDevices: 30 };

function pruning(storage: Storage, daysOn: number) {
  return startSessionPruning({
    storage,
    retentionDays: 30,
    retention,
    logger: silentLogger(),
    now: () => new Date(Date.now() + daysOn * DAY),
  });
}

async function deviceRows(storage: Storage, deviceId: string) {
  return {
    device: await storage.devices.getDevice(deviceId),
    certificates: (await storage.certificates.listForDevice(deviceId)).length,
    commands: (await storage.commands.listForDevice(deviceId)).length,
    inventory: (await storage.inventory.list(deviceId)).length,
    checkIn: await storage.checkIns.get(deviceId),
    facts: (await storage.compliance.getFacts(deviceId)).length,
    scep: (await storage.scep.listCertificates({ deviceId })).length,
  };
}

describeBackends('retired-device data disposition', (backend) => {
  let server: TestServer;
  const devices: VirtualDevice[] = [];
  const enroll = async (name: string) => {
    const d = new VirtualDevice({
      profile: makeProfile(name),
      catalog: defaultCatalog(),
      tls: { ca: server.tlsCertPem },
    });
    devices.push(d);
    await d.enroll(server.url, 'retire@contoso.com', 'Retire-pass-1');
    expect((await d.checkIn()).ok).toBe(true);
    return d;
  };
  beforeAll(async () => {
    server = await startTestServer({}, { backend });
    await server.addUser('retire@contoso.com', 'Retire-pass-1');
  });
  afterAll(async () => {
    for (const d of devices) d.close();
    await server?.close();
  });

  it('has a documented default', () => {
    expect(loadConfig({ env: {} }).retiredDeviceRetentionDays).toBe(30);
    expect(loadConfig({ env: { MDM_RETIRED_DEVICE_RETENTION_DAYS: '7' } }).retiredDeviceRetentionDays).toBe(
      7,
    );
  });

  it('removes a retired device’s data after its retention, audited, and keeps the others', async () => {
    const storage = server.storage;
    const kept = await enroll('disp-kept');
    const retired = await enroll('disp-retired');
    const left = await enroll('disp-left');
    const retiredId = retired.profile.deviceId;
    // Data of every kind: a queued command, compliance facts, a still valid and an expired SCEP
    // certificate record.
    await storage.commands.enqueue({
      deviceId: retiredId,
      command: { verb: 'Get', items: [{ target: './DevDetail/FwV' }] },
      origin: 'admin',
    });
    await storage.compliance.recordFacts(retiredId, [
      {
        path: './Vendor/MSFT/DeviceStatus/Compliance/EncryptionCompliance',
        value: '1',
        statusCode: 200,
        reportedAt: new Date().toISOString(),
      },
    ]);
    const scep = (serial: string, notAfter: Date) =>
      storage.scep.recordCertificate({
        serial,
        thumbprint: `${serial}00`,
        deviceId: retiredId,
        profile: 'wifi',
        subject: 'CN=disp-retired',
        notBefore: new Date(Date.now() - DAY).toISOString(),
        notAfter: notAfter.toISOString(),
        issuedAt: new Date(Date.now() - DAY).toISOString(),
        der: Buffer.from([0x30, 0x00]),
      });
    await scep('0A01', new Date(Date.now() - 1000));
    await scep('0A02', new Date(Date.now() + 60 * DAY));
    const before = await deviceRows(storage, retiredId);
    expect(before).toMatchObject({
      device: { status: 'enrolled' },
      certificates: 1,
      commands: 1,
      facts: 1,
      scep: 2,
    });
    expect(before.inventory).toBeGreaterThan(0);
    expect(before.checkIn).toBeDefined();

    expect(await retireDevice(storage, { deviceId: retiredId, actor: 'tester' })).toMatchObject({
      wasEnrolled: true,
    });
    // The other one removes the account itself (Alert 1226).
    left.requestUnenroll();
    await left.checkIn();
    expect(await storage.devices.getDevice(left.profile.deviceId)).toMatchObject({ status: 'unenrolled' });

    // Within the retention nothing goes.
    const soon = pruning(storage, 29);
    expect((await soon.runOnce()).retiredDevices).toBe(0);
    soon.stop();
    expect(await storage.devices.getDevice(retiredId)).toBeDefined();

    // Past it: both devices go with their rows; the still valid SCEP certificate stays.
    const later = pruning(storage, 31);
    expect((await later.runOnce()).retiredDevices).toBe(2);
    later.stop();
    expect(await deviceRows(storage, retiredId)).toEqual({
      device: undefined,
      certificates: 0,
      commands: 0,
      inventory: 0,
      checkIn: undefined,
      facts: 0,
      scep: 1,
    });
    expect(await storage.devices.getDevice(left.profile.deviceId)).toBeUndefined();
    expect(await storage.devices.getDigestCredentials(retiredId)).toBeUndefined();
    expect(await storage.events.list(left.profile.deviceId)).toEqual([]);
    const audit = await storage.audit.list({ limit: 100 });
    const disposed = audit.filter((e) => e.action === 'retention.dispose');
    expect(disposed.map((e) => e.deviceId).sort()).toEqual([left.profile.deviceId, retiredId].sort());
    const entry = disposed.find((e) => e.deviceId === retiredId);
    expect(entry).toMatchObject({
      actor: 'server',
      details: {
        retentionDays: 30,
        removed: {
          enrollments: 1,
          certificates: 1,
          commands: 1,
          complianceFacts: 1,
          scepCertificates: 1,
          scepCertificatesKept: 1,
        },
      },
    });
    expect((entry?.details as { removed?: { inventory?: number } } | undefined)?.removed?.inventory).toBe(
      before.inventory,
    );
    // The enrolled device keeps everything and still checks in.
    expect(await deviceRows(storage, kept.profile.deviceId)).toMatchObject({
      device: { status: 'enrolled' },
      certificates: 1,
    });
    expect((await kept.checkIn()).ok).toBe(true);
    // The retired device can no longer authenticate.
    expect((await retired.checkIn()).ok).toBe(false);

    // Once the kept SCEP certificate expired, it goes too, audited.
    const much = pruning(storage, 61);
    expect((await much.runOnce()).retiredDevices).toBe(1);
    much.stop();
    expect(await storage.scep.listCertificates({ deviceId: retiredId })).toEqual([]);
    const [last] = (await storage.audit.list({ limit: 100 })).filter((e) => e.action === 'retention.dispose');
    expect(last).toMatchObject({ deviceId: retiredId, details: { removed: { scepCertificates: 1 } } });
  });

  it('keeps a device that enrolled again', async () => {
    const storage = server.storage;
    const d = await enroll('disp-again');
    const id = d.profile.deviceId;
    expect(await storage.devices.markUnenrolled(id, new Date(Date.now() - 40 * DAY).toISOString())).toBe(
      true,
    );
    expect(
      (await storage.devices.listRetired(new Date(Date.now() - 30 * DAY).toISOString(), 10)).map(
        (r) => r.deviceId,
      ),
    ).toContain(id);
    await d.enroll(server.url, 'retire@contoso.com', 'Retire-pass-1');
    expect(await storage.devices.listRetired(new Date(Date.now() - 30 * DAY).toISOString(), 10)).toEqual([]);
    expect(
      await storage.devices.removeRetired(
        id,
        new Date(Date.now() - 30 * DAY).toISOString(),
        new Date().toISOString(),
      ),
    ).toBeUndefined();
    const run = pruning(storage, 0);
    expect((await run.runOnce()).retiredDevices).toBe(0);
    run.stop();
    expect(await storage.devices.getDevice(id)).toMatchObject({ status: 'enrolled' });
  });
});
