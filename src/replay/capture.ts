// Recording served sessions as replayable fixtures (config `captureDir`, off by default). The HTTP
// layer calls `recordExchange` once per request/response pair; exchanges are grouped into one
// fixture per device's run of SyncML sessions (DeviceID, until `idleMs` of silence) or per
// enrollment (client address, from the discovery probe to the RST). Secrets are redacted before
// anything touches the disk. Recording never throws into the request path: failures go to `onError`.
//
// Only authenticated exchanges reach the disk. What comes before authentication in a real flow
// (the discovery probe and Discover, a DIGEST challenge) is held in memory, a few exchanges per
// client, and written only when the same client then authenticates; anything else is counted and
// dropped. Each fixture is capped (`maxFixtureBytes`: a full fixture is closed and the device's
// next exchange starts a new one), and so is the whole folder (`maxTotalBytes`: the oldest
// fixtures are removed). What was not captured is counted in `capture-skipped.json`.
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExchangeListener } from '../simulator/device.js';
import { FixtureWriter, MANIFEST_FILE } from './fixture.js';
import { REDACTED, redactBody, redactHeaders, redactPath } from './redact.js';

export interface CapturedExchange {
  readonly request: {
    readonly method: string;
    /** Path and query. */
    readonly path: string;
    readonly headers: Readonly<Record<string, string | string[] | undefined>>;
    readonly body: string;
  };
  readonly response: {
    readonly status: number;
    readonly headers: Readonly<Record<string, string | string[] | number | undefined>>;
    readonly body: string;
  };
  readonly remoteAddress?: string;
  /** DeviceID authenticated by the transport (client certificate), when known. */
  readonly deviceId?: string;
  /** Did the server authenticate the client in this exchange? Unauthenticated ones are held back. */
  readonly authenticated: boolean;
}

export interface CaptureOptions {
  readonly dir: string;
  /** The server's public base URL, stored in each manifest. */
  readonly server?: string;
  /** A fixture with no traffic for this long is closed (default 10 minutes). */
  readonly idleMs?: number;
  /** Largest fixture on disk (default unlimited). */
  readonly maxFixtureBytes?: number;
  /** Largest total of the fixtures in `dir`; the oldest are removed beyond it (default unlimited). */
  readonly maxTotalBytes?: number;
  readonly onError?: (err: Error) => void;
  /** Told about every exchange that is not written (for the log). */
  readonly onSkip?: (reason: SkipReason, exchange: CapturedExchange) => void;
  readonly now?: () => Date;
  /** Who produced the requests (default: a server capture of real clients). */
  readonly origin?: 'server-capture' | 'simulator';
}

/** Why an exchange was not written. */
export const SKIP_REASONS = {
  unauthenticated: 'no authenticated exchange of the same client followed',
  oversized: 'the exchange alone is larger than the fixture cap',
} as const;
export type SkipReason = keyof typeof SKIP_REASONS;

export interface CaptureStats {
  /** Exchanges written. */
  readonly captured: number;
  /** Exchanges not written, by reason. */
  readonly skipped: Readonly<Record<SkipReason, number>>;
  /** Fixtures removed to keep the folder under its cap. */
  readonly removedFixtures: number;
}

export interface CaptureRecorder {
  recordExchange(exchange: CapturedExchange): void;
  /** Folders written so far. */
  readonly folders: readonly string[];
  stats(): CaptureStats;
}

/** The counter file in the capture folder (kept across restarts). */
export const SKIPPED_FILE = 'capture-skipped.json';

/** Held-back exchanges: per client, clients at once. */
const PENDING_PER_CLIENT = 4;
const PENDING_CLIENTS = 64;

interface OpenFixture {
  readonly writer: FixtureWriter;
  lastSeen: number;
  sawDiscover: boolean;
}

interface Pending {
  readonly exchanges: CapturedExchange[];
  bytes: number;
  lastSeen: number;
}

