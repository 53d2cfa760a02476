// The benchmark's result: one JSON document (headline figures at the top level, details per mode),
// a console summary, and the SVG chart.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname } from 'node:path';
import type { EnrollResult, SignInResult } from './enroll-load.js';
import type { CheckinResult, HandshakeResult } from './load.js';
import type { ServerStats } from './server-process.js';
import { renderChart } from './svg.js';

/** Targets for the proxy (scale) deployment on a 2-core machine. */
export const TARGETS = {
  sessionsPerSec: 1500,
  p99Ms: 30,
  enrollPerSec: 500,
  rssMb: 300,
  /** Server CPU per session at most this many times the SQLite floor's (group commit), same run. */
  cpuVsFloorSqlite: 1.25,
} as const;

export interface ModeResult {
  readonly checkins: CheckinResult;
  readonly server: ServerStats;
  /** The server just after start (RSS before any load). */
  readonly atStart?: ServerStats;
  readonly enroll?: EnrollResult;
  readonly enrollServer?: ServerStats;
  readonly signIns?: SignInResult;
  readonly handshakes?: { readonly full: HandshakeResult; readonly resumed: HandshakeResult };
}

export interface BenchInputs {
  readonly devices: number;
  readonly pool: number;
  readonly concurrency: number;
  readonly seconds: number;
  readonly preload: { readonly issueMs: number; readonly insertMs: number };
  readonly dbBytesAfterPreload: number;
  readonly dbBytesAfterRun: number;
  readonly proxy?: ModeResult;
  readonly tls?: ModeResult;
  readonly floor?: CheckinResult;
  /** The floor with SQLite, group commit (the reference) and a commit per exchange. */
  readonly floorSqlite?: ModeResult;
  readonly floorSqliteSingle?: ModeResult;
  readonly loadavgBefore: readonly number[];
  readonly totalSeconds: number;
}

export interface TargetCheck {
  readonly target: number;
  readonly value: number;
  readonly met: boolean;
}

export interface BenchReport {
  readonly version: 1;
  readonly finishedAt: string;
  readonly devices: number;
  readonly pool: number;
  readonly concurrency: number;
  /** Headline figures: proxy mode (plain HTTP behind a TLS-terminating proxy). */
  readonly sessionsPerSec: number;
  readonly messagesPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly enrollPerSec: number;
  /** Peak server RSS over the proxy-mode check-in and enrollment runs. */
  readonly rssMb: number;
  readonly floorMessagesPerSec: number;
  readonly floorSessionsPerSec: number;
  /** The floor with SQLite (group commit): sessions/s and CPU per session, and the server's CPU over it. */
  readonly floorSqliteSessionsPerSec: number;
  readonly floorSqliteCpuMsPerSession: number;
  readonly floorSqliteSingleCpuMsPerSession: number;
  readonly cpuVsFloorSqlite: number;
  /** SQL statements the server ran per session (proxy mode), BEGIN/COMMIT included. */
  readonly statementsPerSession?: number;
  /** Database file (+ WAL) bytes per pre-loaded device, after the pre-load and after the runs. */
  readonly dbBytesPerDevice: number;
  readonly dbBytesPerDeviceAfterRun: number;
  readonly signInsPerSec?: number;
  /**
   * Server CPU time per check-in session (proxy mode, warm-up included): the figure least
   * disturbed by other load on a shared machine. Sessions/s on one free core ≈ 1000 / this.
   */
  readonly serverCpuMsPerSession: number;
  /** HTTPS with client certificates ending in Node. */
  readonly tls?: {
    readonly sessionsPerSec: number;
    readonly messagesPerSec: number;
    readonly p50Ms: number;
    readonly p99Ms: number;
    readonly rssMb: number;
    readonly serverCpuMsPerSession: number;
    readonly fullHandshakesPerSec: number;
    readonly resumedHandshakesPerSec: number;
    readonly sessionHandshakes: { readonly full: number; readonly resumed: number };
  };
  readonly targets: Readonly<Record<keyof typeof TARGETS, TargetCheck>>;
  readonly machine: {
    readonly cpus: number;
    readonly cpuModel: string;
    readonly node: string;
    readonly loadavgBefore: readonly number[];
    readonly loadavgAfter: readonly number[];
  };
  readonly preload: BenchInputs['preload'];
  readonly totalSeconds: number;
  readonly proxy?: ModeResult;
  readonly floor?: CheckinResult;
  readonly floorSqlite?: ModeResult;
  readonly floorSqliteSingle?: ModeResult;
  readonly tlsDetails?: ModeResult;
}

