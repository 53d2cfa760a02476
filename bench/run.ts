// `npm run bench`: pre-load the database, start the server in its own process, drive it from a
// separate load-generator process, and report (console, JSON, SVG). See bench/README.md.
import type { ChildProcess } from 'node:child_process';
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config.js';
import { ENROLLMENT_PATHS } from '../src/enrollment/urls.js';
import { loadOrCreateCa } from '../src/pki/ca.js';
import { sqliteFile } from '../src/storage/open.js';
import type { BenchDevice } from './checkin.js';
import type { EnrollResult, SignInResult } from './enroll-load.js';
import type { FloorReplies } from './floor-server.js';
import type { FloorSqliteInput } from './floor-sqlite.js';
import type { IssuedPoolCertificate, IssueRequest } from './issue-certs.js';
import type { CheckinJob, CheckinResult, HandshakeResult, Target } from './load.js';
import type { LoadJob } from './load-generator.js';
import { type BenchOptions, parseBenchOptions, USAGE } from './options.js';
import {
  formatSideBySide,
  type PostgresDatabase,
  type PostgresRun,
  preparePostgres,
  startBalancer,
} from './postgres.js';
import { preloadDatabase } from './preload.js';
import { ask, forkBench, isEntryPoint, nextMessage, stopChild } from './process.js';
import { buildReport, cpuMsPerSession, formatReport, type ModeResult, writeResults } from './report.js';
import type { ServerProcessInput, ServerStats } from './server-process.js';

export const CERT_HEADER = 'X-SSL-Client-Cert';
export const BENCH_USER = { upn: 'bench@bench.example', password: 'bench-password-1' } as const;
const MANAGEMENT_PATH = `${ENROLLMENT_PATHS.management}?mode=Maintenance&Platform=WoA`;
const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));

const log = (s: string) => process.stderr.write(`[bench] ${s}\n`);

interface ServerHandle {
  readonly child: ChildProcess;
  readonly target: Target;
  readonly url: string;
  readonly tlsCertPem?: string;
}

/** Server settings for the run (the same database for every mode). */
function serverFlags(dataDir: string, certsDir: string, tls: boolean): Record<string, unknown> {
  return {
    dataDir,
    certsDir,
    host: '127.0.0.1',
    port: 0,
    tls,
    trustedProxyCertHeader: CERT_HEADER,
    trustedProxies: ['127.0.0.1'],
    preferredAuthPolicy: 'Federated',
    logLevel: 'warn',
  };
}

async function startServer(
  flags: Record<string, unknown>,
  output: number,
  nodeFlags: string[],
  countStatementsBySql = false,
): Promise<ServerHandle> {
  const input: ServerProcessInput = { flags, users: [BENCH_USER], countStatementsBySql };
  const child = await forkBench('./server-process.ts', {
    env: { BENCH_SERVER_INPUT: JSON.stringify(input) },
    nodeFlags: ['--expose-gc', ...nodeFlags],
    output,
    // A CPU profile should name source files, not the bundle.
    fromSource: nodeFlags.some((f) => f.startsWith('--cpu-prof')),
  });
  const ready = await nextMessage<{ url: string; tlsCertPem?: string }>(child, 'ready', 120_000);
  const url = new URL(ready.url);
  return {
    child,
    target: { host: url.hostname, port: Number(url.port) },
    url: ready.url,
    tlsCertPem: ready.tlsCertPem,
  };
}

const stats = (server: ServerHandle, reset = false) =>
  ask<ServerStats>(server.child, { type: 'stats', reset }, 'stats');
const run = <T>(loader: ChildProcess, job: LoadJob) =>
  ask<{ result: T }>(loader, { type: 'run', job }, 'result').then((m) => m.result);

function dbBytes(file: string): number {
  let total = 0;
  for (const f of [file, `${file}-wal`]) if (existsSync(f)) total += statSync(f).size;
  return total;
}

function checkinJob(
  o: BenchOptions,
  target: Target,
  serverUrl: string,
  mode: CheckinJob['mode'],
  devices: BenchDevice[],
  extra: Partial<CheckinJob> = {},
): CheckinJob {
  return {
    kind: 'checkins',
    target,
    mode,
    path: MANAGEMENT_PATH,
    serverUrl: `${serverUrl}${ENROLLMENT_PATHS.management}`,
    devices,
    concurrency: o.concurrency,
    seconds: o.seconds,
    warmupSeconds: o.warmup,
    ...extra,
  };
}

