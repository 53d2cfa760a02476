// The load generator's jobs: OMA-DM check-in sessions (proxy, TLS or floor), TLS handshakes, and
// enrollments. Runs inside bench/load-generator.ts (a separate process in the real benchmark) or
// in-process in the bench smoke test.
import type { TLSSocket } from 'node:tls';
import { answerServerMessage, type BenchDevice, packageOne, scanServerMessage } from './checkin.js';
import type { FloorReplies } from './floor-server.js';
import { type Connection, connect } from './http-client.js';
import { LatencyRecorder, type LatencySummary, summarize, type TimelinePoint } from './stats.js';

export interface Target {
  readonly host: string;
  readonly port: number;
}

export const SYNCML_HEADERS =
  'content-type: application/vnd.syncml.dm+xml\r\naccept: application/vnd.syncml.dm+xml\r\n' +
  'user-agent: MSFT OMA DM Client/1.2.0.1\r\n';

export interface CheckinJob {
  readonly kind: 'checkins';
  readonly target: Target;
  /** proxy: plain HTTP + certificate header; tls: HTTPS with the device certificate; floor: plain HTTP. */
  readonly mode: 'proxy' | 'tls' | 'floor';
  /** Request path, e.g. `/ManagementServer/MDM.svc?mode=Maintenance&Platform=WoA`. */
  readonly path: string;
  /** Target LocURI of the device's messages (the server URL). */
  readonly serverUrl: string;
  /** Proxy mode: header carrying the device certificate. */
  readonly certHeader?: string;
  /** TLS mode: key of the pool certificates and the server's TLS certificate. */
  readonly tls?: { readonly keyPem: string; readonly caPem?: string };
  readonly devices: readonly BenchDevice[];
  readonly concurrency: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  /** Stop after this many completed sessions (smoke tests); default unlimited. */
  readonly maxSessions?: number;
  /** Keep the server's replies of one session (the floor server replays them). */
  readonly record?: boolean;
}

export interface CheckinResult {
  readonly mode: CheckinJob['mode'];
  /** Completed sessions inside the measured window. */
  readonly sessions: number;
  readonly failedSessions: number;
  /** HTTP exchanges (client message + server reply) inside the window. */
  readonly messages: number;
  readonly windowSec: number;
  readonly sessionsPerSec: number;
  readonly messagesPerSec: number;
  /** Per-message latency (request written → reply read). */
  readonly latency: LatencySummary;
  readonly sessionLatency: LatencySummary;
  readonly timeline: TimelinePoint[];
  /** Server commands answered, by verb (Get, Replace, …), over the whole run. */
  readonly commands: Record<string, number>;
  /** Sessions (whole run, warm-up included) and how many carried commands. */
  readonly totalSessions: number;
  readonly sessionsWithCommands: number;
  readonly messagesPerSession: number;
  readonly errors: string[];
  /** CPU the load generator itself used over the whole run (its share of the machine). */
  readonly clientCpuMs: number;
  /** TLS mode: handshakes done while running sessions. */
  readonly handshakes?: { readonly full: number; readonly resumed: number; readonly latency: LatencySummary };
  readonly recorded?: FloorReplies;
}

const MAX_MESSAGES_PER_SESSION = 20;
const cpuOf = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;

/**
 * TLS session tickets per device, kept across jobs in this process: a device resumes the TLS
 * session of its previous check-in, as Windows does between polls (tickets live an hour).
 */
const tlsTickets = new Map<string, Buffer>();

