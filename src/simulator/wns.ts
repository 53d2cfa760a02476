// A local stand-in for Windows Push Notification Services, for tests and the simulator: an HTTPS
// listener with the two endpoints a device-management server talks to, answering as Microsoft
// documents them (https://learn.microsoft.com/windows/apps/design/shell/tiles-and-notifications/windows-push-notification-services--wns--overview):
//  - `POST /accesstoken.srf` (the Live token endpoint): `application/x-www-form-urlencoded`,
//    `grant_type=client_credentials`, `client_id`, `client_secret`, `scope=notify.windows.com` →
//    200 JSON `{ token_type: "bearer", access_token, expires_in }`, 400 for a bad request, 401 for
//    wrong credentials;
//  - `POST /d/<channel>` (a channel URI): `Authorization: Bearer <token>`, `X-WNS-Type: wns/raw`,
//    `Content-Type: application/octet-stream` → 200 and the device is woken; 401 for a missing,
//    unknown or expired token; 400 for a bad header; 404 for an unknown channel; 410 for an expired
//    one; 413 over 5000 bytes.
// It also implements the device side of registration (`WnsRegistrar`): a device asks for a channel
// for a PFN and is told when a notification for it arrives.
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { generate } from 'selfsigned';
import type { WnsRegistrar } from './device.js';

export interface WnsNotification {
  readonly channel: string;
  readonly deviceId: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  readonly at: Date;
}

export interface WnsStandInOptions {
  /** The Package SID and secret the server must present. */
  readonly clientId: string;
  readonly clientSecret: string;
  /** The PFN devices may register for (others fail registration). */
  readonly pfn: string;
  /** `expires_in` of issued tokens (default 86400, as WNS). */
  readonly tokenLifetimeSeconds?: number;
  /** A device's notification arrived (wake it: start a session). */
  readonly onNotify?: (n: WnsNotification) => void;
}

interface Channel {
  readonly deviceId: string;
  gone: boolean;
}

export class WnsStandIn implements WnsRegistrar {
  /** PEM of the listener's self-signed certificate: trust it in the server's WNS client. */
  cert = '';
  url = '';
  readonly tokenRequests: { clientId: string; ok: boolean }[] = [];
  readonly notifications: WnsNotification[] = [];
  /** Every channel request, with the status answered. */
  readonly channelRequests: { channel: string; status: number }[] = [];
  private server: Server | undefined;
  private readonly tokens = new Map<string, { expiresAt: number }>();
  private readonly channels = new Map<string, Channel>();
  private readonly scripted: number[] = [];
  private readonly listeners: ((n: WnsNotification) => void)[] = [];

  constructor(private readonly options: WnsStandInOptions) {
    if (options.onNotify) this.listeners.push(options.onNotify);
  }

  get tokenUrl(): string {
    return `${this.url}/accesstoken.srf`;
  }

  /** host:port of the listener (for `MDM_WNS_CHANNEL_HOSTS`). */
  get hostPort(): string {
    return new URL(this.url).host;
  }