/** Issues the pool certificates in a child process, in parallel with the database inserts. */
async function issueInChild(request: IssueRequest): Promise<IssuedPoolCertificate[]> {
  const child = await forkBench('./issue-certs.ts');
  try {
    await nextMessage(child, 'ready', 60_000);
    return (await ask<{ certs: IssuedPoolCertificate[] }>(child, { type: 'issue', ...request }, 'issued'))
      .certs;
  } finally {
    await stopChild(child, 2000);
  }
}

/** What the mode runs share: options, folders, the load generator, the pre-loaded pool. */
interface RunContext {
  readonly o: BenchOptions;
  readonly dataDir: string;
  readonly certsDir: string;
  readonly logFd: number;
  readonly loader: ChildProcess;
  /** Every child started, stopped in `finally` whatever happens. */
  readonly children: ChildProcess[];
  readonly poolKeyPem: string;
}

/** Proxy mode: check-ins (recording one session for the floor), then enrollments and sign-ins. */
async function runProxyMode(ctx: RunContext, devices: BenchDevice[]): Promise<ModeResult> {
  const { o, loader } = ctx;
  const nodeFlags = o.profile ? ['--cpu-prof', `--cpu-prof-dir=${join(RESULTS_DIR, 'profiles')}`] : [];
  const server = await startServer(
    serverFlags(ctx.dataDir, ctx.certsDir, false),
    ctx.logFd,
    nodeFlags,
    o.countStatements,
  );
  ctx.children.push(server.child);
  try {
    log(`proxy mode: ${server.url}, ${o.concurrency} concurrent sessions, ${o.warmup}+${o.seconds} s`);
    const atStart = await stats(server, true);
    const checkins = await run<CheckinResult>(
      loader,
      checkinJob(o, server.target, server.url, 'proxy', devices, { certHeader: CERT_HEADER, record: true }),
    );
    const server1 = await stats(server, true);
    log(`proxy mode: ${checkins.sessionsPerSec} sessions/s, p99 ${checkins.latency.p99Ms} ms`);
    const result: ModeResult = { checkins, server: server1, atStart };
    if (o.enrollSeconds <= 0) return result;

    log(`enrollments: ${o.enrollConcurrency} concurrent, ${o.warmup}+${o.enrollSeconds} s`);
    const enroll = await run<EnrollResult>(loader, {
      kind: 'enrollments',
      target: server.target,
      baseUrl: server.url,
      upn: BENCH_USER.upn,
      password: BENCH_USER.password,
      concurrency: o.enrollConcurrency,
      seconds: o.enrollSeconds,
      warmupSeconds: o.warmup,
    });
    const enrollServer = await stats(server, true);
    log(`enrollments: ${enroll.enrollPerSec}/s`);
    const signIns = await run<SignInResult>(loader, {
      kind: 'signins',
      target: server.target,
      upn: BENCH_USER.upn,
      password: BENCH_USER.password,
      concurrency: 4,
      seconds: Math.min(3, o.seconds),
    });
    return { ...result, enroll, enrollServer, signIns };
  } finally {
    await stopChild(server.child);
  }
}

/** The floor: the same load against a bare node:http server replaying the recorded bytes. */
async function runFloor(
  ctx: RunContext,
  devices: BenchDevice[],
  recorded: FloorReplies,
): Promise<CheckinResult> {
  const floorServer = await forkBench('./floor-server.ts');
  ctx.children.push(floorServer);
  try {
    const { port } = await nextMessage<{ port: number }>(floorServer, 'ready', 60_000);
    floorServer.send({ type: 'replies', ...recorded });
    log('floor: bare node:http replaying the recorded replies');
    return await run<CheckinResult>(
      ctx.loader,
      checkinJob(ctx.o, { host: '127.0.0.1', port }, `http://127.0.0.1:${port}`, 'floor', devices),
    );
  } finally {
    await stopChild(floorServer);
  }
}

/**
 * The floor with SQLite: the same load against a bare node:http server doing the real parse and the
 * minimal durable writes of a session, on its own copy of the pre-loaded database.
 */
async function runFloorSqlite(
  ctx: RunContext,
  devices: BenchDevice[],
  file: string,
  groupCommit: boolean,
): Promise<ModeResult> {
  const input: FloorSqliteInput = { file, groupCommit, certHeader: CERT_HEADER };
  const floor = await forkBench('./floor-sqlite.ts', {
    env: { BENCH_FLOOR_INPUT: JSON.stringify(input) },
    output: ctx.logFd,
  });
  ctx.children.push(floor);
  try {
    const { port } = await nextMessage<{ port: number }>(floor, 'ready', 60_000);
    log(`floor with SQLite (${groupCommit ? 'group commit' : 'a commit per exchange'}): port ${port}`);
    await ask<ServerStats>(floor, { type: 'stats', reset: true }, 'stats');
    const checkins = await run<CheckinResult>(
      ctx.loader,
      checkinJob(ctx.o, { host: '127.0.0.1', port }, `http://127.0.0.1:${port}`, 'proxy', devices, {
        certHeader: CERT_HEADER,
      }),
    );
    const server = await ask<ServerStats>(floor, { type: 'stats', reset: true }, 'stats');
    log(
      `floor with SQLite: ${checkins.sessionsPerSec} sessions/s, ${cpuMsPerSession(server, checkins)} ms CPU/session`,
    );
    return { checkins, server };
  } finally {
    await stopChild(floor);
  }
}

