// The storage conformance suite, written once and run against every backend (storage.test.ts):
// every store method, explicit transactions (commit, rollback on throw, nested savepoints, isolation
// of concurrent transactions, the per-device lock) and migrations from an empty database.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NewEnrollment } from '../../src/storage/devices.js';
import type { ExchangeWrites } from '../../src/storage/dm-sessions.js';
import type { Storage } from '../../src/storage/index.js';
import { timeOrderedId } from '../../src/storage/sql/ids.js';

export interface StorageFactory {
  /** A new, empty, migrated database. */
  create(): Promise<{ storage: Storage; cleanup(): Promise<void> }>;
  /** Reads outside a transaction run on another connection (false: SQLite in memory, one connection). */
  readonly isolatedReads?: boolean;
}

export function enrollmentFor(overrides: Partial<NewEnrollment> & { serial: string }): NewEnrollment {
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

const get = { verb: 'Get', items: [{ target: './DevDetail/SwV' }] } as const;
const AT = '2026-03-01T10:00:00.000Z';

function writes(overrides: Partial<ExchangeWrites>): ExchangeWrites {
  return {
    deviceId: 'DEV1',
    at: AT,
    session: { sessionId: '1', state: '{}', status: 'active' },
    closeSessions: [],
    enqueue: [],
    commands: [],
    inventory: [],
    events: [],
    unenroll: false,
    ...overrides,
  };
}

export function describeStorage(name: string, factory: StorageFactory): void {
  describe(`storage conformance: ${name}`, () => {
    let storage: Storage;
    let cleanup: () => Promise<void>;
    beforeEach(async () => {
      ({ storage, cleanup } = await factory.create());
    });
    afterEach(async () => {
      await storage.close();
      await cleanup();
    });

    const enroll = () => storage.devices.recordEnrollment(enrollmentFor({ serial: 'AA01' }));

    describe('migrations', () => {
      it('migrates an empty database to the current schema and is ready', async () => {
        expect(await storage.ready()).toBe(true);
        expect(await storage.users.listUsers()).toEqual([]);
      });
    });

    describe('users', () => {
      it('adds, finds case-insensitively, lists and removes', async () => {
        expect(await storage.users.addUser('Demo@Example.com', 'scrypt$x')).toBe(true);
        expect(await storage.users.addUser('demo@example.com', 'scrypt$y')).toBe(false);
        expect(await storage.users.addUser('ann@example.com', 'scrypt$z')).toBe(true);
        expect((await storage.users.getUser('DEMO@example.COM'))?.passwordHash).toBe('scrypt$x');
        expect((await storage.users.listUsers()).map((u) => u.upn)).toEqual([
          'ann@example.com',
          'Demo@Example.com',
        ]);
        expect(await storage.users.removeUser('demo@example.com')).toBe(true);
        expect(await storage.users.getUser('demo@example.com')).toBeUndefined();
        expect(await storage.users.removeUser('demo@example.com')).toBe(false);
      });
    });

    describe('devices and certificates', () => {
      it('records an enrollment with its device facts, digest credentials and certificate', async () => {
        await enroll();
        expect(await storage.devices.getDevice('DEV1')).toMatchObject({
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
        expect(await storage.certificates.findByThumbprint('taa01')).toMatchObject({
          serial: 'AA01',
          deviceId: 'DEV1',
          status: 'active',
          deviceStatus: 'enrolled',
        });
        const cert = await storage.certificates.findBySerial('aa01');
        expect(Buffer.isBuffer(cert?.der)).toBe(true);
        expect(cert?.der).toEqual(Buffer.from([1, 2, 3]));
      });

      it('re-enrolling the same HWDevID under a new DeviceID ends the old enrollment, revokes its certificate and cancels its work', async () => {
        await enroll();
        const queued = await storage.commands.enqueue({ deviceId: 'DEV1', command: get, origin: 'admin' });
        await storage.dmSessions.commitExchange(writes({}));
        const result = await storage.devices.recordEnrollment(
          enrollmentFor({ serial: 'BB0002', deviceId: 'DEV2', enrollmentId: 'enr-2' }),
        );
        expect(result.replacedDeviceIds).toEqual(['DEV1']);
        expect((await storage.devices.getDevice('DEV1'))?.status).toBe('unenrolled');
        expect((await storage.devices.getDevice('DEV2'))?.status).toBe('enrolled');
        expect((await storage.certificates.findBySerial('AA01'))?.status).toBe('revoked');
        expect(await storage.devices.getDigestCredentials('DEV1')).toBeUndefined();
        expect((await storage.devices.listDevices({ status: 'enrolled' })).map((d) => d.deviceId)).toEqual([
          'DEV2',
        ]);
        expect((await storage.commands.get(queued))?.state).toBe('cancelled');
        expect((await storage.dmSessions.loadExchange('DEV1', '1')).active).toEqual([]);
      });

      it('re-enrolling the same DeviceID keeps one live enrollment and its queue', async () => {
        await enroll();
        const queued = await storage.commands.enqueue({ deviceId: 'DEV1', command: get, origin: 'admin' });
        await storage.devices.recordEnrollment(
          enrollmentFor({ serial: 'AA0002', enrollmentId: 'enr-again' }),
        );
        expect(await storage.devices.getDevice('DEV1')).toMatchObject({
          status: 'enrolled',
          enrollmentId: 'enr-again',
        });
        expect((await storage.devices.listDevices()).length).toBe(1);
        const certs = await storage.certificates.listForDevice('DEV1');
        expect(certs.map((c) => [c.serial, c.status])).toEqual([
          ['AA0002', 'active'],
          ['AA01', 'revoked'],
        ]);
        expect((await storage.commands.get(queued))?.state).toBe('pending');
      });

      it('marks a device unenrolled and revokes its certificates', async () => {
        await enroll();
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

      it('lists devices retired before a cutoff and removes every row of one, unless it enrolled again', async () => {
        await enroll();
        await storage.devices.recordEnrollment(
          enrollmentFor({ serial: 'BB02', deviceId: 'DEV2', hwDevId: 'HW2', enrollmentId: 'enr-2' }),
        );
        const queued = await storage.commands.enqueue({ deviceId: 'DEV1', command: get, origin: 'admin' });
        await storage.dmSessions.commitExchange(
          writes({
            inventory: [{ locUri: './DevDetail/SwV', data: '10.0' }],
            events: [{ alertCode: 1226, type: 'com.microsoft:mdm.unenrollment.userrequest', data: '1' }],
            checkIn: { inventoryQueued: false },
          }),
        );
        await storage.compliance.recordFacts('DEV1', [
          {
            path: './Vendor/MSFT/DeviceStatus/TPM/SpecificationVersion',
            value: '2.0',
            statusCode: 200,
            reportedAt: AT,
          },
        ]);
        const scep = (serial: string, notAfter: string) =>
          storage.scep.recordCertificate({
            serial,
            thumbprint: `T${serial}`,
            deviceId: 'DEV1',
            profile: 'wifi',
            subject: 'CN=DEV1',
            notBefore: AT,
            notAfter,
            issuedAt: AT,
            der: Buffer.from([7]),
          });
        await scep('5C01', '2026-03-15T00:00:00.000Z');
        await scep('5C02', '2026-09-01T00:00:00.000Z');
        expect(await storage.devices.markUnenrolled('DEV1', '2026-04-01T00:00:00.000Z')).toBe(true);

        expect(await storage.devices.listRetired('2026-04-01T00:00:00.000Z', 10)).toEqual([]);
        expect(await storage.devices.listRetired('2026-05-01T00:00:00.000Z', 10)).toEqual([
          { deviceId: 'DEV1', unenrolledAt: '2026-04-01T00:00:00.000Z' },
        ]);
        expect(
          await storage.devices.removeRetired('DEV2', '2026-05-01T00:00:00.000Z', '2026-05-01T00:00:00.000Z'),
        ).toBeUndefined();
        const removed = await storage.transaction((tx) =>
          tx.devices.removeRetired('DEV1', '2026-05-01T00:00:00.000Z', '2026-05-01T00:00:00.000Z'),
        );
        expect(removed).toEqual({
          enrollments: 1,
          certificates: 1,
          commands: 1,
          sessions: 1,
          inventory: 1,
          checkIns: 1,
          events: 1,
          settings: 0,
          complianceFacts: 1,
          compliance: 0,
          apps: 0,
          push: 0,
          certificateProfiles: 0,
          scepChallenges: 0,
          scepCertificates: 1,
          scepCertificatesKept: 1,
        });
        expect(await storage.devices.getDevice('DEV1')).toBeUndefined();
        expect(await storage.certificates.findBySerial('AA01')).toBeUndefined();
        expect(await storage.commands.get(queued)).toBeUndefined();
        expect(await storage.inventory.list('DEV1')).toEqual([]);
        expect(await storage.events.list('DEV1')).toEqual([]);
        expect(await storage.compliance.getFacts('DEV1')).toEqual([]);
        expect((await storage.scep.listCertificates({ deviceId: 'DEV1' })).map((c) => c.serial)).toEqual([
          '5C02',
        ]);
        expect(await storage.devices.listRetired('2026-05-01T00:00:00.000Z', 10)).toEqual([]);
        // The other device is untouched.
        expect(await storage.devices.getDevice('DEV2')).toMatchObject({ status: 'enrolled' });
        // The kept SCEP certificate goes once it expired.
        expect(await storage.devices.removeExpiredScepOfRemoved('2026-08-01T00:00:00.000Z', 10)).toEqual([]);
        expect(await storage.devices.removeExpiredScepOfRemoved('2026-10-01T00:00:00.000Z', 10)).toEqual([
          { deviceId: 'DEV1', scepCertificates: 1 },
        ]);
        expect(await storage.scep.listCertificates({ deviceId: 'DEV1' })).toEqual([]);

        // A device that enrolled again is not retired any more.
        expect(await storage.devices.markUnenrolled('DEV2', '2026-04-01T00:00:00.000Z')).toBe(true);
        expect(
          (await storage.devices.listRetired('2026-05-01T00:00:00.000Z', 10)).map((d) => d.deviceId),
        ).toEqual(['DEV2']);
        await storage.devices.recordEnrollment(
          enrollmentFor({ serial: 'BB03', deviceId: 'DEV2', hwDevId: 'HW2', enrollmentId: 'enr-3' }),
        );
        expect(await storage.devices.listRetired('2026-05-01T00:00:00.000Z', 10)).toEqual([]);
        expect(
          await storage.devices.removeRetired('DEV2', '2026-05-01T00:00:00.000Z', '2026-05-01T00:00:00.000Z'),
        ).toBeUndefined();
      });

      it('records a renewal: new certificate active, previous superseded; refuses unknown serials', async () => {
        await enroll();
        const renewed = {
          serial: 'CC01',
          thumbprint: 'TCC01',
          notBefore: '2026-06-01T00:00:00.000Z',
          notAfter: '2027-06-01T00:00:00.000Z',
          der: Buffer.from([9]),
        };
        const renewal = { deviceId: 'DEV1', certificate: renewed, issuedAt: '2026-06-01T00:00:00.000Z' };
        expect(await storage.certificates.recordRenewal({ ...renewal, previousSerial: 'FFFF' })).toBe(false);
        expect(await storage.certificates.recordRenewal({ ...renewal, previousSerial: 'AA01' })).toBe(true);
        expect((await storage.certificates.findBySerial('AA01'))?.status).toBe('superseded');
        expect(await storage.certificates.findBySerial('CC01')).toMatchObject({
          status: 'active',
          enrollmentId: 'enr-AA01',
        });
      });
    });

    describe('command queue', () => {
      it('enqueues with origin, tag, priority and expiry, and loads the queue in sending order', async () => {
        await enroll();
        const low = await storage.commands.enqueue({
          deviceId: 'DEV1',
          command: get,
          origin: 'admin',
          actor: 'alice',
        });
        const high = await storage.commands.enqueue({
          deviceId: 'DEV1',
          command: get,
          origin: 'policy',
          tag: 's1',
          priority: 5,
        });
        const low2 = await storage.commands.enqueue({
          deviceId: 'DEV1',
          command: get,
          origin: 'admin',
          expiresAt: '2026-01-01T00:00:00.000Z',
        });
        expect(await storage.commands.get(high)).toMatchObject({
          origin: 'policy',
          tag: 's1',
          priority: 5,
          state: 'pending',
          attempts: 0,
        });
        expect(await storage.commands.get(low)).toMatchObject({
          actor: 'alice',
          command: get,
          expiresAt: null,
        });
        const snap = await storage.dmSessions.loadExchange('DEV1', '1');
        expect(snap.pending.map((q) => q.id)).toEqual([high, low, low2]);
        expect(snap.pending[2]?.expiresAt).toBe('2026-01-01T00:00:00.000Z');
        expect((await storage.commands.listForDevice('DEV1')).map((c) => c.id)).toEqual([low2, high, low]);
        expect((await storage.commands.listForDevice('DEV1', { states: ['pending'], limit: 2 })).length).toBe(
          2,
        );
        expect(await storage.commands.cancelPending('DEV1')).toBe(3);
        expect(await storage.commands.listForDevice('DEV1', { states: ['pending'] })).toEqual([]);
      });

      it('refuses a command for an unknown device', async () => {
        await expect(
          storage.commands.enqueue({ deviceId: 'NOPE', command: get, origin: 'admin' }),
        ).rejects.toThrow(/foreign key/i);
      });
    });

    describe('OMA-DM exchange', () => {
      beforeEach(enroll);

      it('writes the session, the commands it decided on, inventory, events and the check-in', async () => {
        const a = await storage.commands.enqueue({ deviceId: 'DEV1', command: get, origin: 'admin' });
        const follow = timeOrderedId();
        const node = {
          msgId: 1,
          cmdId: 5,
          commandId: a,
          path: '',
          verb: 'Get' as const,
          targets: ['./DevDetail/SwV'],
          sessionId: '1',
          originalError: null,
          results: [],
          sentAt: AT,
          answeredAt: null,
        };
        const rowId = await storage.dmSessions.commitExchange(
          writes({
            enqueue: [
              { id: follow, deviceId: 'DEV1', command: get, origin: 'policy', tag: 't', priority: 3 },
            ],
            commands: [
              {
                commandId: a,
                state: 'sent',
                statusCode: null,
                failureReason: null,
                attempts: 1,
                carrier: 'session',
                nodes: [node],
                sentAt: AT,
                completedAt: null,
              },
            ],
            inventory: [{ locUri: './DevInfo/Man', data: 'Contoso' }],
            events: [{ alertCode: 1224, type: 'com.microsoft/MDM/LoginStatus', data: 'user' }],
            checkIn: { loginStatus: 'user', inventoryQueued: true },
          }),
        );
        expect(rowId).toBeTypeOf('number');
        const snap = await storage.dmSessions.loadExchange('DEV1', '1');
        expect(snap.session).toMatchObject({
          rowId,
          sessionId: '1',
          state: '{}',
          status: 'active',
          updatedAt: AT,
        });
        expect(snap.active.map((s) => s.rowId)).toEqual([rowId]);
        expect(snap.inFlight).toHaveLength(1);
        expect(snap.inFlight[0]).toMatchObject({ id: a, attempts: 1, carrier: { rowId, status: 'active' } });
        expect(snap.inFlight[0]?.nodes).toEqual([{ ...node }]);
        expect(snap.pending.map((q) => [q.id, q.tag, q.priority])).toEqual([[follow, 't', 3]]);
        expect(snap.lastInventoryAt).toBe(AT);
        expect(await storage.inventory.get('DEV1', './DevInfo/Man')).toMatchObject({
          value: 'Contoso',
          reportedAt: AT,
        });
        expect(await storage.events.list('DEV1')).toEqual([
          expect.objectContaining({ alertCode: 1224, type: 'com.microsoft/MDM/LoginStatus', data: 'user' }),
        ]);
        expect(await storage.checkIns.get('DEV1')).toEqual({
          deviceId: 'DEV1',
          lastCheckInAt: AT,
          lastInventoryAt: AT,
          loginStatus: 'user',
          sessions: 1,
        });

        // Second exchange: the device answered; the session closes.
        const answered = {
          ...node,
          status: 200,
          results: [{ locUri: './DevDetail/SwV', data: '10' }],
          answeredAt: AT,
        };
        await storage.dmSessions.commitExchange(
          writes({
            session: { rowId, sessionId: '1', state: '{"n":2}', status: 'closed', endReason: 'completed' },
            commands: [
              {
                commandId: a,
                state: 'done',
                statusCode: 200,
                failureReason: null,
                attempts: 1,
                carrier: null,
                nodes: [answered],
                sentAt: AT,
                completedAt: AT,
              },
            ],
            inventory: [
              { locUri: './DevDetail/SwV', data: '9' },
              { locUri: './DevDetail/SwV', format: 'chr', data: '10' },
            ],
          }),
        );
        expect(await storage.commands.get(a)).toMatchObject({
          state: 'done',
          statusCode: 200,
          completedAt: AT,
        });
        expect(await storage.commands.listNodes(a)).toEqual([answered]);
        expect(await storage.inventory.list('DEV1')).toEqual([
          { locUri: './DevDetail/SwV', value: '10', format: 'chr', type: null, reportedAt: AT },
          { locUri: './DevInfo/Man', value: 'Contoso', format: null, type: null, reportedAt: AT },
        ]);
        const after = await storage.dmSessions.loadExchange('DEV1', '1');
        expect(after.active).toEqual([]);
        expect(after.session).toMatchObject({ status: 'closed', state: '{"n":2}' });
        expect(after.inFlight).toEqual([]);
      });

      it('closes superseded sessions and keeps check-in counts', async () => {
        const first = await storage.dmSessions.commitExchange(
          writes({ checkIn: { inventoryQueued: false } }),
        );
        await storage.dmSessions.commitExchange(
          writes({
            session: { sessionId: '2', state: '{}', status: 'active' },
            closeSessions: [{ rowId: first!, reason: 'superseded' }],
            checkIn: { inventoryQueued: false },
          }),
        );
        const snap = await storage.dmSessions.loadExchange('DEV1', '1');
        expect(snap.session).toMatchObject({ rowId: first, status: 'closed' });
        expect(snap.active.map((s) => s.sessionId)).toEqual(['2']);
        expect(await storage.checkIns.get('DEV1')).toMatchObject({
          sessions: 2,
          loginStatus: null,
          lastInventoryAt: null,
        });
        expect((await storage.checkIns.list()).map((c) => c.deviceId)).toEqual(['DEV1']);
      });

      it('writes nothing when any part of the exchange fails', async () => {
        const a = await storage.commands.enqueue({ deviceId: 'DEV1', command: get, origin: 'admin' });
        const nonceBefore = (await storage.devices.getDigestCredentials('DEV1'))!.appSrv.nonce;
        const bad = writes({
          commands: [
            {
              commandId: a,
              state: 'sent',
              statusCode: null,
              failureReason: null,
              attempts: 1,
              carrier: 'session',
              nodes: [],
              sentAt: AT,
              completedAt: null,
            },
          ],
          events: [{ alertCode: 1226, type: 'x' }],
          enqueue: [{ id: timeOrderedId(), deviceId: 'OTHER-DEVICE', command: get, origin: 'policy' }],
          nonce: { next: Buffer.from('next-nonce').toString('base64') },
          unenroll: true,
        });
        await expect(storage.dmSessions.commitExchange(bad)).rejects.toThrow();
        expect(await storage.commands.get(a)).toMatchObject({ state: 'pending', attempts: 0 });
        expect(await storage.events.list('DEV1')).toEqual([]);
        expect((await storage.dmSessions.loadExchange('DEV1', '1')).active).toEqual([]);
        expect((await storage.devices.getDigestCredentials('DEV1'))!.appSrv.nonce).toBe(nonceBefore);
        expect((await storage.devices.getDevice('DEV1'))?.status).toBe('enrolled');
      });

      it('stores the next DIGEST nonce only while the verified one is still current', async () => {
        const first = (await storage.devices.getDigestCredentials('DEV1'))!.appSrv.nonce;
        const next = Buffer.from('next-nonce').toString('base64');
        const spent = writes({ nonce: { next, spent: first }, events: [{ alertCode: 1224, type: 't' }] });
        await storage.dmSessions.commitExchange(spent);
        expect((await storage.devices.getDigestCredentials('DEV1'))!.appSrv.nonce).toBe(next);
        await expect(
          storage.dmSessions.commitExchange({
            ...spent,
            session: { sessionId: '2', state: '{}', status: 'active' },
            nonce: { next: 'b3RoZXI=', spent: first },
          }),
        ).rejects.toThrow(/no longer/);
        expect((await storage.devices.getDigestCredentials('DEV1'))!.appSrv.nonce).toBe(next);
        expect(await storage.events.list('DEV1')).toHaveLength(1);
      });

      it('ends the enrollment, revokes the certificate and cancels open work when told the device unenrolled', async () => {
        const a = await storage.commands.enqueue({ deviceId: 'DEV1', command: get, origin: 'admin' });
        await storage.dmSessions.commitExchange(
          writes({
            session: { sessionId: '1', state: '{}', status: 'closed', endReason: 'unenrolled' },
            unenroll: true,
            events: [
              {
                alertCode: 1226,
                type: 'com.microsoft:mdm.unenrollment.userrequest',
                format: 'int',
                data: '1',
              },
            ],
          }),
        );
        expect(await storage.commands.get(a)).toMatchObject({ state: 'cancelled' });
        expect(await storage.devices.getDevice('DEV1')).toMatchObject({
          status: 'unenrolled',
          unenrolledAt: AT,
        });
        expect((await storage.certificates.findBySerial('AA01'))?.status).toBe('revoked');
        expect(await storage.devices.getDigestCredentials('DEV1')).toBeUndefined();
      });

      it('prunes closed sessions that ended before the cut-off, in batches, keeping active ones', async () => {
        const closed = (sessionId: string, at: string) =>
          storage.dmSessions.commitExchange(
            writes({ at, session: { sessionId, state: '{}', status: 'closed', endReason: 'completed' } }),
          );
        await closed('1', '2026-01-10T00:00:00.000Z');
        await closed('2', '2026-01-11T00:00:00.000Z');
        await closed('3', '2026-02-25T00:00:00.000Z');
        await storage.dmSessions.commitExchange(
          writes({
            at: '2026-01-10T00:00:00.000Z',
            session: { sessionId: '4', state: '{}', status: 'active' },
          }),
        );
        const cutoff = '2026-02-01T00:00:00.000Z';
        expect(await storage.dmSessions.pruneFinished(cutoff, 1)).toEqual({ sessions: 1 });
        expect(await storage.dmSessions.pruneFinished(cutoff, 10)).toEqual({ sessions: 1 });
        expect(await storage.dmSessions.pruneFinished(cutoff, 10)).toEqual({ sessions: 0 });
        expect((await storage.dmSessions.loadExchange('DEV1', '1')).session).toBeUndefined();
        expect((await storage.dmSessions.loadExchange('DEV1', '3')).session?.status).toBe('closed');
        expect((await storage.dmSessions.loadExchange('DEV1', '4')).active.map((s) => s.sessionId)).toEqual([
          '4',
        ]);
      });
    });

    describe('policies and settings', () => {
      const set = (hash: string, policies: { name: string; hash: string }[]) => ({
        policies: policies.map((p) => ({ ...p, file: `${p.name}.yaml`, body: { name: p.name } })),
        config: { assignments: [] },
        hash,
        summary: { groups: 1 },
      });

      it('stores folder revisions with policy versions; an unchanged folder stores nothing', async () => {
        expect(await storage.policies.currentRevision()).toBe(0);
        const r1 = await storage.policies.applyPolicySet(
          set('h1', [
            { name: 'a', hash: 'a1' },
            { name: 'b', hash: 'b1' },
          ]),
          AT,
        );
        expect(r1).toEqual({
          revision: 1,
          created: true,
          changes: [
            { name: 'a', change: 'added', version: 1 },
            { name: 'b', change: 'added', version: 1 },
          ],
        });
        expect(await storage.policies.applyPolicySet(set('h1', []), AT)).toEqual({
          revision: 1,
          created: false,
          changes: [],
        });
        const r2 = await storage.policies.applyPolicySet(set('h2', [{ name: 'a', hash: 'a2' }]), AT);
        expect(r2.changes).toEqual([
          { name: 'a', change: 'changed', version: 2 },
          { name: 'b', change: 'removed', version: 1 },
        ]);
        const current = await storage.policies.currentPolicySet();
        expect(current).toMatchObject({
          revision: 2,
          hash: 'h2',
          config: { assignments: [] },
          appliedAt: AT,
        });
        expect(current.policies.map((p) => [p.name, p.version, p.body])).toEqual([['a', 2, { name: 'a' }]]);
        expect((await storage.policies.policyVersions('a')).map((v) => v.hash)).toEqual(['a1', 'a2']);
        const r3 = await storage.policies.applyPolicySet(
          set('h3', [
            { name: 'a', hash: 'a2' },
            { name: 'b', hash: 'b1' },
          ]),
          AT,
        );
        expect(r3.changes).toEqual([{ name: 'b', change: 'added', version: 1 }]);
        expect(await storage.policies.currentRevision()).toBe(3);
      });

      it('keeps the folder files with a revision, apart from the revision list', async () => {
        const files = { 'a.yaml': 'name: a\n', 'sub/b.yaml': 'name: b # é\n' };
        const { revision } = await storage.policies.applyPolicySet({ ...set('f1', []), files }, AT);
        expect(await storage.policies.revisionFiles(revision)).toEqual(files);
        const without = await storage.policies.applyPolicySet(set('f2', []), AT);
        expect(await storage.policies.revisionFiles(without.revision)).toBeUndefined();
        expect(await storage.policies.revisionFiles(999)).toBeUndefined();
        expect(await storage.policies.getRevision(revision)).not.toHaveProperty('files');
      });

      it('keeps the side files with a revision: text as text, bytes as base64', async () => {
        const sideFiles = {
          'edge/msedge.admx': { text: '<policyDefinitions>é</policyDefinitions>' },
          'certs/root.cer': { base64: Buffer.from([0x30, 0x82, 0x00, 0xff]).toString('base64') },
        };
        const { revision } = await storage.policies.applyPolicySet(
          { ...set('s1', []), files: { 'a.yaml': 'name: a\n' }, sideFiles },
          AT,
        );
        expect(await storage.policies.revisionSideFiles(revision)).toEqual(sideFiles);
        const without = await storage.policies.applyPolicySet(set('s2', []), AT);
        expect(await storage.policies.revisionSideFiles(without.revision)).toEqual({});
        expect(await storage.policies.revisionSideFiles(999)).toEqual({});
      });

      it('saves, reads, filters and counts device settings', async () => {
        const record = (deviceId: string, path: string, state: 'pending' | 'verified', policy = 'p') => ({
          deviceId,
          path,
          state,
          policy,
          desiredValue: '1',
          format: 'int' as const,
          plan: { path, value: 1 },
          deliveredValue: null,
          reportedValue: null,
          statusCode: null,
          reason: null,
          added: state === 'verified',
          driftRetries: 0,
          failRetries: 2,
          sentAt: null,
          appliedAt: null,
          verifiedAt: null,
          reportedAt: null,
          nextCheckAt: null,
          updatedAt: AT,
        });
        await storage.deviceSettings.saveDeviceSettings([
          record('D1', './a', 'pending'),
          record('D1', './b', 'pending'),
          record('D1', './a', 'verified'),
          record('D2', './a', 'verified', 'q'),
        ]);
        expect(await storage.deviceSettings.getDeviceSetting('D1', './a')).toEqual(
          record('D1', './a', 'verified'),
        );
        expect((await storage.deviceSettings.listDeviceSettings('D1')).map((r) => r.path)).toEqual([
          './a',
          './b',
        ]);
        expect(
          (await storage.deviceSettings.querySettings({ state: 'verified' })).map((r) => r.deviceId),
        ).toEqual(['D1', 'D2']);
        expect((await storage.deviceSettings.querySettings({ policy: 'q' })).length).toBe(1);
        expect(
          (await storage.deviceSettings.querySettings({ deviceId: 'D1', state: 'pending' })).length,
        ).toBe(1);
        const counts = await storage.deviceSettings.countSettingsByState();
        expect(counts.verified).toBe(2);
        expect(counts.pending).toBe(1);
        expect(counts.failed).toBe(0);
        expect(await storage.deviceSettings.deviceIdsWithSettings()).toEqual(['D1', 'D2']);
      });

      it('records facts and compliance', async () => {
        await storage.compliance.recordFacts('D1', [
          { path: './x', value: '1', statusCode: 200, reportedAt: AT },
          { path: './y', value: null, statusCode: 404, reportedAt: AT },
        ]);
        await storage.compliance.recordFacts('D1', [
          { path: './x', value: '2', statusCode: 200, reportedAt: AT },
        ]);
        expect(await storage.compliance.getFacts('D1')).toEqual([
          { path: './x', value: '2', statusCode: 200, reportedAt: AT },
          { path: './y', value: null, statusCode: 404, reportedAt: AT },
        ]);
        const record = {
          deviceId: 'D1',
          state: 'in_grace' as const,
          reasons: ['r'],
          failingSince: AT,
          graceEndsAt: AT,
          actionsDone: ['a'],
          evaluatedAt: AT,
          factsRequestedAt: null,
        };
        await storage.compliance.saveCompliance(record);
        await storage.compliance.saveCompliance({ ...record, state: 'noncompliant' });
        expect(await storage.compliance.getCompliance('D1')).toEqual({ ...record, state: 'noncompliant' });
        expect(await storage.compliance.listCompliance()).toHaveLength(1);
      });
    });

    describe('tokens, audit log, login throttle', () => {
      it('creates, finds, marks and revokes API tokens', async () => {
        await storage.tokens.createToken({ id: 't1', name: 'ci', role: 'admin', hash: 'h1', createdAt: AT });
        expect(await storage.tokens.findTokenByHash('h1')).toMatchObject({
          id: 't1',
          name: 'ci',
          lastUsedAt: null,
        });
        await storage.tokens.markTokenUsed('t1', AT);
        expect((await storage.tokens.listTokens())[0]?.lastUsedAt).toBe(AT);
        expect(await storage.tokens.revokeToken('t1', AT)).toBe(true);
        expect(await storage.tokens.revokeToken('t1', AT)).toBe(false);
        expect(await storage.tokens.findTokenByHash('h1')).toBeUndefined();
      });

      it('records who did what and when, newest first', async () => {
        await storage.audit.record({
          actor: 'alice',
          action: 'devices.lock',
          deviceId: 'DEV1',
          details: { commandId: 'c1' },
        });
        await storage.audit.record({ actor: 'bob', action: 'commands.get', details: {} });
        const all = await storage.audit.list();
        expect(all.map((e) => e.actor)).toEqual(['bob', 'alice']);
        expect(all[0]!.id).toBeTypeOf('number');
        expect(await storage.audit.list({ deviceId: 'DEV1' })).toEqual([
          expect.objectContaining({
            actor: 'alice',
            action: 'devices.lock',
            deviceId: 'DEV1',
            details: { commandId: 'c1' },
          }),
        ]);
        expect(await storage.audit.list({ limit: 1 })).toHaveLength(1);
      });

      it('counts failed sign-ins per name within a window shared by every caller', async () => {
        const t0 = new Date('2026-03-01T10:00:00.000Z');
        const later = (ms: number) => new Date(t0.getTime() + ms);
        const window = 60_000;
        expect(await storage.loginThrottle.recordFailure('ann', t0, window)).toBe(1);
        expect(await storage.loginThrottle.recordFailure('ann', later(10_000), window)).toBe(2);
        expect(await storage.loginThrottle.failures('ann', later(59_000), window)).toBe(2);
        expect(await storage.loginThrottle.failures('ann', later(60_000), window)).toBe(0);
        expect(await storage.loginThrottle.recordFailure('ann', later(61_000), window)).toBe(1);
        await storage.loginThrottle.clear('ann');
        expect(await storage.loginThrottle.failures('ann', later(61_000), window)).toBe(0);
      });
    });

    describe('signInTokens', () => {
      it('spends a token once, even when two callers race, and forgets expired ones', async () => {
        const at = '2026-03-01T10:00:00.000Z';
        const results = await Promise.all([
          storage.signInTokens.consume('jti-1', '2026-03-01T10:10:00.000Z', at),
          storage.signInTokens.consume('jti-1', '2026-03-01T10:10:00.000Z', at),
        ]);
        expect(results.sort()).toEqual([false, true]);
        expect(await storage.signInTokens.isUsed('jti-1')).toBe(true);
        expect(await storage.signInTokens.isUsed('jti-2')).toBe(false);
        expect(
          await storage.signInTokens.consume('jti-2', '2026-03-01T10:20:00.000Z', '2026-03-01T10:11:00.000Z'),
        ).toBe(true);
        expect(await storage.signInTokens.isUsed('jti-1')).toBe(false);
      });
    });

    describe('transactions', () => {
      const actions = async () => (await storage.audit.list({})).map((e) => e.action).sort();

      it('commits every write of the transaction together', async () => {
        const result = await storage.transaction(async (tx) => {
          await tx.audit.record({ actor: 't', action: 'a', details: {} });
          await tx.audit.record({ actor: 't', action: 'b', details: {} });
          return 42;
        });
        expect(result).toBe(42);
        expect(await actions()).toEqual(['a', 'b']);
      });

      it('rolls back every write of a transaction that throws', async () => {
        await expect(
          storage.transaction(async (tx) => {
            await tx.audit.record({ actor: 't', action: 'a', details: {} });
            await tx.users.addUser('ann@contoso.com', 'scrypt$x');
            throw new Error('boom');
          }),
        ).rejects.toThrow('boom');
        expect(await actions()).toEqual([]);
        expect(await storage.users.getUser('ann@contoso.com')).toBeUndefined();
      });

      it('a nested transaction that throws rolls back alone', async () => {
        await storage.transaction(async (tx) => {
          await tx.audit.record({ actor: 't', action: 'outer', details: {} });
          await expect(
            tx.transaction(async (inner) => {
              await inner.audit.record({ actor: 't', action: 'inner', details: {} });
              throw new Error('inner fails');
            }),
          ).rejects.toThrow('inner fails');
          await tx.transaction((inner) => inner.audit.record({ actor: 't', action: 'kept', details: {} }));
        });
        expect(await actions()).toEqual(['kept', 'outer']);
      });

      // One connection (SQLite in memory) cannot keep reads apart from an open transaction.
      if (factory.isolatedReads !== false)
        it('reads outside a transaction never see its uncommitted writes', async () => {
          let release!: () => void;
          const paused = new Promise<void>((r) => {
            release = r;
          });
          let inside!: () => void;
          const written = new Promise<void>((r) => {
            inside = r;
          });
          const tx = storage.transaction(async (t) => {
            await t.audit.record({ actor: 't', action: 'uncommitted', details: {} });
            inside();
            await paused;
            throw new Error('rolled back');
          });
          await written;
          expect(await actions()).toEqual([]);
          release();
          await expect(tx).rejects.toThrow('rolled back');
          expect(await actions()).toEqual([]);
        });

      it('concurrent transactions each commit or roll back alone', async () => {
        const results = await Promise.allSettled(
          Array.from({ length: 8 }, (_, i) =>
            storage.transaction(async (tx) => {
              await tx.audit.record({ actor: 't', action: `t${i}`, details: {} });
              if (i % 3 === 0) throw new Error(`t${i} fails`);
              return i;
            }),
          ),
        );
        expect(results.map((r) => r.status)).toEqual([
          'rejected',
          'fulfilled',
          'fulfilled',
          'rejected',
          'fulfilled',
          'fulfilled',
          'rejected',
          'fulfilled',
        ]);
        expect(await actions()).toEqual(['t1', 't2', 't4', 't5', 't7']);
      });

      it('the device lock serialises two exchanges of one device: no lost update', async () => {
        await enroll();
        // Read-modify-write of the check-in count under the lock, from two transactions at once.
        const bump = () =>
          storage.transaction(async (tx) => {
            await tx.dmSessions.loadExchange('DEV1', 'x');
            const sessions = (await tx.checkIns.get('DEV1'))?.sessions ?? 0;
            await new Promise((r) => setTimeout(r, 20));
            await tx.audit.record({ actor: 't', action: `seen ${sessions}`, details: {} });
            await tx.dmSessions.commitExchange(writes({ checkIn: { inventoryQueued: false } }));
          });
        await Promise.all([bump(), bump()]);
        expect(await actions()).toEqual(['seen 0', 'seen 1']);
        expect((await storage.checkIns.get('DEV1'))?.sessions).toBe(2);
      });

      it('job locks are held by one transaction at a time', async () => {
        if (storage.backend !== 'postgres') {
          // One writer: transactions never overlap, each may take the lock.
          const held = await Promise.all(
            [1, 2].map(() => storage.transaction((tx) => tx.tryJobLock('pruning'))),
          );
          expect(held).toEqual([true, true]);
          return;
        }
        // The first holds the lock until the second has tried it.
        let firstHolds!: () => void;
        let secondTried!: () => void;
        const holding = new Promise<void>((r) => {
          firstHolds = r;
        });
        const tried = new Promise<void>((r) => {
          secondTried = r;
        });
        const first = storage.transaction(async (tx) => {
          const held = await tx.tryJobLock('pruning');
          firstHolds();
          await tried;
          return held;
        });
        await holding;
        const second = await storage.transaction(async (tx) => {
          const held = await tx.tryJobLock('pruning');
          secondTried();
          return held;
        });
        expect([await first, second]).toEqual([true, false]);
        // Released with its transaction.
        expect(await storage.transaction((tx) => tx.tryJobLock('pruning'))).toBe(true);
      });
    });
  });
}
