// Faults under a fleet of simulated devices on two server instances and one PostgreSQL database:
// the database restarted while sessions run, then one instance killed with SIGKILL while a request
// is in flight. Afterwards nothing acknowledged to a device is lost (every Status the device sent in
// a message the server answered with 200 is recorded), nothing is applied twice (no command is
// answered in two acknowledged messages), every device's next session proceeds, and the commands
// of the broken sessions are delivered once those sessions are no longer live (MS-MDM 2.2; OMA-DM
// 1.2 SyncML Rep Pro §8.2: a command without its Status was not carried out as far as the server knows).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultCatalog } from '../../src/catalog/catalog.js';
import { LIVE_SESSION_MS } from '../../src/dm/session.js';
import { addUser } from '../../src/enrollment/users.js';
import { VirtualDevice } from '../../src/simulator/device.js';
import { makeProfile } from '../../src/simulator/profile.js';
import type { SessionReport } from '../../src/simulator/session.js';
import type { Storage } from '../../src/storage/index.js';
import { openStorage } from '../../src/storage/open.js';
import { postgresAvailable } from '../support/backends.js';
import { type Instance, roundRobinTransport, startInstance } from '../support/instances.js';
import {
  INSTALL_HINT,
  postgresBinDir,
  startTestPostgres,
  type TestPostgres,
  databaseUrl as urlOf,
} from '../support/postgres.js';

const USER = 'faults@contoso.com';
const PASSWORD = 'Faults-pass-1';
const DEVICES = 6;
const TARGETS = [
  './Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera',
  './Device/Vendor/MSFT/Policy/Config/Experience/AllowCortana',
  './Device/Vendor/MSFT/Policy/Config/DeviceLock/DevicePasswordEnabled',
  './Device/Vendor/MSFT/Policy/Config/Bluetooth/LocalDeviceName',
];

/** A Status the device sent in a message the server answered with HTTP 200. */
interface AckedStatus {
  readonly key: string; // sessionId/msgRef/cmdRef
  readonly code: number;
}