const SESSION_RE = /<SessionID>([^<]*)<\/SessionID>/;
const SOURCE_RE = /<SyncHdr>[\s\S]*?<Source>\s*<LocURI>([^<]*)<\/LocURI>/;
const USER_RE = /<(?:[\w-]+:)?(?:Username|EmailAddress)>([^<]*)</;
const CONTEXT_DEVICE_RE = /Name="DeviceID"\s*>\s*<(?:[\w-]+:)?Value>([^<]*)</;
/** Folders this recorder writes: `<UTC stamp>-<name>`. Only such folders are ever removed. */
const FIXTURE_DIR_RE = /^\d{8}T\d{6}Z-/;

const safe = (s: string) => s.replace(/[^A-Za-z0-9._@-]+/g, '_').slice(0, 64) || 'unknown';
const exchangeBytes = (x: CapturedExchange) =>
  Buffer.byteLength(x.request.body) + Buffer.byteLength(x.response.body);
const isSyncMl = (x: CapturedExchange) =>
  x.request.path.startsWith('/ManagementServer/') || SESSION_RE.test(x.request.body);
const isDiscover = (x: CapturedExchange) => x.request.body.includes('IDiscoveryService/Discover<');
/** The discovery availability probe (a GET of the sign-in page is part of the same enrollment). */
const isProbe = (x: CapturedExchange) =>
  x.request.method === 'GET' && x.request.path.startsWith('/EnrollmentServer/Discovery.svc');

function folderBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? folderBytes(path) : statSync(path).size;
  }
  return total;
}

