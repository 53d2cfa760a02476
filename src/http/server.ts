// The listener: HTTPS that requests (does not require) a client certificate, so management and
// renewal can check it per request (docs/protocol-notes.md#device-certificates), with TLS session resumption (a full mutual-TLS
// handshake costs more CPU than a whole OMA-DM session); or plain HTTP behind a TLS-terminating
// proxy (`tls: false`). Slow or endless requests and connection floods are bounded (`ListenLimits`).
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Config } from '../config.js';

export type RequestHandler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export interface ListenOptions {
  readonly host: string;
  readonly port: number;
  /** Server certificate and key (PEM); omitted = plain HTTP. */
  readonly tls?: { readonly cert: string; readonly key: string };
  /** CA certificates (PEM) advertised in the TLS CertificateRequest, so Windows offers its device certificate. */
  readonly clientCaPem?: readonly string[];
  readonly limits?: ListenLimits;
}

export interface ListenLimits {
  /** A whole request (headers and body) must arrive within this time; then 408 and close. */
  readonly requestTimeoutMs: number;
  /** The headers (and, with TLS, the handshake) must arrive within this time; ≤ requestTimeoutMs. */
  readonly headersTimeoutMs: number;
  /** Concurrent connections per client address; the next one is closed at once. */
  readonly maxConnectionsPerClient: number;
  /** Addresses never counted (trusted TLS-terminating proxies carry many clients). */
  readonly uncountedAddresses: readonly string[];
}

/** The listener limits of a configuration (README "Limits"). */
export function listenLimits(config: Config): ListenLimits {
  const requestTimeoutMs = config.requestTimeoutSeconds * 1000;
  return {
    requestTimeoutMs,
    headersTimeoutMs: Math.min(requestTimeoutMs, config.bodyTimeoutSeconds * 1000),
    maxConnectionsPerClient: config.maxConnectionsPerClient,
    uncountedAddresses: config.trustedProxies,
  };
}

/** Node's defaults where no limits are given (tools that embed the listener). */
const DEFAULT_LIMITS: ListenLimits = {
  requestTimeoutMs: 300_000,
  headersTimeoutMs: 60_000,
  maxConnectionsPerClient: Number.POSITIVE_INFINITY,
  uncountedAddresses: [],
};

/** `::ffff:127.0.0.1` → `127.0.0.1`, so one client is one key whichever way it connected. */
const clientKey = (address: string | undefined) =>
  address?.startsWith('::ffff:') ? address.slice(7) : (address ?? '');

export interface Listener {
  readonly server: http.Server | https.Server;
  readonly port: number;
  readonly protocol: 'https' | 'http';
  close(): Promise<void>;
}

/** Starts listening; requests go to `handler()` (looked up per request, so the app can be set after binding). */
export async function listen(options: ListenOptions, handler: () => RequestHandler): Promise<Listener> {
  const onRequest: RequestHandler = (req, res) => handler()(req, res);
  const limits = options.limits ?? DEFAULT_LIMITS;
  const timeouts: http.ServerOptions = {
    requestTimeout: limits.requestTimeoutMs,
    headersTimeout: limits.headersTimeoutMs,
    // Node checks both timeouts on this interval (default 30 s): keep it a fraction of them.
    connectionsCheckingInterval: Math.max(250, Math.min(5_000, Math.floor(limits.headersTimeoutMs / 4))),
  };
  const server = options.tls
    ? https.createServer(
        {
          ...timeouts,
          handshakeTimeout: limits.headersTimeoutMs,
          cert: options.tls.cert,
          key: options.tls.key,
          ca: options.clientCaPem ? [...options.clientCaPem] : undefined,
          requestCert: true,
          rejectUnauthorized: false,
          // Session resumption with client certificates needs a session id context.
          sessionIdContext: 'windows-mdm',
          sessionTimeout: 3600,
          minVersion: 'TLSv1.2',
        },
        onRequest,
      )
    : http.createServer(timeouts, onRequest);
  server.keepAliveTimeout = 65_000;
  limitConnectionsPerClient(server, limits);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    protocol: options.tls ? 'https' : 'http',
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * Counts open TCP connections per client address ('connection' is the raw socket, before TLS) and
 * closes any beyond the cap at once, before a byte is read. Trusted proxies are not counted: they
 * carry many clients, and limit each one themselves.
 */
function limitConnectionsPerClient(server: http.Server, limits: ListenLimits): void {
  if (!Number.isFinite(limits.maxConnectionsPerClient)) return;
  const uncounted = new Set(limits.uncountedAddresses.map(clientKey));
  const open = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const key = clientKey(socket.remoteAddress);
    if (uncounted.has(key)) return;
    const count = (open.get(key) ?? 0) + 1;
    if (count > limits.maxConnectionsPerClient) {
      socket.destroy();
      return;
    }
    open.set(key, count);
    socket.once('close', () => {
      const left = (open.get(key) ?? 1) - 1;
      if (left > 0) open.set(key, left);
      else open.delete(key);
    });
  });
}
