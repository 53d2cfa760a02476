// `npm run bench -- --storage postgres [--instances N]`: the proxy-mode check-in run again, on a
// throwaway PostgreSQL server holding a copy of the pre-loaded SQLite database (`mdm db copy`'s
// code), with N server processes behind a round-robin TCP balancer in this process (a connection
// goes to the next instance; the load generator's keep-alive connections spread over all of them).
// The figures are printed beside the SQLite proxy run's.
import { createServer, type Server, connect as tcpConnect } from 'node:net';
import pg from 'pg';
import { copySqliteToPostgres } from '../src/storage/copy.js';
import {
  databaseUrl,
  postgresBinDir,
  startTestPostgres,
  type TestPostgres,
} from '../test/support/postgres.js';
import type { CheckinResult, Target } from './load.js';
import type { ServerStats } from './server-process.js';

export interface PostgresDatabase {
  readonly url: string;
  readonly cluster: TestPostgres;
  readonly copyMs: number;
}

/** A throwaway PostgreSQL cluster with a copy of the pre-loaded SQLite database. */
export async function preparePostgres(
  sqliteFile: string,
  log: (s: string) => void,
): Promise<PostgresDatabase> {
  const bin = postgresBinDir();
  if (!bin) {
    throw new Error(
      '--storage postgres needs the PostgreSQL server binaries (initdb, pg_ctl): apt-get install postgresql',
    );
  }
  const cluster = await startTestPostgres(bin);
  try {
    const admin = new pg.Client({ connectionString: cluster.adminUrl });
    await admin.connect();
    await admin.query('CREATE DATABASE mdm_bench');
    await admin.end();
    const url = databaseUrl(cluster.adminUrl, 'mdm_bench');
    const began = performance.now();
    const copied = await copySqliteToPostgres(sqliteFile, url);
    const copyMs = performance.now() - began;
    const rows = copied.reduce((n, t) => n + t.rows, 0);
    log(`PostgreSQL: copied ${rows} rows of ${copied.length} tables in ${Math.round(copyMs)} ms`);
    return { url, cluster, copyMs };
  } catch (err) {
    cluster.stop();
    throw err;
  }
}

/** Round-robin TCP balancer on 127.0.0.1 (no TLS: the proxy mode sends the client certificate in a header). */
export async function startBalancer(
  backends: readonly Target[],
): Promise<{ target: Target; server: Server }> {
  let next = 0;
  const server = createServer((inbound) => {
    const backend = backends[next++ % backends.length]!;
    const outbound = tcpConnect(backend.port, backend.host);
    inbound.pipe(outbound).pipe(inbound);
    const close = () => {
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on('error', close);
    outbound.on('error', close);
    inbound.on('close', close);
    outbound.on('close', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { target: { host: '127.0.0.1', port }, server };
}

export interface PostgresRun {
  readonly instances: number;
  readonly checkins: CheckinResult;
  /** One entry per server process. */
  readonly servers: readonly ServerStats[];
}

/** The server stats of several processes as one: CPU summed, memory per process at its peak. */
export function fleetCpuMsPerSession(run: PostgresRun): number {
  const cpu = run.servers.reduce((n, s) => n + s.cpuMs, 0);
  return run.checkins.totalSessions > 0 ? Math.round((cpu / run.checkins.totalSessions) * 1000) / 1000 : 0;
}

/** SQLite (one server) beside PostgreSQL (N servers): the same figures, one column each. */
export function formatSideBySide(
  sqlite: { checkins: CheckinResult; server: ServerStats } | undefined,
  run: PostgresRun,
): string {
  const sqliteCpu =
    sqlite && sqlite.checkins.totalSessions > 0
      ? Math.round((sqlite.server.cpuMs / sqlite.checkins.totalSessions) * 1000) / 1000
      : undefined;
  const rows: [string, string | number | undefined, string | number][] = [
    ['sessions/s', sqlite?.checkins.sessionsPerSec, run.checkins.sessionsPerSec],
    ['messages/s', sqlite?.checkins.messagesPerSec, run.checkins.messagesPerSec],
    ['failed sessions', sqlite?.checkins.failedSessions, run.checkins.failedSessions],
    ['message p50 ms', sqlite?.checkins.latency.p50Ms, run.checkins.latency.p50Ms],
    ['message p99 ms', sqlite?.checkins.latency.p99Ms, run.checkins.latency.p99Ms],
    ['session p99 ms', sqlite?.checkins.sessionLatency.p99Ms, run.checkins.sessionLatency.p99Ms],
    ['server CPU ms/session', sqliteCpu, fleetCpuMsPerSession(run)],
    ['server peak RSS MB', sqlite?.server.peakRssMb, run.servers.map((s) => s.peakRssMb).join(' + ')],
    ['SQL statements', sqlite?.server.statements, run.servers.reduce((n, s) => n + (s.statements ?? 0), 0)],
  ];
  const head = [
    '',
    'SQLite (1 server)',
    `PostgreSQL (${run.instances} server${run.instances > 1 ? 's' : ''})`,
  ];
  const cells = [head, ...rows.map(([k, a, b]) => [k, a === undefined ? '—' : String(a), String(b)])];
  const widths = head.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return ['Check-ins, proxy mode: SQLite beside PostgreSQL', ...cells.map(line)].join('\n');
}
