// One OMA-DM session from the device's side (docs/protocol-notes.md#package-1, #server-replies, #end-of-session, #large-objects, #generic-alerts): package 1 (Alert 1201,
// Alert 1224 LoginStatus, pending generic alerts, DevInfo Replace), then answer each server message
// with a Status for its SyncHdr, a Status per command, Results per Get, until the server sends a
// message without commands. Handles MD5 DIGEST challenges (§7.4), multi-message packages and large
// objects in both directions (§7.9), server aborts (1223) and the faults in `faults.ts`.
import type { CatalogLookup } from '../catalog/types.js';
import {
  ALERT,
  ALERT_TYPE,
  AUTH_TYPE,
  isSuccessStatus,
  STATUS,
  SYNCML_CONTENT_TYPE,
} from '../codec/syncml/codes.js';
import { computeMd5Digest } from '../codec/syncml/digest.js';
import { applyCommand, type CommandOutcome, type DeviceEffect } from './apply.js';
import type { AppCspHooks } from './apps.js';
import { type ClientKind, STRICT_MAX_MSG_SIZE } from './client.js';
import type { DmTree } from './dm-tree.js';
import { type FaultPlan, pathMatcher, sleep } from './faults.js';
import { devInfo, type SimulatedProfile } from './profile.js';
import type { Transport } from './transport.js';
import {
  type AlertItem,
  type ClientHeader,
  encodeAlert,
  encodeDevInfoReplace,
  encodeMessage,
  encodeResults,
  encodeStatus,
  parseServerMessage,
  type ResultsItemOut,
  type ServerCommand,
  type ServerItem,
  type ServerMessage,
} from './wire.js';

/** SyncML DIGEST credentials from the provisioning doc's APPSRV APPAUTH (docs/protocol-notes.md#provisioning-document, #digest-authentication). */
export interface DigestCredentials {
  readonly name: string;
  readonly secret: string;
  /** Current nonce, base64 (AAUTHDATA, then each NextNonce the server hands out). */
  nonce: string;
}

export interface PendingAlert {
  readonly code: number;
  readonly items: readonly AlertItem[];
}

export interface SessionInput {
  readonly profile: SimulatedProfile;
  readonly tree: DmTree;
  readonly catalog: CatalogLookup;
  readonly transport: Transport;
  /** ADDR from the provisioning doc. */
  readonly serverUrl: string;
  /** Session number; becomes the SessionID (Windows counts 1, 2, …). */
  readonly sessionNumber: number;
  /** EntDMID, echoed in Client-Request-Id (docs/protocol-notes.md#provisioning-document); `0` when none. */
  readonly entDmId?: string;
  /** Present for DIGEST auth; absent when the TLS client certificate authenticates. */
  readonly digest?: DigestCredentials;
  /** Generic alerts to report in package 1 (e.g. 1226 unenroll). */
  readonly alerts?: readonly PendingAlert[];
  readonly faults?: FaultPlan;
  /** Largest message the device sends, and announces when `announceMaxMsgSize` (bytes). */
  readonly maxMsgSize?: number;
  readonly announceMaxMsgSize?: boolean;
  /** Session alert: 1201 client-initiated (default) or 1200 server-initiated. */
  readonly sessionAlert?: 1200 | 1201;
  /** Which DM client to behave like (client.ts); default `windows`. */
  readonly client?: ClientKind;
  /** The device's application CSPs (apps.ts). */
  readonly apps?: AppCspHooks;
  /** `UserAgentOrigin` header (MS-MDM 3.1.7.2): why the session started; sent when set. */
  readonly userAgentOrigin?: string;
}

export interface SessionReport {
  readonly sessionId: string;
  readonly ok: boolean;
  readonly error?: string;
  /** HTTP exchanges in this session. */
  readonly messages: number;
  /** Every command outcome the device reported (inner commands of Atomic/Sequence included). */
  readonly outcomes: readonly CommandOutcome[];
  readonly effects: readonly DeviceEffect[];
  /** The server ended the session with Alert 1223. */
  readonly aborted: boolean;
}