/** Proxy-mode check-ins on PostgreSQL with `o.instances` server processes behind a TCP balancer. */
async function runPostgresMode(
  ctx: RunContext,
  devices: BenchDevice[],
  db: PostgresDatabase,
): Promise<PostgresRun> {
  const { o } = ctx;
  const servers: ServerHandle[] = [];
  try {
    // One after another: each adds the bench user when it is missing.
    for (let i = 0; i < o.instances; i++) {
      const server = await startServer(
        { ...serverFlags(ctx.dataDir, ctx.certsDir, false), databaseUrl: db.url },
        ctx.logFd,
        [],
      );
      ctx.children.push(server.child);
      servers.push(server);
    }
    const balancer = await startBalancer(servers.map((s) => s.target));
    try {
      log(
        `PostgreSQL: ${o.instances} server(s) behind 127.0.0.1:${balancer.target.port}, ${o.concurrency} concurrent sessions`,
      );
      await Promise.all(servers.map((s) => stats(s, true)));
      const checkins = await run<CheckinResult>(
        ctx.loader,
        checkinJob(o, balancer.target, `http://127.0.0.1:${balancer.target.port}`, 'proxy', devices, {
          certHeader: CERT_HEADER,
        }),
      );
      const serverStats = await Promise.all(servers.map((s) => stats(s, true)));
      log(`PostgreSQL: ${checkins.sessionsPerSec} sessions/s, p99 ${checkins.latency.p99Ms} ms`);
      return { instances: o.instances, checkins, servers: serverStats };
    } finally {
      balancer.server.close();
    }
  } finally {
    await Promise.all(servers.map((s) => stopChild(s.child)));
  }
}

/**
 * TLS mode. Handshakes first: the full-handshake run leaves the devices it reaches a session
 * ticket, as their previous check-in would have, so the check-in run resumes where one exists.
 */
async function runTlsMode(ctx: RunContext, devices: BenchDevice[]): Promise<ModeResult> {
  const { o, loader } = ctx;
  const server = await startServer(serverFlags(ctx.dataDir, ctx.certsDir, true), ctx.logFd, []);
  ctx.children.push(server.child);
  try {
    log(`TLS mode: ${server.url}`);
    const tlsOptions = { keyPem: ctx.poolKeyPem, caPem: server.tlsCertPem };
    const handshake = (resume: boolean) =>
      run<HandshakeResult>(loader, {
        kind: 'handshakes',
        target: server.target,
        tls: tlsOptions,
        devices,
        concurrency: Math.min(o.concurrency, 16),
        seconds: Math.min(3, o.seconds),
        resume,
      });
    const full = await handshake(false);
    const resumed = await handshake(true);
    log(`TLS handshakes/s: full ${full.handshakesPerSec}, resumed ${resumed.handshakesPerSec}`);
    await stats(server, true);
    const checkins = await run<CheckinResult>(
      loader,
      checkinJob(o, server.target, server.url, 'tls', devices, { tls: tlsOptions }),
    );
    const serverStats = await stats(server, true);
    log(`TLS mode: ${checkins.sessionsPerSec} sessions/s, p99 ${checkins.latency.p99Ms} ms`);
    return { checkins, server: serverStats, handshakes: { full, resumed } };
  } finally {
    await stopChild(server.child);
  }
}

