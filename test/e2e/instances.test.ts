// Two server processes on one PostgreSQL database serve the same devices, with no affinity: every
// HTTP request of a device goes to the next instance in turn (a round-robin balancer), or a device
// talks to both at once. The session continues wherever its next message lands (its state is in
// the database); every Status and Result is recorded once; a command is carried by one session
// only; DIGEST nonces, RespURI tokens, the password throttle, single-use sign-in tokens and the
// policy revision in force hold across the instances (MS-MDM 2.2, OMA-DM 1.2 SyncML Rep Pro §8).
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultCatalog } from '../../src/catalog/catalog.js';
import { main } from '../../src/cli/index.js';
import { startSessionPruning } from '../../src/dm/retention.js';
import { addUser } from '../../src/enrollment/users.js';
import { silentLogger } from '../../src/logger.js';
import { VirtualDevice } from '../../src/simulator/device.js';
import { makeProfile } from '../../src/simulator/profile.js';
import type { Storage } from '../../src/storage/index.js';
import { openStorage } from '../../src/storage/open.js';
import { postgresAvailable, postgresTestUrl } from '../support/backends.js';
import { captureCli } from '../support/cli.js';
import { discover, enrollDevice, federatedSignIn } from '../support/enroll-client.js';
import { type Instance, roundRobinTransport, startInstance } from '../support/instances.js';
import { INSTALL_HINT } from '../support/postgres.js';

const USER = 'fleet@contoso.com';
const PASSWORD = 'Fleet-pass-1';
const CAMERA = './Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera';
const RADIO_NAME = './Device/Vendor/MSFT/Policy/Config/Bluetooth/LocalDeviceName';
/** A Replace big enough that a 3 KiB MaxMsgSize fits two per message. */
const bigReplace = (n: number) => ({
  verb: 'Replace' as const,
  items: [{ target: RADIO_NAME, format: 'chr' as const, data: `${n}-`.padEnd(1000, 'x') }],
});
const GETS = [
  './DevDetail/OEM',
  './DevDetail/SwV',
  './DevDetail/HwV',
  './DevDetail/FwV',
  './DevDetail/DevTyp',
  './DevInfo/Man',
  './DevInfo/Mod',
  './DevInfo/Lang',
  './DevInfo/DmV',
  './DevInfo/DevId',
];

