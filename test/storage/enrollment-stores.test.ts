// Users, devices and certificates stores against a real SQLite database (in memory).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NewEnrollment } from '../../src/storage/devices.js';
import type { Storage } from '../../src/storage/index.js';
import { openSqliteStorage } from '../../src/storage/sqlite/index.js';

let storage: Storage;
beforeEach(() => {
  storage = openSqliteStorage({ file: ':memory:' });
});
afterEach(() => storage.close());

function enrollment(overrides: Partial<NewEnrollment> & { serial: string }): NewEnrollment {
  const { serial, ...rest } = overrides;
  return {
    enrollmentId: `enr-${serial}`,
    deviceId: 'DEV1',
    hwDevId: 'HW1',
    name: 'DESKTOP-1',
    osEdition: '72',
    osVersion: '10.0.19043.2364',
    deviceType: 'CIMClient_Windows',
    locale: 'en-US',
    macs: ['00-0C-29-51-60-9D'],
    enrollmentType: 'Full',
    authPolicy: 'OnPremise',
    userUpn: 'demo@example.com',
    providerId: 'OpenWindowsMDM',
    enrolledAt: `2026-01-01T00:00:0${serial.length}.000Z`,
    digest: {
      appSrv: { name: 'DEV1', secret: 'device-secret', nonce: 'bm9uY2U=' },
      client: { secret: 'server-secret', nonce: 'c2VydmVy' },
    },
    certificate: {
      serial,
      thumbprint: `T${serial}`,
      notBefore: '2026-01-01T00:00:00.000Z',
      notAfter: '2027-01-01T00:00:00.000Z',
      der: Buffer.from([1, 2, 3]),
    },
    ...rest,
  };
}

describe('users', () => {
  it('adds, finds case-insensitively, lists and removes', async () => {
    expect(await storage.users.addUser('Demo@Example.com', 'scrypt$x')).toBe(true);
    expect(await storage.users.addUser('demo@example.com', 'scrypt$y')).toBe(false);
    expect((await storage.users.getUser('DEMO@example.COM'))?.passwordHash).toBe('scrypt$x');
    expect((await storage.users.listUsers()).map((u) => u.upn)).toEqual(['Demo@Example.com']);
    expect(await storage.users.removeUser('demo@example.com')).toBe(true);
    expect(await storage.users.getUser('demo@example.com')).toBeUndefined();
    expect(await storage.users.removeUser('demo@example.com')).toBe(false);
  });
});

describe('devices and certificates', () => {
  it('records an enrollment with its device facts, digest credentials and certificate', async () => {
    await storage.devices.recordEnrollment(enrollment({ serial: 'AA01' }));
    const device = await storage.devices.getDevice('DEV1');
    expect(device).toMatchObject({
      deviceId: 'DEV1',
      hwDevId: 'HW1',
      name: 'DESKTOP-1',
      osEdition: '72',
      status: 'enrolled',
      enrollmentType: 'Full',
      userUpn: 'demo@example.com',
      macs: ['00-0C-29-51-60-9D'],
      enrollmentId: 'enr-AA01',
      unenrolledAt: null,
    });
    expect(await storage.devices.getDigestCredentials('DEV1')).toEqual({
      appSrv: { name: 'DEV1', secret: 'device-secret', nonce: 'bm9uY2U=' },
      client: { secret: 'server-secret', nonce: 'c2VydmVy' },
    });
    await storage.devices.setNextServerNonce('DEV1', 'bmV4dA==');
    expect((await storage.devices.getDigestCredentials('DEV1'))?.appSrv.nonce).toBe('bmV4dA==');
    const cert = await storage.certificates.findByThumbprint('taa01');
    expect(cert).toMatchObject({
      serial: 'AA01',
      deviceId: 'DEV1',
      status: 'active',
      deviceStatus: 'enrolled',
    });
    expect((await storage.certificates.findBySerial('aa01'))?.der).toEqual(Buffer.from([1, 2, 3]));
  });

  it('re-enrolling the same HWDevID under a new DeviceID ends the old enrollment and revokes its certificate', async () => {
    await storage.devices.recordEnrollment(enrollment({ serial: 'AA01' }));
    const result = await storage.devices.recordEnrollment(
      enrollment({ serial: 'BB0002', deviceId: 'DEV2', enrollmentId: 'enr-2' }),
    );
    expect(result.replacedDeviceIds).toEqual(['DEV1']);
    expect((await storage.devices.getDevice('DEV1'))?.status).toBe('unenrolled');
    expect((await storage.devices.getDevice('DEV2'))?.status).toBe('enrolled');
    expect((await storage.certificates.findBySerial('AA01'))?.status).toBe('revoked');
    expect(await storage.devices.getDigestCredentials('DEV1')).toBeUndefined();
    expect((await storage.devices.listDevices({ status: 'enrolled' })).map((d) => d.deviceId)).toEqual([
      'DEV2',
    ]);
  });

  it('re-enrolling the same DeviceID keeps one live enrollment', async () => {
    await storage.devices.recordEnrollment(enrollment({ serial: 'AA01' }));
    await storage.devices.recordEnrollment(enrollment({ serial: 'AA0002', enrollmentId: 'enr-again' }));
    const device = await storage.devices.getDevice('DEV1');
    expect(device).toMatchObject({ status: 'enrolled', enrollmentId: 'enr-again' });
    expect((await storage.devices.listDevices()).length).toBe(1);
    const certs = await storage.certificates.listForDevice('DEV1');
    expect(certs.map((c) => [c.serial, c.status])).toEqual([
      ['AA0002', 'active'],
      ['AA01', 'revoked'],
    ]);
  });

  it('marks a device unenrolled and revokes its certificates', async () => {
    await storage.devices.recordEnrollment(enrollment({ serial: 'AA01' }));
    expect(await storage.devices.markUnenrolled('DEV1', '2026-02-01T00:00:00.000Z')).toBe(true);
    expect(await storage.devices.markUnenrolled('DEV1')).toBe(false);
    expect(await storage.devices.getDevice('DEV1')).toMatchObject({
      status: 'unenrolled',
      unenrolledAt: '2026-02-01T00:00:00.000Z',
    });
    expect(await storage.certificates.findBySerial('AA01')).toMatchObject({
      status: 'revoked',
      deviceStatus: 'unenrolled',
    });
  });

  it('records a renewal: new certificate active, previous superseded; refuses unknown serials', async () => {
    await storage.devices.recordEnrollment(enrollment({ serial: 'AA01' }));
    const renewed = {
      serial: 'CC01',
      thumbprint: 'TCC01',
      notBefore: '2026-06-01T00:00:00.000Z',
      notAfter: '2027-06-01T00:00:00.000Z',
      der: Buffer.from([9]),
    };
    expect(
      await storage.certificates.recordRenewal({
        deviceId: 'DEV1',
        previousSerial: 'FFFF',
        certificate: renewed,
        issuedAt: '2026-06-01T00:00:00.000Z',
      }),
    ).toBe(false);
    expect(
      await storage.certificates.recordRenewal({
        deviceId: 'DEV1',
        previousSerial: 'AA01',
        certificate: renewed,
        issuedAt: '2026-06-01T00:00:00.000Z',
      }),
    ).toBe(true);
    expect((await storage.certificates.findBySerial('AA01'))?.status).toBe('superseded');
    expect(await storage.certificates.findBySerial('CC01')).toMatchObject({
      status: 'active',
      enrollmentId: 'enr-AA01',
    });
  });
});