type Pending =
  | {
      readonly kind: 'status';
      readonly msgRef: string;
      readonly cmdRef: string;
      readonly cmd: string;
      readonly data: number;
      readonly targetRef?: string;
    }
  | {
      readonly kind: 'results';
      readonly msgRef: string;
      readonly cmdRef: string;
      readonly items: readonly ResultsItemOut[];
      /** The first item's earlier chunks (with Meta Size) were already sent. */
      readonly continued?: boolean;
    }
  | { readonly kind: 'alert'; readonly code: number; readonly items?: readonly AlertItem[] }
  /** The DevInfo Replace of package 1 (as a queued element: strict clients, client.ts). */
  | { readonly kind: 'devinfo' };

const DEFAULT_MAX_MSG_SIZE = 512 * 1024;
const MAX_MESSAGES = 500;
/** Smallest room worth starting a large-object chunk in. */
const MIN_CHUNK_ROOM = 400;

export const REQUEST_HEADERS = {
  'content-type': SYNCML_CONTENT_TYPE,
  accept: 'application/vnd.syncml.dm+xml, application/vnd.syncml.dm+wbxml, application/octet-stream',
  'accept-charset': 'UTF-8',
  'user-agent': 'MSFT OMA DM Client/1.2.0.1',
} as const;

/** The Cred digest for a base64 nonce (docs/protocol-notes.md#digest-authentication). */
export function md5Digest(name: string, secret: string, nonceB64: string): string {
  return computeMd5Digest(name, secret, Buffer.from(nonceB64, 'base64'));
}

export async function runSession(input: SessionInput): Promise<SessionReport> {
  const s = new DeviceSession(input);
  return s.run();
}

class DeviceSession {
  private readonly sessionId: string;
  private msgId = 0;
  private messages = 0;
  private authenticated = false;
  private authAttempts = 0;
  private readonly outcomes: CommandOutcome[] = [];
  private readonly effects: DeviceEffect[] = [];
  private readonly queue: Pending[] = [];
  /** A server large object being received: the command and the data so far (§7.9). */
  private chunk: { cmd: ServerCommand; item: ServerItem; data: string } | undefined;
  private readonly failsAt: ((path: string) => boolean) | undefined;
  private readonly maxMsgSize: number;
  private serverMaxMsgSize = Number.POSITIVE_INFINITY;
  private readonly targetLocUri: string;
  /** Where the next message goes: ADDR, then the server's RespURI once it names one (§7.3). */
  private postUrl: string;
  /** Behave like a plain OMA-DM 1.2 client (libdmclient) instead of Windows (client.ts). */
  private readonly strict: boolean;
  private readonly announceMaxMsgSize: boolean;
  /** Alerts and the DevInfo Replace of the last message, by CmdID: what a strict client can re-send. */
  private sentElements = new Map<string, Pending>();

  constructor(private readonly input: SessionInput) {
    this.sessionId = input.sessionNumber.toString(16).toUpperCase();
    this.failsAt = pathMatcher(input.faults?.failPaths);
    this.strict = input.client === 'strict-omadm';
    this.maxMsgSize = input.maxMsgSize ?? (this.strict ? STRICT_MAX_MSG_SIZE : DEFAULT_MAX_MSG_SIZE);
    this.announceMaxMsgSize = input.announceMaxMsgSize ?? this.strict;
    this.targetLocUri = input.serverUrl.split('?')[0]!;
    this.postUrl = input.serverUrl;
  }

  async run(): Promise<SessionReport> {
    try {
      let body = this.packageOne();
      for (;;) {
        if (this.messages >= MAX_MESSAGES) return this.report(false, `more than ${MAX_MESSAGES} messages`);
        const reply = await this.exchange(body);
        if (reply === undefined) return this.report(true);
        const next = this.respond(reply);
        if (next === 'again') {
          body = this.packageOne();
          continue;
        }
        if (next === 'abort') return this.report(true, undefined, true);
        if (next === 'unauthenticated') {
          return this.report(
            false,
            'authentication challenged, but the server answered none of the commands 401/407: nothing to re-send',
          );
        }
        if (next === undefined) return this.report(true);
        body = next;
      }
    } catch (err) {
      return this.report(false, (err as Error).message);
    }
  }