describe.skipIf(!postgresAvailable())(
  `several instances on one PostgreSQL database${postgresAvailable() ? '' : ` (${INSTALL_HINT})`}`,
  () => {
    let root: string;
    let databaseUrl: string;
    let a: Instance;
    let b: Instance;
    let storage: Storage;
    let policyDir: string;
    let configFile: string;

    beforeAll(async () => {
      root = mkdtempSync(join(tmpdir(), 'mdm-instances-'));
      databaseUrl = await postgresTestUrl();
      policyDir = join(root, 'policies');
      const shared = {
        databaseUrl,
        certsDir: join(root, 'certs'),
        tokenSecret: randomBytes(24).toString('hex'),
        policyDir,
        logLevel: 'warn',
        authPolicies: ['OnPremise', 'Federated'],
      };
      // The first instance creates the CA and TLS certificate in the shared folder; the second loads them.
      a = await startInstance({ ...shared, dataDir: join(root, 'a') });
      b = await startInstance({ ...shared, dataDir: join(root, 'b') });
      storage = openStorage({ databaseUrl, dataDir: root, databasePoolSize: 3 }, { role: 'cli' });
      await addUser(storage.users, USER, PASSWORD);
      configFile = join(root, 'mdm.yaml');
      writeFileSync(
        configFile,
        `dataDir: ${join(root, 'cli')}\ncertsDir: ${shared.certsDir}\ndatabaseUrl: ${databaseUrl}\npolicyDir: ${policyDir}\n`,
      );
    }, 180_000);
    afterAll(async () => {
      await Promise.all([a?.stop(), b?.stop()]);
      await storage?.close();
      if (root) rmSync(root, { recursive: true, force: true });
    });

    /** A device whose every request goes to the next instance (enrollment included). */
    async function enrolledDevice(seed: string, options: { auth?: 'digest'; maxMsgSize?: number } = {}) {
      const rr = roundRobinTransport(process.env.PIN ? [a.url] : [a.url, b.url]);
      const device = new VirtualDevice({
        profile: makeProfile(seed),
        catalog: defaultCatalog(),
        tls: { ca: a.tlsCertPem },
        transport: rr.factory,
        ...(options.auth && { auth: options.auth }),
        ...(options.maxMsgSize && { maxMsgSize: options.maxMsgSize, announceMaxMsgSize: true }),
      });
      await device.enroll(a.url, USER, PASSWORD);
      return { device, hits: rr.hits };
    }

    /** Every node of the command was sent once and answered once. */
    async function expectAnsweredOnce(id: string, code = 200) {
      expect(await storage.commands.get(id)).toMatchObject({ state: 'done', statusCode: code });
      const nodes = await storage.commands.listNodes(id);
      expect(nodes).toHaveLength(1);
      expect(nodes[0]).toMatchObject({ path: '', status: code });
      return nodes[0]!;
    }

    const countBy = (values: readonly (string | undefined)[]) => {
      const counts: Record<string, number> = {};
      for (const v of values) if (v) counts[v] = (counts[v] ?? 0) + 1;
      return counts;
    };

    it('enrolls and runs a session whose messages alternate between the instances: every Status and Result once', async () => {
      const { device, hits } = await enrolledDevice('rr-1', { maxMsgSize: 3072 });
      expect(hits[0]).toBeGreaterThan(0);
      expect(hits[1]).toBeGreaterThan(0);
      const deviceId = device.profile.deviceId;
      expect((await device.checkIn()).ok).toBe(true);

      const gets = GETS.slice(0, 3);
      const getIds: string[] = [];
      for (const target of gets) {
        getIds.push(
          await storage.commands.enqueue({
            deviceId,
            command: { verb: 'Get', items: [{ target }] },
            origin: 'admin',
          }),
        );
      }
      const replaceIds: string[] = [];
      for (let n = 0; n < 6; n++) {
        replaceIds.push(
          await storage.commands.enqueue({ deviceId, command: bigReplace(n), origin: 'admin' }),
        );
      }
      const before = [...hits];
      const report = await device.checkIn();
      expect(report.ok).toBe(true);
      // The device's 3 KiB MaxMsgSize spreads the commands over several messages, on both instances.
      expect(report.messages).toBeGreaterThanOrEqual(4);
      expect(hits[0]! - before[0]!).toBeGreaterThanOrEqual(2);
      expect(hits[1]! - before[1]!).toBeGreaterThanOrEqual(2);

      for (const [i, id] of getIds.entries()) {
        const node = await expectAnsweredOnce(id);
        expect(node.results).toEqual([
          expect.objectContaining({ locUri: gets[i], data: device.tree.get(gets[i]!)?.value }),
        ]);
      }
      for (const id of replaceIds) await expectAnsweredOnce(id);
      // Sent in message order, each in a message of its own session's sequence.
      const sent = await Promise.all(
        replaceIds.map(async (id) => (await storage.commands.listNodes(id))[0]!.msgId),
      );
      expect(new Set(sent).size).toBeGreaterThanOrEqual(3);
      expect(device.tree.get(RADIO_NAME)?.value).toBe(bigReplace(5).items[0]!.data);
      // The device executed each command once.
      const executed = countBy(report.outcomes.map((o) => o.targetRef));
      for (const target of gets) expect(executed[target]).toBe(1);
      expect(executed[RADIO_NAME]).toBe(6);
      device.close();
    });

    it.each([
      ['two instances', 'twin-1', () => [a.url, b.url]],
      ['two connections to one instance', 'twin-2', () => [a.url, a.url]],
    ] as const)(
      'serialises two sessions of one device sent at once over %s: each command runs once',
      async (_, seed, pair) => {
        const [firstOrigin, secondOrigin] = pair();
        const { device } = await enrolledDevice(seed);
        expect((await device.checkIn()).ok).toBe(true);
        const deviceId = device.profile.deviceId;
        // The same device on a second connection (a retry after a timeout), pinned to the other instance.
        const snap = device.snapshot();
        const pinned = (origin: string) => roundRobinTransport([origin]).factory;
        const first = VirtualDevice.restore(snap, {
          catalog: defaultCatalog(),
          tls: { ca: a.tlsCertPem },
          transport: pinned(firstOrigin),
          faults: { delayMs: 150 },
        });
        const second = VirtualDevice.restore(
          { ...snap, sessionNumber: snap.sessionNumber + 1 },
          {
            catalog: defaultCatalog(),
            tls: { ca: a.tlsCertPem },
            transport: pinned(secondOrigin),
            faults: { delayMs: 150 },
          },
        );
        const ids: string[] = [];
        for (const target of GETS.slice(0, 4)) {
          ids.push(
            await storage.commands.enqueue({
              deviceId,
              command: { verb: 'Get', items: [{ target }] },
              origin: 'admin',
            }),
          );
        }
        ids.push(
          await storage.commands.enqueue({
            deviceId,
            command: { verb: 'Exec', items: [{ target: './Device/Vendor/MSFT/Reboot/RebootNow' }] },
            origin: 'admin',
          }),
        );
        const [r1, r2] = await Promise.all([first.checkIn(), second.checkIn()]);
        expect(r1.ok).toBe(true);
        expect(r2.ok).toBe(true);
        const executed = countBy([...r1.outcomes, ...r2.outcomes].map((o) => o.targetRef));
        for (const target of [...GETS.slice(0, 4), './Device/Vendor/MSFT/Reboot/RebootNow']) {
          expect(executed[target]).toBe(1);
        }
        expect([...r1.effects, ...r2.effects].filter((e) => e === 'reboot')).toHaveLength(1);
        for (const id of ids) await expectAnsweredOnce(id);
        first.close();
        second.close();
        device.close();
      },
    );

    it('delivers a command queued through one instance through the other, exactly once', async () => {
      const { device } = await enrolledDevice('relay-1');
      expect((await device.checkIn()).ok).toBe(true);
      const deviceId = device.profile.deviceId;
      const id = await a.enqueue({
        deviceId,
        command: { verb: 'Get', items: [{ target: './DevDetail/OEM' }] },
        actor: 'test',
        action: 'commands.add',
      });
      const onB = VirtualDevice.restore(device.snapshot(), {
        catalog: defaultCatalog(),
        tls: { ca: a.tlsCertPem },
        transport: roundRobinTransport([b.url]).factory,
      });
      const report = await onB.checkIn();
      expect(report.ok).toBe(true);
      expect(report.outcomes.filter((o) => o.targetRef === './DevDetail/OEM')).toHaveLength(1);
      await expectAnsweredOnce(id);
      // Neither instance hands it out again.
      const again = await onB.checkIn();
      expect(again.outcomes.filter((o) => o.targetRef === './DevDetail/OEM')).toHaveLength(0);
      expect((await storage.audit.list({})).filter((e) => e.action === 'commands.add')).toHaveLength(1);
      onB.close();
      device.close();
    });

    it('DIGEST: a nonce one instance issued and the RespURI token it handed out are honoured by the other', async () => {
      const { device, hits } = await enrolledDevice('digest-1', { auth: 'digest', maxMsgSize: 3072 });
      for (let session = 0; session < 3; session++) {
        const ids: string[] = [];
        for (let n = 0; n < 4; n++) {
          ids.push(
            await storage.commands.enqueue({
              deviceId: device.profile.deviceId,
              command: bigReplace(n),
              origin: 'admin',
            }),
          );
        }
        const before = [...hits];
        const report = await device.checkIn();
        expect(report.ok, report.error).toBe(true);
        expect(report.messages).toBeGreaterThanOrEqual(3);
        expect(hits[0]! - before[0]!).toBeGreaterThan(0);
        expect(hits[1]! - before[1]!).toBeGreaterThan(0);
        for (const id of ids) await expectAnsweredOnce(id);
      }
      device.close();
    });

    it('counts failed sign-ins on every instance, and spends a sign-in token once across them', async () => {
      const locked = 'locked@contoso.com';
      await addUser(storage.users, locked, PASSWORD);
      const authUrl = (i: Instance) => `${i.url}/EnrollmentServer/Auth`;
      const tls = { serverCa: a.tlsCertPem };
      for (let i = 0; i < 10; i++) {
        await expect(federatedSignIn(authUrl(i % 2 ? b : a), locked, 'wrong', tls)).rejects.toThrow(
          /sign-in failed/,
        );
      }
      // Locked out everywhere, even with the right password.
      await expect(federatedSignIn(authUrl(a), locked, PASSWORD, tls)).rejects.toThrow(/sign-in failed/);
      await expect(federatedSignIn(authUrl(b), locked, PASSWORD, tls)).rejects.toThrow(/sign-in failed/);

      // A token from A's sign-in page enrolls through B (same token secret), then never again.
      const token = await federatedSignIn(authUrl(a), USER, PASSWORD, tls);
      const enrolled = await enrollDevice({
        url: b.url,
        credentials: { kind: 'federated', token },
        email: USER,
        tls,
      });
      expect(await storage.devices.getDevice(enrolled.deviceId)).toMatchObject({ authPolicy: 'Federated' });
      await expect(
        enrollDevice({ url: a.url, credentials: { kind: 'federated', token }, email: USER, tls }),
      ).rejects.toMatchObject({
        fault: { subcode: 's:Authentication', reason: expect.stringMatching(/already used/) },
      });
      expect((await discover(a.url, { email: USER, tls })).authPolicy).toBeDefined();
    });

    it('puts a revision stored by mdm policy apply in force on both instances at the next exchange', async () => {
      const { device } = await enrolledDevice('policy-1');
      expect((await device.checkIn()).ok).toBe(true);
      const policy = (value: number) => {
        mkdirSync(policyDir, { recursive: true });
        writeFileSync(
          join(policyDir, 'camera.yaml'),
          `name: camera\nsettings:\n  - path: Camera/AllowCamera\n    value: ${value}\n`,
        );
        writeFileSync(
          join(policyDir, 'assignments.yaml'),
          'assignments:\n  - policy: camera\n    include: [all]\n',
        );
      };
      const apply = () => captureCli(() => main(['node', 'mdm', '--config', configFile, 'policy', 'apply']));
      const setting = async () =>
        (await storage.deviceSettings.listDeviceSettings(device.profile.deviceId)).find(
          (s) => s.path === CAMERA,
        );

      policy(0);
      expect(await apply()).toMatchObject({ code: 0, out: expect.stringMatching(/stored revision 1/) });
      expect((await device.checkIn()).ok).toBe(true);
      expect(device.tree.get(CAMERA)?.value).toBe('0');
      expect(await setting()).toMatchObject({ state: 'verified', desiredValue: '0' });

      policy(1);
      expect(await apply()).toMatchObject({ code: 0, out: expect.stringMatching(/stored revision 2/) });
      // Two sessions, so that each instance opens one after the new revision was stored.
      expect((await device.checkIn()).ok).toBe(true);
      expect(device.tree.get(CAMERA)?.value).toBe('1');
      expect((await device.checkIn()).ok).toBe(true);
      expect(await setting()).toMatchObject({ state: 'verified', desiredValue: '1' });
      device.close();
    });

    it('runs a fleet-wide job on one instance at a time: session pruning waits for the job lock', async () => {
      const { device } = await enrolledDevice('prune-1');
      for (let i = 0; i < 3; i++) expect((await device.checkIn()).ok).toBe(true);
      device.close();
      const admin = new pg.Client({ connectionString: databaseUrl });
      await admin.connect();
      const closed = async () =>
        Number(
          (await admin.query("SELECT count(*) AS n FROM dm_sessions WHERE status = 'closed'")).rows[0].n,
        );
      const other = openStorage({ databaseUrl, dataDir: root, databasePoolSize: 2 }, { role: 'server' });
      const pruner = (s: Storage) =>
        startSessionPruning({
          storage: s,
          retentionDays: 0,
          logger: silentLogger(),
          now: () => new Date(Date.now() + 60_000),
        });
      const mine = pruner(storage);
      const theirs = pruner(other);
      try {
        const before = await closed();
        expect(before).toBeGreaterThan(0);
        // Another instance is in the middle of the job: this one skips it.
        let release!: () => void;
        const held = new Promise<void>((resolve) => {
          release = resolve;
        });
        let locked!: () => void;
        const lockTaken = new Promise<void>((resolve) => {
          locked = resolve;
        });
        const holder = other.transaction(async (tx) => {
          expect(await tx.tryJobLock('session-pruning')).toBe(true);
          locked();
          await held;
        });
        await lockTaken;
        // Released whatever the checks say, so the holder's transaction ends and the pools close.
        const skipped = await mine.runOnce().finally(release);
        expect(skipped.sessions).toBe(0);
        expect(await closed()).toBe(before);
        await holder;
        // Both at once: the sessions are pruned once in all.
        const [x, y] = await Promise.all([mine.runOnce(), theirs.runOnce()]);
        expect(x.sessions + y.sessions).toBe(before);
        expect(await closed()).toBe(0);
      } finally {
        mine.stop();
        theirs.stop();
        await other.close();
        await admin.end();
      }
    });
  },
);
