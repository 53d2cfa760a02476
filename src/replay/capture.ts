// Recording served sessions as replayable fixtures (config `captureDir`, off by default). The HTTP
// layer calls `recordExchange` once per request/response pair; exchanges are grouped into one
// fixture per device's run of SyncML sessions (DeviceID, until `idleMs` of silence) or per
// enrollment (client address, from the discovery probe to the RST). Secrets are redacted before anything touches the disk. Recording
// never throws into the request path: failures go to `onError`.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ExchangeListener } from '../simulator/device.js';
import { FixtureWriter } from './fixture.js';
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
}

export interface CaptureOptions {
  readonly dir: string;
  /** The server's public base URL, stored in each manifest. */
  readonly server?: string;
  /** A fixture with no traffic for this long is closed (default 10 minutes). */
  readonly idleMs?: number;
  readonly onError?: (err: Error) => void;
  readonly now?: () => Date;
  /** Who produced the requests (default: a server capture of real clients). */
  readonly origin?: 'server-capture' | 'simulator';
}

export interface CaptureRecorder {
  recordExchange(exchange: CapturedExchange): void;
  /** Folders written so far. */
  readonly folders: readonly string[];
}

interface OpenFixture {
  readonly writer: FixtureWriter;
  lastSeen: number;
  sawDiscover: boolean;
}

const SESSION_RE = /<SessionID>([^<]*)<\/SessionID>/;
const SOURCE_RE = /<SyncHdr>[\s\S]*?<Source>\s*<LocURI>([^<]*)<\/LocURI>/;
const USER_RE = /<(?:[\w-]+:)?(?:Username|EmailAddress)>([^<]*)</;
const CONTEXT_DEVICE_RE = /Name="DeviceID"\s*>\s*<(?:[\w-]+:)?Value>([^<]*)</;

const safe = (s: string) => s.replace(/[^A-Za-z0-9._@-]+/g, '_').slice(0, 64) || 'unknown';

export function createCaptureRecorder(options: CaptureOptions): CaptureRecorder {
  const open = new Map<string, OpenFixture>();
  const folders: string[] = [];
  const idleMs = options.idleMs ?? 10 * 60_000;
  const now = options.now ?? (() => new Date());

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

  const sweep = () => {
    const cutoff = Date.now() - idleMs;
    for (const [key, f] of open) if (f.lastSeen < cutoff) open.delete(key);
  };

  const record = (x: CapturedExchange) => {
    sweep();
    const isSyncMl = x.request.path.startsWith('/ManagementServer/') || SESSION_RE.test(x.request.body);
    let fixture: OpenFixture;
    if (isSyncMl) {
      const deviceId = x.deviceId ?? SOURCE_RE.exec(x.request.body)?.[1] ?? 'unknown';
      // All sessions of a device go into one fixture until it goes quiet: a replay on a fresh
      // server then sees the same history (first-session inventory, queued commands' progress).
      const key = `syncml\u0000${deviceId}`;
      fixture = open.get(key) ?? start(`syncml-${safe(deviceId)}`, 'syncml');
      open.set(key, fixture);
      fixture.writer.identify({ deviceId });
    } else {
      const key = `enroll\u0000${x.remoteAddress ?? ''}`;
      const isProbe = x.request.method === 'GET';
      const isDiscover = x.request.body.includes('IDiscoveryService/Discover<');
      let current = open.get(key);
      if (!current || isProbe || (isDiscover && current.sawDiscover)) {
        current = start(`enrollment-${safe(x.remoteAddress ?? 'client')}`, 'enrollment');
        open.set(key, current);
      }
      fixture = current;
      if (isDiscover) fixture.sawDiscover = true;
      const user = USER_RE.exec(x.request.body)?.[1];
      if (user) fixture.writer.identify({ user: { email: user, password: REDACTED } });
      const deviceId = CONTEXT_DEVICE_RE.exec(x.request.body)?.[1];
      if (deviceId) fixture.writer.identify({ deviceId });
    }
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
    });
  };
}