const r1 = (n: number) => Math.round(n * 10) / 10;

/** Server CPU per session of a run (warm-up included, as the CPU clock is). */
export function cpuMsPerSession(server: ServerStats, checkins: CheckinResult): number {
  return checkins.totalSessions > 0 ? Math.round((server.cpuMs / checkins.totalSessions) * 1000) / 1000 : 0;
}
const cpuPerSession = (m: ModeResult | undefined) => (m ? cpuMsPerSession(m.server, m.checkins) : 0);

export function buildReport(input: BenchInputs): BenchReport {
  const proxy = input.proxy;
  const tls = input.tls;
  const rssMb = proxy ? Math.max(proxy.server.peakRssMb, proxy.enrollServer?.peakRssMb ?? 0) : 0;
  const sessionsPerSec = proxy?.checkins.sessionsPerSec ?? 0;
  const p99Ms = proxy?.checkins.latency.p99Ms ?? 0;
  const enrollPerSec = proxy?.enroll?.enrollPerSec ?? 0;
  const floorCpu = cpuPerSession(input.floorSqlite);
  const cpuVsFloorSqlite = floorCpu > 0 ? Math.round((cpuPerSession(proxy) / floorCpu) * 100) / 100 : 0;
  const statements =
    proxy?.server.statements !== undefined && proxy.checkins.totalSessions > 0
      ? r1(proxy.server.statements / proxy.checkins.totalSessions)
      : undefined;
  const check = (target: number, value: number, atMost: boolean): TargetCheck => ({
    target,
    value,
    met: proxy !== undefined && (atMost ? value <= target : value >= target),
  });
  return {
    version: 1,
    finishedAt: new Date().toISOString(),
    devices: input.devices,
    pool: input.pool,
    concurrency: input.concurrency,
    sessionsPerSec,
    messagesPerSec: proxy?.checkins.messagesPerSec ?? 0,
    p50Ms: proxy?.checkins.latency.p50Ms ?? 0,
    p99Ms,
    enrollPerSec,
    rssMb,
    floorMessagesPerSec: input.floor?.messagesPerSec ?? 0,
    floorSessionsPerSec: input.floor?.sessionsPerSec ?? 0,
    floorSqliteSessionsPerSec: input.floorSqlite?.checkins.sessionsPerSec ?? 0,
    floorSqliteCpuMsPerSession: floorCpu,
    floorSqliteSingleCpuMsPerSession: cpuPerSession(input.floorSqliteSingle),
    cpuVsFloorSqlite,
    ...(statements !== undefined && { statementsPerSession: statements }),
    dbBytesPerDevice: Math.round(input.dbBytesAfterPreload / Math.max(1, input.devices)),
    dbBytesPerDeviceAfterRun: Math.round(input.dbBytesAfterRun / Math.max(1, input.devices)),
    ...(proxy?.signIns && { signInsPerSec: proxy.signIns.signInsPerSec }),
    serverCpuMsPerSession: cpuPerSession(proxy),
    ...(tls && {
      tls: {
        sessionsPerSec: tls.checkins.sessionsPerSec,
        messagesPerSec: tls.checkins.messagesPerSec,
        p50Ms: tls.checkins.latency.p50Ms,
        p99Ms: tls.checkins.latency.p99Ms,
        rssMb: tls.server.peakRssMb,
        serverCpuMsPerSession: cpuPerSession(tls),
        fullHandshakesPerSec: tls.handshakes?.full.handshakesPerSec ?? 0,
        resumedHandshakesPerSec: tls.handshakes?.resumed.handshakesPerSec ?? 0,
        sessionHandshakes: {
          full: tls.checkins.handshakes?.full ?? 0,
          resumed: tls.checkins.handshakes?.resumed ?? 0,
        },
      },
    }),
    targets: {
      sessionsPerSec: check(TARGETS.sessionsPerSec, sessionsPerSec, false),
      p99Ms: check(TARGETS.p99Ms, p99Ms, true),
      enrollPerSec: check(TARGETS.enrollPerSec, enrollPerSec, false),
      rssMb: check(TARGETS.rssMb, rssMb, true),
      cpuVsFloorSqlite: check(TARGETS.cpuVsFloorSqlite, cpuVsFloorSqlite, true),
    },
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      node: process.version,
      loadavgBefore: input.loadavgBefore.map(r1),
      loadavgAfter: loadavg().map(r1),
    },
    preload: { issueMs: Math.round(input.preload.issueMs), insertMs: Math.round(input.preload.insertMs) },
    totalSeconds: r1(input.totalSeconds),
    ...(proxy && { proxy }),
    ...(input.floor && { floor: input.floor }),
    ...(input.floorSqlite && { floorSqlite: input.floorSqlite }),
    ...(input.floorSqliteSingle && { floorSqliteSingle: input.floorSqliteSingle }),
    ...(tls && { tlsDetails: tls }),
  };
}