/** Drives full OMA-DM sessions with `concurrency` workers for warm-up + `seconds`. */
export async function runCheckins(job: CheckinJob): Promise<CheckinResult> {
  const recorder = new LatencyRecorder();
  const sessionTimes: number[] = [];
  const commands: Record<string, number> = {};
  const errors: string[] = [];
  const sessionCounters = new Map<string, number>();
  const tlsSessions = tlsTickets;
  const handshakeMs: number[] = [];
  let full = 0;
  let resumed = 0;
  let failed = 0;
  let totalSessions = 0;
  let withCommands = 0;
  let inWindowMessages = 0;
  let cursor = 0;
  let recorded: FloorReplies | undefined;
  const busy = new Set<string>();
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  const windowStart = start + job.warmupSeconds * 1000;
  const end = windowStart + job.seconds * 1000;
  const sinceWindow = (t: number) => (t - windowStart) / 1000;
  let started = 0;
  const done = () =>
    performance.now() >= end || (job.maxSessions !== undefined && started >= job.maxSessions);
  const headerName = job.certHeader?.toLowerCase();

  const pickDevice = (): BenchDevice | undefined => {
    for (let tries = 0; tries < job.devices.length; tries++) {
      const d = job.devices[cursor++ % job.devices.length]!;
      if (!busy.has(d.deviceId)) return d;
    }
    return undefined;
  };

  async function openTls(d: BenchDevice): Promise<Connection> {
    const t0 = performance.now();
    const conn = await connect({
      ...job.target,
      tls: {
        cert: d.certPem,
        key: job.tls?.keyPem,
        ca: job.tls?.caPem,
        rejectUnauthorized: job.tls?.caPem !== undefined,
        checkServerIdentity: () => undefined,
        session: tlsSessions.get(d.deviceId),
      },
    });
    handshakeMs.push(performance.now() - t0);
    const socket = conn.socket as TLSSocket;
    if (socket.isSessionReused()) resumed++;
    else full++;
    socket.on('session', (s: Buffer) => tlsSessions.set(d.deviceId, s));
    return conn;
  }

  async function session(conn: Connection, d: BenchDevice): Promise<void> {
    const n = (sessionCounters.get(d.deviceId) ?? 0) + 1;
    sessionCounters.set(d.deviceId, n);
    const sessionId = n.toString(16).toUpperCase();
    const headers =
      job.mode === 'proxy' && headerName && d.certHeader
        ? `${SYNCML_HEADERS}${headerName}: ${d.certHeader}\r\n`
        : SYNCML_HEADERS;
    const sessionStart = performance.now();
    let xml = packageOne(d, job.serverUrl, sessionId);
    let path = job.path;
    const replies: string[] = [];
    let carried = false;
    for (let clientMsgId = 1; ; clientMsgId++) {
      if (clientMsgId > MAX_MESSAGES_PER_SESSION) throw new Error('session did not end');
      const t0 = performance.now();
      const res = await conn.request('POST', path, headers, xml);
      const t1 = performance.now();
      if (t1 >= windowStart && t1 < end) {
        recorder.record(t1 - t0, sinceWindow(t1));
        inWindowMessages++;
      }
      if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${res.body.slice(0, 200)}`);
      if (job.record) replies.push(res.body);
      const msg = scanServerMessage(res.body);
      if (job.mode !== 'floor' && msg.hdrStatus !== '200' && msg.hdrStatus !== '212') {
        throw new Error(`server answered the SyncHdr with ${msg.hdrStatus}`);
      }
      const reply = answerServerMessage(d, job.serverUrl, msg, clientMsgId + 1);
      if (!reply) break;
      if (msg.respUri) {
        const next = new URL(msg.respUri, `http://${job.target.host}`);
        path = `${next.pathname}${next.search}`;
      }
      carried = true;
      const count = (cs: typeof msg.commands) => {
        for (const c of cs) {
          commands[c.name] = (commands[c.name] ?? 0) + 1;
          if (c.commands) count(c.commands);
        }
      };
      count(msg.commands);
      xml = reply.xml;
    }
    const finished = performance.now();
    totalSessions++;
    if (carried) withCommands++;
    if (finished >= windowStart && finished < end) {
      recorder.complete(sinceWindow(finished));
      sessionTimes.push(finished - sessionStart);
    }
    if (job.record && !recorded && replies.length >= 2)
      recorded = { first: replies[0]!, next: replies[replies.length - 1]! };
  }

  async function worker(): Promise<void> {
    let conn: Connection | undefined;
    while (!done()) {
      const d = pickDevice();
      if (!d) {
        await new Promise((r) => setTimeout(r, 1));
        continue;
      }
      busy.add(d.deviceId);
      started++;
      try {
        if (job.mode === 'tls') conn = await openTls(d);
        else conn ??= await connect(job.target);
        await session(conn, d);
      } catch (err) {
        failed++;
        if (errors.length < 5) errors.push(`${d.deviceId}: ${(err as Error).message}`);
        conn?.close();
        conn = undefined;
      } finally {
        busy.delete(d.deviceId);
        if (job.mode === 'tls') {
          conn?.close();
          conn = undefined;
        }
      }
    }
    conn?.close();
  }

  await Promise.all(Array.from({ length: job.concurrency }, () => worker()));
  const windowSec = Math.max(0.001, (Math.min(performance.now(), end) - windowStart) / 1000);
  const latency = recorder.summary();
  const sessions = sessionTimes.length;
  return {
    mode: job.mode,
    sessions,
    failedSessions: failed,
    messages: inWindowMessages,
    windowSec: Math.round(windowSec * 100) / 100,
    sessionsPerSec: Math.round(sessions / windowSec),
    messagesPerSec: Math.round(inWindowMessages / windowSec),
    latency,
    sessionLatency: summarize(sessionTimes),
    timeline: recorder.timeline(windowSec),
    commands,
    totalSessions,
    sessionsWithCommands: withCommands,
    messagesPerSession: sessions > 0 ? Math.round((inWindowMessages / sessions) * 100) / 100 : 0,
    errors,
    clientCpuMs: Math.round(cpuOf(process.cpuUsage(cpuStart))),
    ...(job.mode === 'tls' && { handshakes: { full, resumed, latency: summarize(handshakeMs) } }),
    ...(recorded && { recorded }),
  };
}