  /** Package 1 (docs/protocol-notes.md#package-1); also re-sent after a DIGEST challenge. */
  private packageOne(): string {
    const { profile } = this.input;
    if (this.strict) {
      // Session alert, then DevInfo, CmdIDs from 1; no Microsoft LoginStatus alert (client.ts).
      this.queue.push({ kind: 'alert', code: this.input.sessionAlert ?? ALERT.CLIENT_INITIATED_MGMT });
      for (const a of this.input.alerts ?? [])
        this.queue.push({ kind: 'alert', code: a.code, items: a.items });
      this.queue.push({ kind: 'devinfo' });
      return this.fill(undefined);
    }
    let cmdId = 2;
    const body = [encodeAlert(cmdId++, this.input.sessionAlert ?? ALERT.CLIENT_INITIATED_MGMT)];
    body.push(
      encodeAlert(cmdId++, ALERT.CLIENT_EVENT, [
        { type: ALERT_TYPE.LOGIN_STATUS, data: profile.loginStatus },
      ]),
    );
    for (const alert of this.input.alerts ?? []) body.push(encodeAlert(cmdId++, alert.code, alert.items));
    body.push(encodeDevInfoReplace(cmdId++, devInfo(profile)));
    return this.message(body, true);
  }

  private message(body: readonly string[], final: boolean): string {
    this.msgId++;
    const digest = this.input.digest;
    const cred =
      digest && !this.authenticated ? md5Digest(digest.name, digest.secret, digest.nonce) : undefined;
    return encodeMessage(this.header(this.msgId, cred), body, final);
  }

  /** SyncHdr fields; Cred until the server answered 212 (docs/protocol-notes.md#digest-authentication). */
  private header(msgId: number, credData: string | undefined): ClientHeader {
    return {
      sessionId: this.sessionId,
      msgId,
      target: this.targetLocUri,
      source: this.input.profile.deviceId,
      cred: credData === undefined ? undefined : { type: AUTH_TYPE.MD5, data: credData },
      maxMsgSize: this.announceMaxMsgSize ? this.maxMsgSize : undefined,
    };
  }

  /** Bytes of the next message around its commands (SyncHdr, closing tags, Final). */
  private envelopeSize(): number {
    const cred = this.input.digest && !this.authenticated ? 'x'.repeat(24) : undefined;
    return Buffer.byteLength(encodeMessage(this.header(this.msgId + 1, cred), [], true));
  }

  private async exchange(body: string): Promise<ServerMessage | undefined> {
    const faults = this.input.faults;
    this.messages++;
    if (faults?.delayMs && this.messages > 1) await sleep(faults.delayMs);
    const drop =
      faults?.dropAtMessage === this.messages && (faults.dropInSession?.(this.input.sessionNumber) ?? true);
    const response = await this.input.transport.send(
      {
        method: 'POST',
        url: this.postUrl,
        headers: {
          ...REQUEST_HEADERS,
          'client-request-id': this.input.entDmId ?? '0',
          ...(this.input.userAgentOrigin !== undefined && { useragentorigin: this.input.userAgentOrigin }),
        },
        body,
      },
      { drop },
    );
    if (response.status !== 200) throw new Error(`server answered HTTP ${response.status}`);
    // An empty 200 ends the session (seen from a proof-of-concept server, docs/protocol-notes.md#end-of-session).
    if (response.body.trim() === '') return undefined;
    return parseServerMessage(response.body);
  }