export function createCaptureRecorder(options: CaptureOptions): CaptureRecorder {
  const open = new Map<string, OpenFixture>();
  const pending = new Map<string, Pending>();
  const folders: string[] = [];
  const idleMs = options.idleMs ?? 10 * 60_000;
  const maxFixtureBytes = options.maxFixtureBytes ?? Number.POSITIVE_INFINITY;
  const maxTotalBytes = options.maxTotalBytes ?? Number.POSITIVE_INFINITY;
  const now = options.now ?? (() => new Date());
  const counters = loadCounters(options.dir);
  let captured = 0;

  // Fixture folders on disk, oldest first (names start with their UTC stamp), with their sizes.
  const onDisk = new Map<string, number>();
  if (existsSync(options.dir)) {
    for (const name of readdirSync(options.dir).sort()) {
      const dir = join(options.dir, name);
      if (FIXTURE_DIR_RE.test(name) && existsSync(join(dir, MANIFEST_FILE)))
        onDisk.set(dir, folderBytes(dir));
    }
  }
  const totalBytes = () => [...onDisk.values()].reduce((a, b) => a + b, 0);

  const start = (name: string, kind: 'syncml' | 'enrollment'): OpenFixture => {
    const stamp = now()
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z');
    let dir = join(options.dir, `${stamp}-${name}`);
    for (let n = 2; existsSync(dir); n++) dir = join(options.dir, `${stamp}-${name}-${n}`);
    folders.push(dir);
    return {
      writer: new FixtureWriter(dir, {
        name: `${stamp}-${name}`,
        kind,
        origin: options.origin ?? 'server-capture',
        recordedAt: now().toISOString(),
        server: options.server,
      }),
      lastSeen: Date.now(),
      sawDiscover: false,
    };
  };

  const skip = (reason: SkipReason, x: CapturedExchange) => {
    counters.add(reason);
    options.onSkip?.(reason, x);
  };

  const sweep = () => {
    const cutoff = Date.now() - idleMs;
    for (const [key, f] of open) if (f.lastSeen < cutoff) open.delete(key);
    for (const [key, p] of pending) {
      if (p.lastSeen >= cutoff) continue;
      pending.delete(key);
      for (const x of p.exchanges) skip('unauthenticated', x);
    }
  };

  /** Removes the oldest fixtures until the folder is under its cap (never the one just written). */
  const rotate = (current: string) => {
    let total = totalBytes();
    for (const [dir, bytes] of onDisk) {
      if (total <= maxTotalBytes) break;
      if (dir === current) continue;
      rmSync(dir, { recursive: true, force: true });
      onDisk.delete(dir);
      total -= bytes;
      counters.removed();
      for (const [key, f] of open) if (f.writer.dir === dir) open.delete(key);
    }
  };

  /** The fixture an exchange belongs to: grouping by device (SyncML) or client (enrollment). */
  const fixtureFor = (x: CapturedExchange): OpenFixture => {
    if (isSyncMl(x)) {
      const deviceId = x.deviceId ?? SOURCE_RE.exec(x.request.body)?.[1] ?? 'unknown';
      // All sessions of a device go into one fixture until it goes quiet: a replay on a fresh
      // server then sees the same history (first-session inventory, queued commands' progress).
      const key = `syncml\u0000${deviceId}`;
      let fixture = open.get(key);
      if (!fixture || fixture.writer.bytes + exchangeBytes(x) > maxFixtureBytes)
        fixture = start(`syncml-${safe(deviceId)}`, 'syncml');
      open.set(key, fixture);
      fixture.writer.identify({ deviceId });
      return fixture;
    }
    const key = `enroll\u0000${x.remoteAddress ?? ''}`;
    const discover = isDiscover(x);
    let fixture = open.get(key);
    if (
      !fixture ||
      isProbe(x) ||
      (discover && fixture.sawDiscover) ||
      fixture.writer.bytes + exchangeBytes(x) > maxFixtureBytes
    ) {
      fixture = start(`enrollment-${safe(x.remoteAddress ?? 'client')}`, 'enrollment');
      open.set(key, fixture);
    }
    if (discover) fixture.sawDiscover = true;
    const user = USER_RE.exec(x.request.body)?.[1];
    if (user) fixture.writer.identify({ user: { email: user, password: REDACTED } });
    const deviceId = CONTEXT_DEVICE_RE.exec(x.request.body)?.[1];
    if (deviceId) fixture.writer.identify({ deviceId });
    return fixture;
  };

  const write = (x: CapturedExchange) => {
    if (exchangeBytes(x) > maxFixtureBytes) {
      skip('oversized', x);
      return;
    }
    const fixture = fixtureFor(x);
    fixture.lastSeen = Date.now();
    fixture.writer.append({
      request: {
        method: x.request.method === 'GET' ? 'GET' : 'POST',
        path: redactPath(x.request.path),
        headers: redactHeaders(x.request.headers),
        body: redactBody(x.request.body),
      },
      response: {
        status: x.response.status,
        headers: redactHeaders(x.response.headers),
        body: redactBody(x.response.body),
      },
    });
    captured++;
    onDisk.delete(fixture.writer.dir); // re-inserted last: the newest
    onDisk.set(fixture.writer.dir, fixture.writer.bytes);
    if (totalBytes() > maxTotalBytes) rotate(fixture.writer.dir);
  };

  /** Who the client is before authentication: the DeviceID it claims, or its address. */
  const clientKey = (x: CapturedExchange) =>
    isSyncMl(x)
      ? `syncml\u0000${x.deviceId ?? SOURCE_RE.exec(x.request.body)?.[1] ?? ''}`
      : `enroll\u0000${x.remoteAddress ?? ''}`;

  const hold = (x: CapturedExchange) => {
    const key = clientKey(x);
    const size = exchangeBytes(x);
    let held = pending.get(key);
    // A discovery probe (or a second Discover) starts an enrollment: what the client sent before
    // is not part of it.
    if (held && !isSyncMl(x) && (isProbe(x) || (isDiscover(x) && held.exchanges.some(isDiscover)))) {
      pending.delete(key);
      for (const old of held.exchanges) skip('unauthenticated', old);
      held = undefined;
    }
    if (!held) {
      if (pending.size >= PENDING_CLIENTS) {
        const [oldestKey, oldest] = pending.entries().next().value as [string, Pending];
        pending.delete(oldestKey);
        for (const old of oldest.exchanges) skip('unauthenticated', old);
      }
      held = { exchanges: [], bytes: 0, lastSeen: Date.now() };
      pending.set(key, held);
    }
    held.exchanges.push(x);
    held.bytes += size;
    held.lastSeen = Date.now();
    while (held.exchanges.length > PENDING_PER_CLIENT || held.bytes > maxFixtureBytes) {
      const dropped = held.exchanges.shift()!;
      held.bytes -= exchangeBytes(dropped);
      skip('unauthenticated', dropped);
    }
  };

  const record = (x: CapturedExchange) => {
    sweep();
    if (!x.authenticated) {
      hold(x);
      return;
    }
    const key = clientKey(x);
    const held = pending.get(key);
    pending.delete(key);
    // SyncML: only the held messages of this very session (a DIGEST challenge) belong with it.
    const session = isSyncMl(x) ? SESSION_RE.exec(x.request.body)?.[1] : undefined;
    for (const earlier of held?.exchanges ?? []) {
      if (session === undefined || SESSION_RE.exec(earlier.request.body)?.[1] === session) write(earlier);
      else skip('unauthenticated', earlier);
    }
    write(x);
  };

  return {
    recordExchange(x) {
      try {
        record(x);
      } catch (err) {
        options.onError?.(err as Error);
      }
    },
    folders,
    stats: () => ({ captured, skipped: counters.skipped(), removedFixtures: counters.removedFixtures() }),
  };
}