/** The device's Statuses for Replace commands (what the test queues; the server's own inventory Gets are not queued commands). */
function ackedStatuses(requestBody: string): AckedStatus[] {
  const sessionId = /<SessionID>([^<]*)<\/SessionID>/.exec(requestBody)?.[1];
  const out: AckedStatus[] = [];
  for (const [, inner] of requestBody.matchAll(/<Status>(.*?)<\/Status>/gs)) {
    const field = (name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(inner!)?.[1];
    const cmd = field('Cmd');
    if (cmd !== 'Replace') continue;
    out.push({ key: `${sessionId}/${field('MsgRef')}/${field('CmdRef')}`, code: Number(field('Data')) });
  }
  return out;
}

describe.skipIf(!postgresAvailable())(
  `faults on two instances and PostgreSQL${postgresAvailable() ? '' : ` (${INSTALL_HINT})`}`,
  () => {
    let cluster: TestPostgres;
    let root: string;
    let a: Instance;
    let b: Instance;
    let storage: Storage;
    const origins: string[] = [];
    let killOnNextRequestTo: string | undefined;
    /** Settles once the instance killed on a request has exited. */
    let killed: Promise<void> | undefined;

    beforeAll(async () => {
      cluster = await startTestPostgres(postgresBinDir()!);
      const admin = new pg.Client({ connectionString: cluster.adminUrl });
      await admin.connect();
      await admin.query('CREATE DATABASE mdm');
      await admin.end();
      const databaseUrl = urlOf(cluster.adminUrl, 'mdm');
      root = mkdtempSync(join(tmpdir(), 'mdm-faults-'));
      const shared = {
        databaseUrl,
        certsDir: join(root, 'certs'),
        tokenSecret: randomBytes(24).toString('hex'),
        policyDir: join(root, 'policies'),
        logLevel: 'silent',
      };
      a = await startInstance({ ...shared, dataDir: join(root, 'a') });
      b = await startInstance({ ...shared, dataDir: join(root, 'b') });
      origins.push(a.url, b.url);
      storage = openStorage({ databaseUrl, dataDir: root, databasePoolSize: 3 }, { role: 'cli' });
      await addUser(storage.users, USER, PASSWORD);
    }, 180_000);
    afterAll(async () => {
      await Promise.all([a?.kill(), b?.stop()]);
      await storage?.close();
      cluster?.stop();
      if (root) rmSync(root, { recursive: true, force: true });
    });

    it('loses no acknowledged answer and applies nothing twice across a database restart and a SIGKILLed instance', async () => {
      const acked = new Map<string, AckedStatus[]>();
      const rr = roundRobinTransport(origins, (origin) => {
        if (origin !== killOnNextRequestTo) return;
        killOnNextRequestTo = undefined;
        // The request is on its way: the instance dies while it reads or handles it.
        killed = new Promise((resolve) => setTimeout(() => void a.kill().then(resolve), 3));
      });
      const devices: VirtualDevice[] = [];
      for (let i = 0; i < DEVICES; i++) {
        const device = new VirtualDevice({
          profile: makeProfile(`fault-${i}`),
          catalog: defaultCatalog(),
          tls: { ca: a.tlsCertPem },
          transport: rr.factory,
          maxMsgSize: 2048,
          announceMaxMsgSize: true,
          onExchange: ({ request, response }) => {
            if (response.status !== 200) return;
            const list = acked.get(device.profile.deviceId) ?? [];
            list.push(...ackedStatuses(request.body));
            acked.set(device.profile.deviceId, list);
          },
        });
        await device.enroll(a.url, USER, PASSWORD);
        devices.push(device);
      }
      let value = 0;
      const queueWork = async () => {
        for (const device of devices) {
          for (const target of TARGETS.slice(0, 3)) {
            await storage.commands.enqueue({
              deviceId: device.profile.deviceId,
              command: { verb: 'Replace', items: [{ target, format: 'int', data: String(++value % 2) }] },
              origin: 'admin',
            });
          }
          await storage.commands.enqueue({
            deviceId: device.profile.deviceId,
            command: {
              verb: 'Replace',
              items: [{ target: TARGETS[3]!, format: 'chr', data: `v${++value}-`.padEnd(900, 'x') }],
            },
            origin: 'admin',
          });
        }
      };
      const round = () => Promise.all(devices.map((d) => d.checkIn()));
      const allOk = (reports: SessionReport[]) => reports.map((r) => r.error ?? 'ok');

      await queueWork();
      expect(allOk(await round())).toEqual(devices.map(() => 'ok'));

      // 1. The database restarts while a round of sessions runs.
      await queueWork();
      const during = round();
      await new Promise((resolve) => setTimeout(resolve, 40));
      cluster.ctl('restart', '-m', 'fast');
      const hit = await during;
      // Every device's next session proceeds.
      await queueWork();
      expect(allOk(await round())).toEqual(devices.map(() => 'ok'));

      // 2. Instance A is killed with a request in flight; the balancer then sends everything to B.
      await queueWork();
      killOnNextRequestTo = a.url;
      const duringKill = await round();
      origins.splice(0, origins.length, b.url);
      // The kill was triggered by a request to A; its exit is observed asynchronously.
      expect(killed).toBeDefined();
      await killed;
      expect(a.process.signalCode).toBe('SIGKILL');
      expect(allOk(await round())).toEqual(devices.map(() => 'ok'));
      const broken = [...hit, ...duringKill].filter((r) => !r.ok).length;
      expect(broken).toBeGreaterThan(0);

      // The broken sessions' commands stay with them while they may be live, then go to the next session.
      await new Promise((resolve) => setTimeout(resolve, LIVE_SESSION_MS + 1000));
      expect(allOk(await round())).toEqual(devices.map(() => 'ok'));
      expect(allOk(await round())).toEqual(devices.map(() => 'ok'));

      for (const device of devices) {
        const deviceId = device.profile.deviceId;
        const commands = await storage.commands.listForDevice(deviceId, { limit: 1000 });
        const byNode = new Map<string, { commandId: string; status?: number }>();
        for (const c of commands) {
          // Everything queued was delivered and answered; nothing was given up.
          expect({ id: c.id, state: c.state }).toEqual({ id: c.id, state: 'done' });
          const nodes = await storage.commands.listNodes(c.id);
          expect(nodes.filter((n) => n.path === '' && n.status !== undefined)).toHaveLength(1);
          for (const n of nodes) byNode.set(`${n.sessionId}/${n.msgId}/${n.cmdId}`, n);
        }
        const answeredIn = new Map<string, number>();
        for (const s of acked.get(deviceId) ?? []) {
          // Acknowledged to the device, so recorded, with the device's code.
          const node = byNode.get(s.key);
          expect({ key: s.key, recorded: node?.status }).toEqual({ key: s.key, recorded: s.code });
          answeredIn.set(node!.commandId, (answeredIn.get(node!.commandId) ?? 0) + 1);
        }
        // No command was carried out in two acknowledged messages.
        for (const [commandId, times] of answeredIn)
          expect({ commandId, times }).toEqual({ commandId, times: 1 });
        // The device holds the value of the Replace of each node the server recorded last.
        const last = new Map<string, { at: string; data: string }>();
        for (const c of commands) {
          const item = 'items' in c.command ? c.command.items[0] : undefined;
          const node = (await storage.commands.listNodes(c.id)).find((n) => n.status !== undefined);
          if (!item?.target || item.data === undefined || !node?.answeredAt) continue;
          const at = `${node.answeredAt}/${String(node.msgId).padStart(4, '0')}/${String(node.cmdId).padStart(4, '0')}`;
          if ((last.get(item.target)?.at ?? '') < at) last.set(item.target, { at, data: item.data });
        }
        expect(last.size).toBe(TARGETS.length);
        for (const [target, { data }] of last) expect(device.tree.get(target)?.value).toBe(data);
        device.close();
      }
    }, 240_000);
  },
);