export async function runBenchmark(o: BenchOptions): Promise<void> {
  const began = performance.now();
  const loadavgBefore = loadavg();
  const root = mkdtempSync(join(tmpdir(), 'mdm-bench-'));
  const dataDir = join(root, 'data');
  const certsDir = join(root, 'certs');
  mkdirSync(RESULTS_DIR, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const jsonPath = resolve(o.json ?? join(RESULTS_DIR, `bench-${stamp}.json`));
  const logPath = join(RESULTS_DIR, `server-${stamp}.log`);
  const logFd = openSync(logPath, 'a');
  const children: ChildProcess[] = [];
  let postgresDb: PostgresDatabase | undefined;
  try {
    const file = sqliteFile(loadConfig({ env: {}, flags: serverFlags(dataDir, certsDir, false) }));
    loadOrCreateCa({ certsDir });
    log(`pre-loading ${o.devices} devices (${o.pool} with real certificates) into ${file}`);
    const pre = await preloadDatabase({
      file,
      certsDir,
      devices: o.devices,
      pool: o.pool,
      providerId: loadConfig({ env: {}, flags: {} }).providerId,
      policyCommands: o.policyCommands,
      inventoryDueShare: o.inventoryShare,
      issue: issueInChild,
    });
    const dbBytesAfterPreload = dbBytes(file);
    // The SQLite floors run on their own copies of the pre-loaded database (fresh queues).
    const floorFiles = { group: join(root, 'floor-group.sqlite'), single: join(root, 'floor-single.sqlite') };
    if (o.modes.includes('proxy')) for (const f of Object.values(floorFiles)) copyFileSync(file, f);
    // PostgreSQL gets a copy of the pre-loaded database before any run changes it.
    if (o.storage === 'postgres') postgresDb = await preparePostgres(file, log);
    log(
      `pre-load: ${Math.round(pre.insertMs)} ms inserting; ${Math.round(pre.issueMs)} ms issuing certificates in parallel; ` +
        `${Math.round(pre.totalMs)} ms in all`,
    );
    // Each mode drives its own devices, so every session is a device's first of the run.
    const split = o.modes.length === 2 ? Math.ceil(pre.pool.length * 0.75) : pre.pool.length;
    const proxyPool = o.modes.includes('proxy') ? pre.pool.slice(0, split) : [];
    const tlsPool = pre.pool.slice(proxyPool.length);

    const loader = await forkBench('./load-generator.ts');
    children.push(loader);
    await nextMessage(loader, 'ready', 60_000);
    const ctx: RunContext = { o, dataDir, certsDir, logFd, loader, children, poolKeyPem: pre.poolKeyPem };

    const proxy = o.modes.includes('proxy') ? await runProxyMode(ctx, proxyPool) : undefined;
    const recorded = proxy?.checkins.recorded;
    const floor = recorded ? await runFloor(ctx, proxyPool, recorded) : undefined;
    const floorSqlite = proxy ? await runFloorSqlite(ctx, proxyPool, floorFiles.group, true) : undefined;
    const floorSqliteSingle = proxy
      ? await runFloorSqlite(ctx, proxyPool, floorFiles.single, false)
      : undefined;
    const postgres = postgresDb ? await runPostgresMode(ctx, proxyPool, postgresDb) : undefined;
    const tls = o.modes.includes('tls') ? await runTlsMode(ctx, tlsPool) : undefined;
    await stopChild(loader);

    const report = buildReport({
      devices: o.devices,
      pool: pre.pool.length,
      concurrency: o.concurrency,
      seconds: o.seconds,
      preload: pre,
      dbBytesAfterPreload,
      dbBytesAfterRun: dbBytes(file),
      proxy,
      tls,
      floor,
      ...(floorSqlite && { floorSqlite }),
      ...(floorSqliteSingle && { floorSqliteSingle }),
      loadavgBefore,
      totalSeconds: (performance.now() - began) / 1000,
    });
    const svgPath = writeResults(report, jsonPath);
    process.stdout.write(
      `\n${formatReport(report)}\n\nJSON: ${jsonPath}\nSVG:  ${svgPath}\nServer log: ${logPath}\n`,
    );
    if (postgres) {
      const pgJson = jsonPath.replace(/(\.json)?$/, '-postgres.json');
      writeFileSync(
        pgJson,
        `${JSON.stringify({ sqlite: proxy && { checkins: proxy.checkins, server: proxy.server }, postgres }, null, 2)}\n`,
      );
      process.stdout.write(`\n${formatSideBySide(proxy, postgres)}\n\nJSON (PostgreSQL): ${pgJson}\n`);
    }
    if (o.profile) process.stdout.write(`CPU profile: ${join(RESULTS_DIR, 'profiles')}\n`);
  } finally {
    postgresDb?.cluster.stop();
    await Promise.all(children.map((c) => stopChild(c, 2000)));
    closeSync(logFd);
    if (o.keep) log(`kept ${root}`);
    else rmSync(root, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  let options: ReturnType<typeof parseBenchOptions>;
  try {
    options = parseBenchOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (options === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  await runBenchmark(options);
}

if (isEntryPoint(import.meta.url))
  main().catch((err: unknown) => {
    process.stderr.write(
      `bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  });