  /**
   * Work out the reply to a server message: a body, `again` (re-send package 1), `abort`,
   * `unauthenticated` (challenged with nothing to re-send), or undefined (done).
   */
  private respond(msg: ServerMessage): string | 'again' | 'abort' | 'unauthenticated' | undefined {
    if (msg.maxMsgSize) this.serverMaxMsgSize = msg.maxMsgSize;
    if (msg.respUri) this.postUrl = msg.respUri;
    const hdrStatus = msg.statuses.find((st) => st.cmdRef === '0');
    const hdrCode = Number(hdrStatus?.data);
    const digest = this.input.digest;
    if (digest && hdrStatus?.chal?.nextNonce) digest.nonce = hdrStatus.chal.nextNonce;
    if (hdrCode === STATUS.INVALID_CREDENTIALS || hdrCode === STATUS.MISSING_CREDENTIALS) {
      // Challenge: resend package 1 with credentials for the new nonce (§7.4).
      if (!digest || this.authAttempts++ >= 2) throw new Error(`authentication refused (${hdrCode})`);
      return this.strict ? this.resendChallenged(msg) : 'again';
    }
    if (hdrCode === STATUS.AUTH_ACCEPTED) this.authenticated = true;
    else if (hdrStatus && !isSuccessStatus(hdrCode)) {
      throw new Error(`server refused the session (SyncHdr status ${hdrStatus.data})`);
    }

    let nextMessageRequested = false;
    const statuses: Pending[] = [];
    for (const cmd of msg.commands) {
      if (cmd.name === 'Alert') {
        if (cmd.data === String(ALERT.SESSION_ABORT)) return 'abort';
        if (cmd.data === String(ALERT.NEXT_MESSAGE)) nextMessageRequested = true;
        statuses.push({
          kind: 'status',
          msgRef: msg.msgId,
          cmdRef: cmd.cmdId,
          cmd: 'Alert',
          data: STATUS.OK,
        });
        continue;
      }
      for (const o of this.execute(cmd)) {
        this.outcomes.push(o);
        statuses.push({
          kind: 'status',
          msgRef: msg.msgId,
          cmdRef: o.cmdId,
          cmd: o.cmd,
          data: o.status,
          ...(this.strict && o.targetRef !== undefined && { targetRef: o.targetRef }),
        });
        if (o.results && o.results.length > 0) {
          statuses.push({ kind: 'results', msgRef: msg.msgId, cmdRef: o.cmdId, items: o.results });
        }
      }
    }
    const hasCommands = msg.commands.some((c) => c.name !== 'Alert' || c.data !== String(ALERT.NEXT_MESSAGE));
    // Statuses and Results for this message go before anything still queued from earlier.
    this.queue.unshift(...statuses);
    // A server message without Final and without Alert 1222 is part of a longer server package:
    // Windows answers with Alert 1222 to ask for the next message (§7.9); a strict client does not.
    if (!msg.final && !nextMessageRequested && !this.strict) {
      this.queue.push({ kind: 'alert', code: ALERT.NEXT_MESSAGE });
    }
    if (!hasCommands && !nextMessageRequested && msg.final && this.queue.length === 0) return undefined;
    return this.fill(msg.msgId);
  }

  /**
   * After a 401/407 challenge a strict client re-sends exactly the commands the server answered
   * 401/407 (libdmclient), with Cred for the new nonce; `unauthenticated` when there are none.
   */
  private resendChallenged(msg: ServerMessage): string | 'unauthenticated' {
    const again: Pending[] = [];
    for (const st of msg.statuses) {
      if (st.cmdRef === '0' || st.msgRef !== String(this.msgId)) continue;
      if (st.data !== String(STATUS.INVALID_CREDENTIALS) && st.data !== String(STATUS.MISSING_CREDENTIALS))
        continue;
      const element = this.sentElements.get(st.cmdRef);
      if (element) again.push(element);
    }
    if (again.length === 0) return 'unauthenticated';
    this.queue.unshift(...again);
    return this.fill(msg.msgId);
  }

  /** Run one server command, buffering large-object chunks (docs/protocol-notes.md#large-objects). */
  private execute(cmd: ServerCommand): CommandOutcome[] {
    const item = cmd.items[0];
    const ctx = {
      tree: this.input.tree,
      catalog: this.input.catalog,
      failsAt: this.failsAt,
      effects: this.effects,
      ...(this.input.client !== undefined && { client: this.input.client }),
      ...(this.input.apps !== undefined && { apps: this.input.apps }),
    };
    // No large-object support: a chunk is taken as the whole value (client.ts).
    if (this.strict) return applyCommand(cmd, ctx);
    const pending = this.chunk;
    if (pending && (item?.target !== pending.item.target || cmd.name !== pending.cmd.name)) {
      // Another command before the last chunk: the object is dropped, Alert 1225 (§7.9).
      this.chunk = undefined;
      this.queue.push({ kind: 'alert', code: ALERT.NO_END_OF_DATA });
    } else if (pending) {
      pending.data += item?.data ?? '';
      if (item?.moreData) return [{ cmdId: cmd.cmdId, cmd: cmd.name, status: STATUS.CHUNK_ACCEPTED }];
      this.chunk = undefined;
      if (pending.item.size !== undefined && Buffer.byteLength(pending.data) !== pending.item.size) {
        return [{ cmdId: cmd.cmdId, cmd: cmd.name, status: STATUS.SIZE_MISMATCH }];
      }
      const whole: ServerCommand = {
        ...cmd,
        items: [{ ...pending.item, data: pending.data, moreData: false }],
      };
      return applyCommand(whole, ctx);
    }
    if (item?.moreData && cmd.items.length === 1) {
      this.chunk = { cmd, item, data: item.data ?? '' };
      return [{ cmdId: cmd.cmdId, cmd: cmd.name, status: STATUS.CHUNK_ACCEPTED }];
    }
    return applyCommand(cmd, ctx);
  }