export interface HandshakeJob {
  readonly kind: 'handshakes';
  readonly target: Target;
  readonly tls: { readonly keyPem: string; readonly caPem?: string };
  readonly devices: readonly BenchDevice[];
  readonly concurrency: number;
  readonly seconds: number;
  /** Offer the session ticket of the device's previous connection. */
  readonly resume: boolean;
}

export interface HandshakeResult {
  readonly resume: boolean;
  readonly handshakes: number;
  readonly full: number;
  readonly resumed: number;
  readonly handshakesPerSec: number;
  readonly latency: LatencySummary;
  readonly errors: string[];
}

/** Mutual-TLS handshakes only (connect, wait for the session ticket, close). */
export async function runHandshakes(job: HandshakeJob): Promise<HandshakeResult> {
  const tickets = tlsTickets;
  const times: number[] = [];
  const errors: string[] = [];
  let full = 0;
  let resumed = 0;
  let cursor = 0;

  const handshake = async (d: BenchDevice, measure: boolean) => {
    const t0 = performance.now();
    const conn = await connect({
      ...job.target,
      tls: {
        cert: d.certPem,
        key: job.tls.keyPem,
        ca: job.tls.caPem,
        rejectUnauthorized: job.tls.caPem !== undefined,
        checkServerIdentity: () => undefined,
        ...(job.resume && { session: tickets.get(d.deviceId) }),
      },
    });
    const socket = conn.socket as TLSSocket;
    if (measure) {
      times.push(performance.now() - t0);
      if (socket.isSessionReused()) resumed++;
      else full++;
    }
    if (!socket.isSessionReused()) {
      // A full handshake: keep the ticket (TLS 1.3 sends it just after the handshake) for the
      // device's next connection. A resumed connection keeps using the ticket it resumed with.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 200);
        socket.once('session', (s: Buffer) => {
          tickets.set(d.deviceId, s);
          clearTimeout(timer);
          resolve();
        });
      });
    }
    conn.close();
  };

  // Full handshakes walk the whole pool (leaving each device a ticket, like an earlier check-in);
  // resumed ones reuse a few hundred devices that hold a ticket.
  const devices = job.resume
    ? job.devices.slice(0, Math.max(job.concurrency * 4, Math.min(job.devices.length, 500)))
    : job.devices;
  const unprimed = job.resume ? devices.filter((d) => !tickets.has(d.deviceId)) : [];
  if (unprimed.length > 0) {
    for (let i = 0; i < unprimed.length; i += job.concurrency) {
      await Promise.all(
        unprimed.slice(i, i + job.concurrency).map((d) => handshake(d, false).catch(() => undefined)),
      );
    }
  }
  const start = performance.now();
  const end = start + job.seconds * 1000;
  await Promise.all(
    Array.from({ length: job.concurrency }, async () => {
      while (performance.now() < end) {
        const d = devices[cursor++ % devices.length]!;
        try {
          await handshake(d, true);
        } catch (err) {
          if (errors.length < 5) errors.push((err as Error).message);
        }
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  return {
    resume: job.resume,
    handshakes: times.length,
    full,
    resumed,
    handshakesPerSec: Math.round(times.length / elapsed),
    latency: summarize(times),
    errors,
  };
}
