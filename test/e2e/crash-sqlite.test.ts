// kill -9 of a SQLite server in the middle of a run of concurrent sessions (exchanges batched by the
// writer's group commit): afterwards nothing the server acknowledged to a device is lost, no
// acknowledged command is sent again, and every device's next session proceeds normally.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultCatalog } from '../../src/catalog/catalog.js';
import { addUser } from '../../src/enrollment/users.js';
import type { DmCommand } from '../../src/shared/dm-command.js';
import { VirtualDevice } from '../../src/simulator/device.js';
import { makeProfile } from '../../src/simulator/profile.js';
import type { SessionReport } from '../../src/simulator/session.js';
import type { Storage } from '../../src/storage/index.js';
import { openStorage } from '../../src/storage/open.js';

const USER = 'crash@contoso.com';
const PASSWORD = 'Crash-pass-1';
const DEVICES = 8;
/** The killed server's sessions keep their commands this long (MDM_LIVE_SESSION_SECONDS). */
const LIVE_SECONDS = 2;
// One node per queued command (a dynamic DMClient node), so each outcome names its command.
const NODE = (n: number) => `./Vendor/MSFT/DMClient/Provider/Crash${n}/CustomEnrollmentCompletePage/Title`;
const numberOf = (target: string) => /Provider\/Crash(\d+)\//.exec(target)?.[1];

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

let root: string;
let port: number;
let child: ChildProcess | undefined;
let cli: Storage;
let log = '';

