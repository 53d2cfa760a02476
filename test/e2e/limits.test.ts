// Listener limits over real sockets: a body that stops arriving or trickles forever, a chunked
// body never finished, headers never finished, and too many concurrent connections from one
// address. Each is cut off with the protocol's error or a closed socket, and the server keeps
// serving afterwards. (No timing is asserted: each case waits for the outcome.)
import net from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverMessage, faultOf, request } from '../support/enroll-client.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { wellFormedError } from '../support/strict-xml.js';

/** Short timeouts so the cases end quickly; nothing below depends on their exact values. */
const TIMEOUTS = { requestTimeoutSeconds: 3, bodyTimeoutSeconds: 1 } as const;

/** A raw connection to the server (TLS when the server speaks HTTPS). */
function connect(server: TestServer): Promise<net.Socket> {
  const { hostname, port, protocol } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const socket =
      protocol === 'https:'
        ? tls.connect({ host: hostname, port: Number(port), rejectUnauthorized: false }, () =>
            resolve(socket),
          )
        : net.connect({ host: hostname, port: Number(port) }, () => resolve(socket));
    socket.once('error', reject);
  });
}

interface Outcome {
  /** Everything the server sent before it closed the connection. */
  readonly received: string;
  readonly status: number | undefined;
  readonly body: string;
}

/** Waits until the server closes the connection; `trickle` keeps writing one byte at a time meanwhile. */
function untilClosed(socket: net.Socket, trickle?: { readonly everyMs: number }): Promise<Outcome> {
  return new Promise((resolve) => {
    let received = '';
    const timer = trickle
      ? setInterval(() => {
          if (!socket.destroyed && socket.writable) socket.write('a');
        }, trickle.everyMs)
      : undefined;
    socket.on('data', (d: Buffer) => {
      received += d.toString('utf8');
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(timer);
      const status = /^HTTP\/1\.1 (\d{3})/.exec(received)?.[1];
      const split = received.indexOf('\r\n\r\n');
      resolve({
        received,
        status: status === undefined ? undefined : Number(status),
        body: split === -1 ? '' : received.slice(split + 4),
      });
    });
  });
}

const head = (path: string, headers: Record<string, string | number>) =>
  `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;

describe.each([
  ['HTTPS', { tls: true }],
  ['plain HTTP behind a proxy', { tls: false }],
] as const)('request timeouts (%s)', (_name, mode) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ ...TIMEOUTS, tls: mode.tls });
  });
  afterAll(() => server?.close());

  it('a SOAP body that stops arriving gets a SOAP fault with HTTP 408, then the connection closes', async () => {
    const socket = await connect(server);
    const body = discoverMessage({ to: `${server.url}/EnrollmentServer/Discovery.svc`, email: 'a@b.c' });
    socket.write(
      head('/EnrollmentServer/Discovery.svc', {
        'Content-Type': 'application/soap+xml; charset=utf-8',
        'Content-Length': Buffer.byteLength(body),
      }) + body.slice(0, 100),
    );
    const out = await untilClosed(socket);
    expect(out.status).toBe(408);
    const xml = out.body.slice(out.body.indexOf('<'));
    expect(wellFormedError(xml)).toBeUndefined();
    expect(faultOf(xml)).toMatchObject({
      subcode: 's:MessageFormat',
      reason: 'request body did not arrive in time',
    });
  });

  it('a chunked OMA-DM body never finished gets HTTP 408 and a closed connection', async () => {
    const socket = await connect(server);
    socket.write(
      `${head('/ManagementServer/MDM.svc', {
        'Content-Type': 'application/vnd.syncml.dm+xml',
        'Transfer-Encoding': 'chunked',
      })}a\r\n<SyncML xm\r\n`,
    );
    const out = await untilClosed(socket);
    expect(out.status).toBe(408);
  });

  it('a sign-in form that stops arriving gets the page with HTTP 408', async () => {
    const socket = await connect(server);
    socket.write(
      `${head('/EnrollmentServer/Auth', {
        'Content-Type': 'application/x-www-form-urlencoded',
        'Content-Length': 500,
      })}appru=ms-app`,
    );
    const out = await untilClosed(socket);
    expect(out.status).toBe(408);
    expect(out.received).toMatch(/content-type: text\/html/i);
  });

  it('a body trickled forever, each byte within the idle timeout, is cut off by the request timeout', async () => {
    const socket = await connect(server);
    socket.write(
      head('/EnrollmentServer/Discovery.svc', {
        'Content-Type': 'application/soap+xml; charset=utf-8',
        'Content-Length': 1_000_000,
      }),
    );
    const out = await untilClosed(socket, { everyMs: 200 });
    expect(out.status).toBe(408);
  });

  it('headers never finished are cut off', async () => {
    const socket = await connect(server);
    socket.write('POST /EnrollmentServer/Discovery.svc HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
    const out = await untilClosed(socket);
    expect(out.status === 408 || out.received === '').toBe(true);
  });

  it('keeps serving afterwards', async () => {
    const probe = await request(`${server.url}/EnrollmentServer/Discovery.svc`);
    expect(probe.status).toBe(200);
  });
});

describe('concurrent connections per client address', () => {
  const MAX = 3;
  let server: TestServer;
  let proxied: TestServer;
  beforeAll(async () => {
    // 127.0.0.1 is a trusted proxy by default, and trusted proxies are not counted.
    server = await startTestServer({ maxConnectionsPerClient: MAX, trustedProxies: ['192.0.2.10'] });
    proxied = await startTestServer({ maxConnectionsPerClient: 1, trustedProxies: ['127.0.0.1'] });
  });
  afterAll(async () => {
    await server?.close();
    await proxied?.close();
  });

  const rawConnect = (s: TestServer) =>
    new Promise<net.Socket>((resolve, reject) => {
      const { hostname, port } = new URL(s.url);
      const socket = net.connect({ host: hostname, port: Number(port) }, () => resolve(socket));
      socket.once('error', reject);
    });

  it('refuses the (N+1)th connection from one address, and serves again once they close', async () => {
    const held: net.Socket[] = [];
    for (let i = 0; i < MAX; i++) held.push(await rawConnect(server));
    const extra = await rawConnect(server);
    const refused = await untilClosed(extra);
    expect(refused.received).toBe('');
    expect(held.every((s) => !s.destroyed)).toBe(true);

    const closing = held.map((s) => new Promise((r) => s.once('close', r)));
    for (const s of held) s.destroy();
    await Promise.all(closing);
    // The server counts a connection until it has seen it close: retry until it has.
    let status = 0;
    for (let attempt = 0; attempt < 50 && status !== 200; attempt++) {
      status = await request(`${server.url}/EnrollmentServer/Discovery.svc`).then(
        (r) => r.status,
        () => 0,
      );
      if (status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(200);
  });

  it('does not count a trusted proxy', async () => {
    const held = [await rawConnect(proxied), await rawConnect(proxied), await rawConnect(proxied)];
    const probe = await request(`${proxied.url}/EnrollmentServer/Discovery.svc`);
    expect(probe.status).toBe(200);
    expect(held.every((s) => !s.destroyed)).toBe(true);
    for (const s of held) s.destroy();
  });
});
