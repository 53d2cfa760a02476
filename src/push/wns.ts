// Windows Push Notification Services client, as Microsoft documents it for device management
// (https://learn.microsoft.com/windows/client-management/push-notification-windows-mdm, and
// https://learn.microsoft.com/windows/apps/design/shell/tiles-and-notifications/windows-push-notification-services--wns--overview):
//  - access token: POST the token URL (default https://login.live.com/accesstoken.srf),
//    `application/x-www-form-urlencoded` body `grant_type=client_credentials&client_id=<Package
//    SID>&client_secret=<secret>&scope=notify.windows.com` → JSON `access_token`, `token_type`,
//    `expires_in`; kept until it expires and fetched again once when WNS answers 401;
//  - raw notification: POST the channel URI with `Authorization: Bearer <token>`, `Content-Type:
//    application/octet-stream`, `X-WNS-Type: wns/raw`; WNS answers 200 (accepted), 401 (token
//    expired or invalid), 403, 404 (channel not valid), 406 (throttled), 410 (channel expired), 413.
// Redirects are never followed; the channel URI must have passed `checkChannelUri` first.

import { parseWnsTokenAnswer, WNS_TOKEN_CONTENT_TYPE, wnsTokenRequestBody } from '../codec/wns-token.js';
import { type HttpExchangeAnswer, HttpExchangeError, httpExchange } from '../shared/http-exchange.js';
import type { PushResult } from '../storage/push.js';
import { type ChannelCheck, guardedLookup } from './channel.js';

export interface WnsClientOptions {
  readonly tokenUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Extra trust anchors (PEM) for the token endpoint and channels (a local stand-in). */
  readonly ca?: string | readonly string[];
  readonly timeoutMs?: number;
  readonly now?: () => number;
}

export interface WnsAnswer {
  readonly result: PushResult;
  readonly httpStatus?: number;
  readonly error?: string;
}

const MAX_ANSWER_BYTES = 64 * 1024;
/** A token is renewed this long before WNS says it expires. */
const TOKEN_MARGIN_MS = 60_000;
/** The notification body; the DM client ignores it and starts a session. */
const RAW_PAYLOAD = Buffer.from('sync', 'utf8');

interface PostOptions {
  readonly ca?: string | readonly string[];
  readonly timeoutMs: number;
  readonly allowInternal: boolean;
}

function post(url: URL, headers: Record<string, string>, body: Buffer, options: PostOptions) {
  return httpExchange(url, {
    method: 'POST',
    headers,
    body,
    ...(options.ca && { ca: options.ca }),
    lookup: guardedLookup(options.allowInternal) as never,
    timeoutMs: options.timeoutMs,
    maxAnswerBytes: MAX_ANSWER_BYTES,
  });
}

const RESULT_BY_STATUS: Readonly<Record<number, PushResult>> = {
  200: 'ok',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  406: 'not_acceptable',
  410: 'gone',
  413: 'too_large',
};

export class WnsClient {
  private token: { value: string; expiresAt: number } | undefined;
  private pending: Promise<string> | undefined;
  private readonly now: () => number;
  private readonly timeoutMs: number;
  /** Tokens fetched (for tests and logs). */
  tokensFetched = 0;

  constructor(private readonly options: WnsClientOptions) {
    this.now = options.now ?? Date.now;
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** A cached token, or a new one (one request at a time however many pushes wait for it). */
  async accessToken(refresh = false): Promise<string> {
    if (refresh) this.token = undefined;
    if (this.token && this.now() < this.token.expiresAt) return this.token.value;
    this.pending ??= this.fetchToken().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async fetchToken(): Promise<string> {
    const body = wnsTokenRequestBody(this.options.clientId, this.options.clientSecret);
    const answer = await post(
      new URL(this.options.tokenUrl),
      { 'Content-Type': WNS_TOKEN_CONTENT_TYPE, Accept: 'application/json' },
      Buffer.from(body, 'utf8'),
      { ...(this.options.ca && { ca: this.options.ca }), timeoutMs: this.timeoutMs, allowInternal: true },
    );
    const doc = parseWnsTokenAnswer(answer.status, answer.body.toString('utf8'));
    if (!doc.ok) throw new HttpExchangeError(doc.error);
    const lifetimeMs = doc.expiresInSeconds ? doc.expiresInSeconds * 1000 : 3600_000;
    this.tokensFetched++;
    this.token = {
      value: doc.accessToken,
      expiresAt: this.now() + Math.max(lifetimeMs - TOKEN_MARGIN_MS, lifetimeMs / 2),
    };
    return doc.accessToken;
  }

  /** Sends one raw notification to a checked channel; never throws. */
  async notify(channel: Extract<ChannelCheck, { ok: true }>): Promise<WnsAnswer> {
    let token: string;
    try {
      token = await this.accessToken();
    } catch (err) {
      return { result: 'token_failed', error: (err as Error).message };
    }
    try {
      let answer = await this.send(channel, token);
      if (answer.status === 401) {
        // The token expired or was revoked: one fresh token, one more try.
        try {
          token = await this.accessToken(true);
        } catch (err) {
          return { result: 'token_failed', httpStatus: 401, error: (err as Error).message };
        }
        answer = await this.send(channel, token);
      }
      const result = RESULT_BY_STATUS[answer.status] ?? 'http_error';
      if (result === 'ok') return { result, httpStatus: 200 };
      const why = [answer.headers['x-wns-error-description'], answer.headers['x-wns-notificationstatus']]
        .flat()
        .filter((x): x is string => typeof x === 'string' && x !== '')
        .map((x) => x.slice(0, 200))
        .join('; ');
      const redirect = answer.status >= 300 && answer.status < 400 ? 'redirect not followed' : '';
      return {
        result,
        httpStatus: answer.status,
        ...((why || redirect) && { error: [redirect, why].filter(Boolean).join('; ') }),
      };
    } catch (err) {
      return { result: 'network', error: (err as Error).message };
    }
  }

  private send(channel: Extract<ChannelCheck, { ok: true }>, token: string): Promise<HttpExchangeAnswer> {
    return post(
      channel.url,
      {
        Authorization: `Bearer ${token}`,
        'Content-Type': 'application/octet-stream',
        'X-WNS-Type': 'wns/raw',
        // WNS keeps the notification while the device is offline.
        'X-WNS-Cache-Policy': 'cache',
      },
      RAW_PAYLOAD,
      {
        ...(this.options.ca && { ca: this.options.ca }),
        timeoutMs: this.timeoutMs,
        allowInternal: channel.exact,
      },
    );
  }
}