/** The server as `npm start` runs it, in its own process, on the test's folders and port. */
async function startServer(): Promise<void> {
  const url = `https://127.0.0.1:${port}`;
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: {
      ...process.env,
      MDM_DATA_DIR: join(root, 'data'),
      MDM_CERTS_DIR: join(root, 'certs'),
      MDM_HOST: '127.0.0.1',
      MDM_PORT: String(port),
      MDM_PUBLIC_URL: url,
      MDM_POLICY_DIR: join(root, 'policies'),
      MDM_LOG_LEVEL: 'warn',
      MDM_LIVE_SESSION_SECONDS: String(LIVE_SECONDS),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout?.on('data', (d) => {
    log += d;
  });
  proc.stderr?.on('data', (d) => {
    log += d;
  });
  child = proc;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`server exited (${proc.exitCode}):\n${log}`);
    const up = await fetch(`http://127.0.0.1:${port}/`).then(
      () => true,
      (err: Error & { cause?: { code?: string } }) => err.cause?.code !== 'ECONNREFUSED',
    );
    if (up) return;
    if (Date.now() > deadline) throw new Error(`server did not listen within 60 s:\n${log}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function kill(): Promise<void> {
  const proc = child;
  child = undefined;
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    proc.once('exit', () => resolve());
    proc.kill('SIGKILL');
  });
}

const replace = (n: number, value: string): DmCommand => ({
  verb: 'Replace',
  items: [{ target: NODE(n), format: 'chr', data: value }],
});

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'mdm-crash-'));
  port = await freePort();
  await startServer();
  // `mdm` beside the running server: the same storage a CLI command opens.
  cli = openStorage({ dataDir: join(root, 'data'), databasePoolSize: 1 }, { role: 'cli' });
  await addUser(cli.users, USER, PASSWORD);
}, 90_000);

afterAll(async () => {
  await kill();
  await cli?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('SQLite server killed with SIGKILL mid-exchange', () => {
  it('loses nothing it acknowledged and sends no acknowledged command again', async () => {
    const catalog = defaultCatalog();
    const ca = readFileSync(join(root, 'certs', 'tls.crt'), 'utf8');
    const devices: VirtualDevice[] = [];
    for (let i = 0; i < DEVICES; i++) {
      const device = new VirtualDevice({ profile: makeProfile(`crash-${i}`), catalog, tls: { ca } });
      await device.enroll(`https://127.0.0.1:${port}`, USER, PASSWORD);
      devices.push(device);
    }

    // Sessions run back to back on every device while the CLI keeps queueing commands; the server
    // is killed while exchanges are in flight.
    const reports = new Map<string, SessionReport[]>();
    let next = 0;
    let running = true;
    const queueing = (async () => {
      while (running) {
        for (const d of devices) {
          const n = next++;
          await cli.commands.enqueue({
            deviceId: d.profile.deviceId,
            command: replace(n, `v${n}`),
            origin: 'admin',
          });
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const sessions = devices.map(async (d) => {
      const list: SessionReport[] = [];
      reports.set(d.profile.deviceId, list);
      while (running) {
        const report = await d.checkIn();
        list.push(report);
        if (!report.ok) return;
      }
    });
    // Kill once a good number of sessions completed, so the kill lands in a busy run.
    const started = Date.now();
    while (
      [...reports.values()].reduce((n, l) => n + l.length, 0) < DEVICES * 4 &&
      Date.now() - started < 60_000
    ) {
      await new Promise((r) => setTimeout(r, 50));
    }
    await kill();
    running = false;
    await Promise.all(sessions);
    await queueing;

    // Every outcome of a session the server completed (its last reply received) is recorded.
    const acknowledged = new Map<string, number>(); // target → status
    let completedSessions = 0;
    for (const list of reports.values()) {
      for (const report of list) {
        if (!report.ok) continue;
        completedSessions++;
        for (const o of report.outcomes)
          if (o.targetRef && numberOf(o.targetRef) !== undefined) acknowledged.set(o.targetRef, o.status);
      }
    }
    expect(completedSessions).toBeGreaterThan(0);
    // Every device was in a session when the server died.
    const cut = [...reports.values()].filter((list) => list.at(-1)?.ok === false);
    expect(cut).toHaveLength(DEVICES);
    expect(acknowledged.size).toBeGreaterThan(0);

    await startServer();
    const byTarget = async () => {
      const map = new Map<
        string,
        { deviceId: string; state: string; statusCode: number | null; attempts: number }
      >();
      for (const d of devices) {
        const list = await cli.commands.listForDevice(d.profile.deviceId, {
          states: ['pending', 'sent', 'done', 'failed'],
        });
        for (const c of list) {
          const target = 'items' in c.command ? c.command.items[0]?.target : undefined;
          if (target) {
            map.set(target, {
              deviceId: d.profile.deviceId,
              state: c.state,
              statusCode: c.statusCode,
              attempts: c.attempts,
            });
          }
        }
      }
      return map;
    };
    const afterCrash = await byTarget();
    for (const [target, status] of acknowledged) {
      expect(afterCrash.get(target), target).toMatchObject({ state: 'done', statusCode: status });
    }

    // The next sessions proceed and deliver what is left; nothing acknowledged is sent again. What
    // the killed sessions carried unanswered is re-sent once they are no longer live.
    const sentAgain: string[] = [];
    await new Promise((r) => setTimeout(r, LIVE_SECONDS * 1000));
    for (let round = 0; round < 4; round++) {
      const after = await Promise.all(devices.map((d) => d.checkIn()));
      for (const report of after) {
        expect(report.ok, report.error).toBe(true);
        for (const o of report.outcomes)
          if (o.targetRef && acknowledged.has(o.targetRef)) sentAgain.push(o.targetRef);
      }
    }
    expect(sentAgain).toEqual([]);
    const final = await byTarget();
    expect(final.size).toBe(next);
    const unfinished = [...final.entries()].filter(([, c]) => c.state !== 'done' || c.statusCode !== 200);
    expect(unfinished).toEqual([]);
    // And each device holds the value of every command queued for it.
    for (const [target, c] of final) {
      const holder = devices.find((d) => d.profile.deviceId === c.deviceId)!;
      expect(holder.tree.get(target)?.value, target).toBe(`v${numberOf(target)}`);
    }
    for (const d of devices) d.close();
  }, 180_000);
});