/**
 * The counters of `capture-skipped.json`, continued from the file, and written back at most once
 * a second (off the request path, on an unref'd timer).
 */
function loadCounters(dir: string) {
  const file = join(dir, SKIPPED_FILE);
  const counts: Record<SkipReason, number> = { unauthenticated: 0, oversized: 0 };
  let removedFixtures = 0;
  let since = new Date().toISOString();
  try {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as Partial<{
      skipped: Record<string, unknown>;
      removedFixtures: unknown;
      since: unknown;
    }>;
    for (const reason of Object.keys(counts) as SkipReason[]) {
      const n = saved.skipped?.[reason];
      if (typeof n === 'number' && Number.isSafeInteger(n) && n >= 0) counts[reason] = n;
    }
    if (typeof saved.removedFixtures === 'number' && Number.isSafeInteger(saved.removedFixtures))
      removedFixtures = saved.removedFixtures;
    if (typeof saved.since === 'string') since = saved.since;
  } catch {
    // No file yet (or unreadable): start from zero.
  }
  let scheduled = false;
  const save = () => {
    if (scheduled) return;
    scheduled = true;
    setTimeout(() => {
      scheduled = false;
      try {
        const body = { since, updatedAt: new Date().toISOString(), skipped: counts, removedFixtures };
        writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`);
      } catch {
        // The folder may be gone; the counters stay in memory.
      }
    }, 1000).unref();
  };
  return {
    add(reason: SkipReason) {
      counts[reason]++;
      save();
    },
    removed() {
      removedFixtures++;
      save();
    },
    skipped: () => ({ ...counts }),
    removedFixtures: () => removedFixtures,
  };
}

/** Records a virtual device's own traffic (`mdm simulate --record`, simulator fixtures). */
export function deviceRecorder(capture: CaptureRecorder, clientName: string): ExchangeListener {
  return ({ request, response }) => {
    const url = new URL(request.url);
    capture.recordExchange({
      request: {
        method: request.method,
        path: `${url.pathname}${url.search}`,
        headers: request.headers,
        body: request.body,
      },
      response,
      remoteAddress: clientName,
      // The simulator records its own traffic: every exchange is kept.
      authenticated: true,
    });
  };
}