const mark = (c: TargetCheck) => (c.met ? 'ok' : 'MISSED');

export function formatReport(r: BenchReport): string {
  const lines: string[] = [];
  const push = (s = '') => lines.push(s);
  push(
    `Benchmark: ${r.devices.toLocaleString('en-US')} enrolled devices, ${r.pool} driven, ${r.concurrency} concurrent sessions`,
  );
  push(
    `Machine: ${r.machine.cpus} × ${r.machine.cpuModel}, Node ${r.machine.node}, load average before ${r.machine.loadavgBefore.join(' ')}`,
  );
  push(
    `Pre-load: ${r.preload.insertMs} ms for the database, ${r.preload.issueMs} ms issuing ${r.pool} certificates`,
  );
  if (r.proxy) {
    const c = r.proxy.checkins;
    push();
    push('Proxy mode (plain HTTP, client certificate in the trusted header):');
    push(
      `  sessions/s ${r.sessionsPerSec} [${mark(r.targets.sessionsPerSec)} ≥ ${TARGETS.sessionsPerSec}]   messages/s ${r.messagesPerSec}   ` +
        `(${c.messagesPerSession} messages/session, ${c.sessions} sessions, ${c.failedSessions} failed)`,
    );
    push(
      `  latency per message p50 ${r.p50Ms} ms  p99 ${r.p99Ms} ms [${mark(r.targets.p99Ms)} ≤ ${TARGETS.p99Ms}]  max ${c.latency.maxMs} ms`,
    );
    push(
      `  load generator: CPU ${c.clientCpuMs} ms (${Math.round((c.clientCpuMs / Math.max(1, c.totalSessions)) * 1000) / 1000} ms per session)`,
    );
    push(
      `  commands answered: ${
        Object.entries(c.commands)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ') || 'none'
      }`,
    );
    push(
      `  server: RSS peak ${r.rssMb} MB [${mark(r.targets.rssMb)} ≤ ${TARGETS.rssMb}] (at start ${r.proxy.atStart?.rssMb ?? '?'} MB, ` +
        `check-ins ${r.proxy.server.peakRssMb} MB, enrollments ${r.proxy.enrollServer?.peakRssMb ?? '-'} MB), CPU ${r.proxy.server.cpuMs} ms ` +
        `(${r.serverCpuMsPerSession} ms per session), ` +
        `event-loop delay p99 ${r.proxy.server.loopDelayP99Ms} ms max ${r.proxy.server.loopDelayMaxMs} ms`,
    );
    push(
      `  CPU per session vs the SQLite floor: ${r.cpuVsFloorSqlite}× [${mark(r.targets.cpuVsFloorSqlite)} ≤ ${TARGETS.cpuVsFloorSqlite}]` +
        (r.statementsPerSession !== undefined
          ? `   SQL statements per session: ${r.statementsPerSession}`
          : ''),
    );
    if (r.proxy.enroll) {
      const e = r.proxy.enroll;
      push(
        `  enrollments/s ${r.enrollPerSec} [${mark(r.targets.enrollPerSec)} ≥ ${TARGETS.enrollPerSec}]  ` +
          `(${e.enrollments} in ${e.windowSec} s, ${e.failed} failed, p50 ${e.latency.p50Ms} ms p99 ${e.latency.p99Ms} ms, ${e.verified} fully verified)`,
      );
    }
    if (r.proxy.signIns) push(`  password sign-ins/s (scrypt): ${r.proxy.signIns.signInsPerSec}`);
    const bySql = r.proxy.server.statementsBySql;
    if (bySql) {
      push('  SQL statements per session, by time (count per session, µs per session, text):');
      const n = Math.max(1, c.totalSessions);
      for (const st of bySql.slice(0, 25)) {
        push(
          `    ${(st.count / n).toFixed(2).padStart(6)} ${((st.ms * 1000) / n).toFixed(1).padStart(7)} µs  ${st.sql.replace(/\s+/g, ' ').slice(0, 100)}`,
        );
      }
    }
    for (const e of [...c.errors, ...(r.proxy.enroll?.errors ?? [])]) push(`  error: ${e}`);
  }
  if (r.floor) {
    push();
    push(
      `Floor (bare node:http replaying the same bytes): sessions/s ${r.floorSessionsPerSec}  messages/s ${r.floorMessagesPerSec}  ` +
        `p50 ${r.floor.latency.p50Ms} ms  p99 ${r.floor.latency.p99Ms} ms`,
    );
  }
  if (r.floorSqlite) {
    push(
      `Floor with SQLite (bare node:http, real parse, minimal writes): group commit ${r.floorSqliteSessionsPerSec} sessions/s, ` +
        `${r.floorSqliteCpuMsPerSession} ms CPU/session, p99 ${r.floorSqlite.checkins.latency.p99Ms} ms; ` +
        `a commit per exchange ${r.floorSqliteSingle?.checkins.sessionsPerSec ?? '-'} sessions/s, ${r.floorSqliteSingleCpuMsPerSession} ms CPU/session`,
    );
  }
  if (r.tls && r.tlsDetails) {
    const c = r.tlsDetails.checkins;
    push();
    push('TLS mode (HTTPS, client certificate ending in Node, session resumption on):');
    push(
      `  sessions/s ${r.tls.sessionsPerSec}   messages/s ${r.tls.messagesPerSec}   p50 ${r.tls.p50Ms} ms  p99 ${r.tls.p99Ms} ms  ` +
        `(${c.sessions} sessions, ${c.failedSessions} failed; handshakes ${r.tls.sessionHandshakes.full} full, ${r.tls.sessionHandshakes.resumed} resumed)`,
    );
    push(
      `  handshakes/s: full ${r.tls.fullHandshakesPerSec}, resumed ${r.tls.resumedHandshakesPerSec}   server RSS peak ${r.tls.rssMb} MB, ` +
        `CPU ${r.tlsDetails.server.cpuMs} ms (${r.tls.serverCpuMsPerSession} ms per session)`,
    );
    for (const e of c.errors) push(`  error: ${e}`);
  }
  push();
  push(
    `Database: ${r.dbBytesPerDevice} bytes per device after the pre-load, ${r.dbBytesPerDeviceAfterRun} after the runs. Total ${r.totalSeconds} s.`,
  );
  return lines.join('\n');
}

/** Writes the JSON and, next to it, the SVG chart; returns the SVG path. */
export function writeResults(report: BenchReport, jsonPath: string): string {
  mkdirSync(dirname(jsonPath), { recursive: true });
  writeFileSync(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
  const svgPath = jsonPath.replace(/\.json$/i, '') + '.svg';
  const series = [
    r('proxy', '#1f77b4', report.proxy?.checkins.timeline),
    r('TLS', '#d62728', report.tlsDetails?.checkins.timeline),
    r('floor', '#2ca02c', report.floor?.timeline),
    r('floor with SQLite', '#9467bd', report.floorSqlite?.checkins.timeline),
  ].filter((s) => s.points.length > 0);
  writeFileSync(
    svgPath,
    renderChart({
      title: `Check-ins: ${report.devices.toLocaleString('en-US')} devices, ${report.concurrency} concurrent sessions (${report.finishedAt})`,
      series,
      latencyTargetMs: TARGETS.p99Ms,
      rateTarget: TARGETS.sessionsPerSec,
    }),
  );
  return svgPath;

  function r(label: string, color: string, points: CheckinResult['timeline'] | undefined) {
    return { label, color, points: points ?? [] };
  }
}