  /**
   * Build the next message from the queue, within the size budget; split large Results into chunks.
   * `serverMsgId` undefined: package 1, no Status for a server SyncHdr.
   */
  private fill(serverMsgId: string | undefined): string {
    const budget = Math.min(this.maxMsgSize, this.serverMaxMsgSize) - this.envelopeSize();
    let cmdId = 1;
    const body =
      serverMsgId === undefined
        ? []
        : [
            encodeStatus({
              cmdId: cmdId++,
              msgRef: serverMsgId,
              cmdRef: '0',
              cmd: 'SyncHdr',
              data: STATUS.OK,
            }),
          ];
    const hdrSize = body[0]?.length ?? 0;
    let size = hdrSize;
    let final = true;
    this.sentElements = new Map();
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      const encoded = this.encode(next, cmdId);
      if (size + Buffer.byteLength(encoded) > budget) {
        // An object too large for any message goes out in chunks, one per message (§7.9).
        const tooLarge = Buffer.byteLength(encoded) > budget - hdrSize;
        if (next.kind === 'results' && tooLarge && budget - size > MIN_CHUNK_ROOM) {
          body.push(this.encode(this.splitResults(next, budget - size, cmdId), cmdId));
        }
        final = false;
        break;
      }
      body.push(encoded);
      size += Buffer.byteLength(encoded);
      if (next.kind === 'alert' || next.kind === 'devinfo') this.sentElements.set(String(cmdId), next);
      cmdId++;
      this.queue.shift();
      if (next.kind === 'alert' && next.code === ALERT.NEXT_MESSAGE) final = false;
    }
    return this.message(body, final);
  }

  /** Cut the first chunk off the first item of a Results so that it fits `room`; the rest stays
   *  queued (Meta Size only on the first chunk). */
  private splitResults(p: Extract<Pending, { kind: 'results' }>, room: number, cmdId: number): Pending {
    const [first, ...others] = p.items as [ResultsItemOut, ...ResultsItemOut[]];
    const chunkOf = (take: number): Pending => ({
      ...p,
      items: [
        {
          ...first,
          data: first.data.slice(0, take),
          size: p.continued ? undefined : Buffer.byteLength(first.data),
          moreData: true,
        },
      ],
    });
    const overhead = Buffer.byteLength(this.encode(chunkOf(0), cmdId));
    let take = Math.max(1, room - overhead);
    while (take > 1 && Buffer.byteLength(this.encode(chunkOf(take), cmdId)) > room)
      take = Math.floor(take * 0.9);
    this.queue[0] = { ...p, continued: true, items: [{ ...first, data: first.data.slice(take) }, ...others] };
    return chunkOf(take);
  }

  private encode(p: Pending, cmdId: number): string {
    switch (p.kind) {
      case 'status':
        return encodeStatus({
          cmdId,
          msgRef: p.msgRef,
          cmdRef: p.cmdRef,
          cmd: p.cmd,
          data: p.data,
          ...(p.targetRef !== undefined && { targetRef: p.targetRef }),
        });
      case 'results':
        return encodeResults(cmdId, p.msgRef, p.cmdRef, p.items);
      case 'alert':
        return encodeAlert(cmdId, p.code, p.items);
      case 'devinfo':
        return encodeDevInfoReplace(cmdId, devInfo(this.input.profile));
    }
  }

  private report(ok: boolean, error?: string, aborted = false): SessionReport {
    return {
      sessionId: this.sessionId,
      ok: ok && error === undefined,
      error,
      messages: this.messages,
      outcomes: this.outcomes,
      effects: this.effects,
      aborted,
    };
  }
}