  async start(): Promise<this> {
    const pems = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
      keySize: 2048,
      algorithm: 'sha256',
      extensions: [
        { name: 'basicConstraints', cA: false },
        {
          name: 'subjectAltName',
          altNames: [
            { type: 7, ip: '127.0.0.1' },
            { type: 2, value: 'localhost' },
          ],
        },
      ],
    });
    this.cert = pems.cert;
    const server = createServer({ cert: pems.cert, key: pems.private }, (req, res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= 64 * 1024) chunks.push(c);
      });
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
        const path = (req.url ?? '').split('?')[0]!;
        const answer =
          req.method !== 'POST'
            ? { status: 405 }
            : path === '/accesstoken.srf'
              ? this.token(headers, body)
              : path.startsWith('/d/')
                ? this.notify(decodeURIComponent(path.slice(3)), headers, body, size)
                : { status: 404 };
        if (answer.status === 0) {
          req.socket.destroy();
          return;
        }
        const text = 'json' in answer ? JSON.stringify(answer.json) : '';
        res.writeHead(answer.status, {
          ...('json' in answer && { 'Content-Type': 'application/json' }),
          ...('error' in answer && answer.error && { 'X-WNS-Error-Description': answer.error }),
          'Content-Length': Buffer.byteLength(text),
        });
        res.end(text);
      });
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Also call `fn` for every delivered notification. */
  onNotify(fn: (n: WnsNotification) => void): void {
    this.listeners.push(fn);
  }

  channelFor(pfn: string, deviceId: string): string | undefined {
    if (pfn !== this.options.pfn || !this.url) return undefined;
    const id = randomBytes(12).toString('base64url');
    this.channels.set(id, { deviceId, gone: false });
    return `${this.url}/d/${id}`;
  }

  /** Every issued token stops working (WNS answers 401 until the server fetches a new one). */
  expireTokens(): void {
    this.tokens.clear();
  }

  /** The channel expired: WNS answers 410 for it from now on. */
  expireChannel(uri: string): void {
    const id = decodeURIComponent(new URL(uri).pathname.slice(3));
    const c = this.channels.get(id);
    if (c) c.gone = true;
  }

  /** The next channel requests get these statuses (e.g. 406 throttled, 500; 0 = connection reset). */
  answerNext(...statuses: number[]): void {
    this.scripted.push(...statuses);
  }

  private token(headers: Record<string, string>, body: Buffer) {
    if (!headers['content-type']?.startsWith('application/x-www-form-urlencoded'))
      return { status: 400, json: { error: 'invalid_request' } };
    const form = new URLSearchParams(body.toString('utf8'));
    const clientId = form.get('client_id') ?? '';
    if (form.get('grant_type') !== 'client_credentials' || form.get('scope') !== 'notify.windows.com') {
      this.tokenRequests.push({ clientId, ok: false });
      return { status: 400, json: { error: 'invalid_request' } };
    }
    if (clientId !== this.options.clientId || form.get('client_secret') !== this.options.clientSecret) {
      this.tokenRequests.push({ clientId, ok: false });
      return { status: 401, json: { error: 'invalid_client' } };
    }
    this.tokenRequests.push({ clientId, ok: true });
    const lifetime = this.options.tokenLifetimeSeconds ?? 86_400;
    const accessToken = randomBytes(24).toString('base64');
    this.tokens.set(accessToken, { expiresAt: Date.now() + lifetime * 1000 });
    return { status: 200, json: { token_type: 'bearer', access_token: accessToken, expires_in: lifetime } };
  }

  private notify(id: string, headers: Record<string, string>, body: Buffer, size: number) {
    const status = this.channelStatus(id, headers, size);
    this.channelRequests.push({ channel: id, status: status.status });
    if (status.status === 200) {
      const n: WnsNotification = {
        channel: id,
        deviceId: this.channels.get(id)!.deviceId,
        headers,
        body,
        at: new Date(),
      };
      this.notifications.push(n);
      // Delivered to the device after the answer, as WNS does.
      setImmediate(() => {
        for (const fn of this.listeners) fn(n);
      });
    }
    return status;
  }

  private channelStatus(
    id: string,
    headers: Record<string, string>,
    size: number,
  ): { status: number; error?: string } {
    const auth = /^Bearer (\S+)$/.exec(headers.authorization ?? '');
    const token = auth && this.tokens.get(auth[1]!);
    if (!token || token.expiresAt <= Date.now()) return { status: 401, error: 'Token expired or invalid' };
    if (headers['x-wns-type'] !== 'wns/raw' || headers['content-type'] !== 'application/octet-stream')
      return { status: 400, error: 'raw notifications need X-WNS-Type wns/raw and application/octet-stream' };
    const scripted = this.scripted.shift();
    if (scripted !== undefined) return { status: scripted };
    const channel = this.channels.get(id);
    if (!channel) return { status: 404, error: 'channel not found' };
    if (channel.gone) return { status: 410, error: 'channel expired' };
    if (size > 5000) return { status: 413 };
    return { status: 200 };
  }
}
