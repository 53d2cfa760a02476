// The I/O around the pure session machine, for one HTTP exchange (design.md, protocol.md §7):
// parse → per-device lock → load → authenticate → step → hooks → persist in ONE transaction
// (including the DIGEST nonce rotation and a 1226 unenrollment) → encode.
// Any server instance can continue a session: its state and the (session, MsgID, CmdID) → command
// map live in the database.
import { randomUUID } from 'node:crypto';
import { encodeSyncMl } from '../codec/syncml/encode.js';
import { parseSyncMl, SyncMlError } from '../codec/syncml/parse.js';
import type { SyncMlMessage } from '../codec/syncml/types.js';
import type { Logger } from '../logger.js';
import type { EnqueueCommand, QueuedCommand } from '../storage/commands.js';
import type { ExchangeCommit } from '../storage/dm-sessions.js';
import type { Storage } from '../storage/index.js';
import { type AuthResult, authenticate, type PresentedIdentity } from './auth.js';
import type { CommandOutcome, DmHooks, FollowUpCommand, HookContext } from './hooks.js';
import { DEFAULT_INVENTORY_NODES, INVENTORY_PRIORITY, inventoryCommands, inventoryDue } from './inventory.js';
import { type StepInput, type StepOutput, sessionAlert, step } from './machine.js';
import { issueSessionToken } from './session-token.js';
import type { Effect, SessionState } from './types.js';

export interface DmSessionConfig {
  readonly commandMaxAttempts: number;
  readonly inventoryIntervalMinutes: number;
  /** LocURIs refreshed on check-in; default DEFAULT_INVENTORY_NODES. */
  readonly inventoryNodes?: readonly string[];
  readonly maxBodyBytes: number;
  /** Server message budget when the device declares no MaxMsgSize. Default 512 000 bytes. */
  readonly defaultMaxMsgSize?: number;
  /** Absolute management URL (the provisioning doc's ADDR); base of the RespURI of DIGEST sessions. */
  readonly managementUrl: string;
}

export interface DmSessionDeps {
  readonly storage: {
    readonly devices: Pick<Storage['devices'], 'getDevice' | 'getDigestCredentials' | 'setNextServerNonce'>;
    readonly certificates: Pick<Storage['certificates'], 'findBySerial'>;
    readonly dmSessions: Storage['dmSessions'];
    readonly unitOfWork: Storage['unitOfWork'];
  };
  readonly config: DmSessionConfig;
  readonly logger: Logger;
  /** May an Add answered 418 be retried as Replace on this path? Default: always. */
  readonly canReplace?: (path: string) => boolean;
  readonly hooks?: DmHooks;
  readonly now?: () => Date;
}

export interface DmExchangeResult {
  /** 200 with a SyncML body, or 400 (unreadable SyncML; empty body). */
  readonly httpStatus: 200 | 400;
  readonly body: string;
  readonly deviceId?: string;
  /** Why the message was refused, when it was (already logged). */
  readonly refused?: string;
}

/** Serialises exchanges per device inside this process (the DB transaction guards across processes). */
class DeviceLocks {
  private readonly tails = new Map<string, Promise<void>>();
  async run<T>(deviceId: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(deviceId) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => {
      release = r;
    });
    const tail = prev.then(() => mine);
    this.tails.set(deviceId, tail);
    await prev;
    try {
      return await fn();
    } finally {
      release();
      if (this.tails.get(deviceId) === tail) this.tails.delete(deviceId);
    }
  }
}

/** What the HTTP request says besides its body and TLS identity. */
export interface ExchangeRequest {
  /** The RespURI token from the request URL (`?s=`; session-token.ts `sessionTokenOf`). */
  readonly sessionToken?: string;
}

export interface DmSessionService {
  /** Handle one POST to the management endpoint. Never throws on device input. */
  exchange(
    body: Buffer | string,
    identity: PresentedIdentity,
    request?: ExchangeRequest,
  ): Promise<DmExchangeResult>;
}

export function createDmSessionService(deps: DmSessionDeps): DmSessionService {
  const locks = new DeviceLocks();
  const now = deps.now ?? (() => new Date());
  const log = deps.logger;
  const options = {
    defaultMaxMsgSize: deps.config.defaultMaxMsgSize ?? 512_000,
    canReplace: deps.canReplace ?? (() => true),
  };
  const inventoryNodes = deps.config.inventoryNodes ?? DEFAULT_INVENTORY_NODES;

  async function exchange(
    body: Buffer | string,
    identity: PresentedIdentity,
    request: ExchangeRequest = {},
  ): Promise<DmExchangeResult> {
    let msg: SyncMlMessage;
    try {
      msg = parseSyncMl(body, { maxBytes: deps.config.maxBodyBytes });
    } catch (err) {
      if (!(err instanceof SyncMlError)) throw err;
      log.warn({ code: err.code, err: err.message }, 'unreadable SyncML message refused');
      return { httpStatus: 400, body: '', refused: err.message };
    }
    const deviceId = msg.header.source;
    // One transaction per exchange: session state, outcomes and every hook write commit together.
    return locks.run(deviceId, () => deps.storage.unitOfWork(() => handle(msg, deviceId, identity, request)));
  }

  async function handle(
    msg: SyncMlMessage,
    deviceId: string,
    identity: PresentedIdentity,
    request: ExchangeRequest,
  ): Promise<DmExchangeResult> {
    const at = now();
    const atIso = at.toISOString();
    const snapshot = await deps.storage.dmSessions.loadExchange(deviceId, atIso);
    const opening = sessionAlert(msg);
    const active = snapshot.active;
    const state: SessionState | undefined =
      opening === undefined && active && active.sessionId === msg.header.sessionId
        ? (JSON.parse(active.state) as SessionState)
        : undefined;
    const auth: AuthResult = await authenticate(
      deps.storage,
      msg.header,
      identity,
      state,
      opening !== undefined,
      request.sessionToken,
    );
    if (!auth.ok) {
      // Nothing is written for a refused or challenged message, except the fresh nonce of a
      // challenge (protocol.md §7.4: the device signs its retry with it; the old one is spent).
      const refused = 'reason' in auth ? auth.reason : `DIGEST challenge ${auth.hdrStatus}`;
      if (auth.hdrStatus === 403)
        log.warn({ deviceId, sessionId: msg.header.sessionId, refused }, 'OMA-DM message refused');
      else log.info({ deviceId, status: auth.hdrStatus }, 'OMA-DM DIGEST challenge');
      if (auth.chal) await deps.storage.devices.setNextServerNonce(deviceId, auth.chal.nextNonce);
      const out = step({ ...baseInput(msg, deviceId, undefined), auth });
      return { httpStatus: 200, body: encodeSyncMl(out.reply), deviceId, refused };
    }

    const followUps: (EnqueueCommand & { id: string })[] = [];
    const ctx: HookContext = {
      deviceId,
      sessionId: msg.header.sessionId,
      enqueue(c: FollowUpCommand) {
        const id = randomUUID();
        followUps.push({ ...c, id, deviceId });
        return id;
      },
    };
    let pending: QueuedCommand[] = [...snapshot.pending];
    if (opening !== undefined && active) {
      // The previous session is superseded: its unanswered commands are re-queued by the commit and
      // are sent again now, within commandMaxAttempts (protocol.md §7.7 "re-queue it").
      const answered = new Set(
        snapshot.sent
          .filter((r) => r.path === '' && r.status !== undefined && r.status !== 213)
          .map((r) => r.commandId),
      );
      const retry = snapshot.inFlight.filter(
        (q) => !answered.has(q.id) && q.attempts < deps.config.commandMaxAttempts,
      );
      pending = [...retry, ...pending];
    }
    let inventoryQueued = false;
    if (opening !== undefined) {
      const hasInventory = pending.some((q) => q.origin === 'inventory');
      if (!hasInventory && inventoryDue(snapshot.lastInventoryAt, at, deps.config.inventoryIntervalMinutes)) {
        for (const command of inventoryCommands(inventoryNodes))
          ctx.enqueue({ command, origin: 'inventory', priority: INVENTORY_PRIORITY });
        inventoryQueued = true;
      }
      await deps.hooks?.onCheckIn?.(
        { deviceId, sessionId: msg.header.sessionId, sessionAlert: opening, ...loginOf(msg) },
        ctx,
      );
    }
    const asQueued = (list: typeof followUps): QueuedCommand[] =>
      list.map((f) => ({
        id: f.id,
        command: f.command,
        origin: f.origin,
        ...(f.tag !== undefined && { tag: f.tag }),
        attempts: 0,
        priority: f.priority ?? 0,
      }));
    // Stable: by priority, then queue order (Array.prototype.sort is stable).
    const byPriority = (extra: typeof followUps): QueuedCommand[] =>
      [...pending, ...asQueued(extra)].sort((a, b) => (b.priority ?? 0) - (a.priority ?? 0));

    const input: Omit<StepInput, 'pending'> = {
      ...baseInput(msg, deviceId, state),
      auth,
      sent: snapshot.sent,
      inFlight: snapshot.inFlight,
      // DIGEST sessions: a fresh RespURI token in every reply; certificate sessions are checked per message.
      ...(auth.method === 'digest' && { respUri: issueSessionToken(deps.config.managementUrl) }),
    };
    let out = step({ ...input, pending: byPriority(followUps) });
    const before = followUps.length;
    for (const e of out.effects) {
      if (e.kind === 'enqueue') {
        followUps.push({
          id: randomUUID(),
          deviceId,
          command: e.command,
          origin: e.origin,
          ...(e.tag !== undefined && { tag: e.tag }),
          retryOf: e.retryOf,
        });
      }
    }
    await runOutcomeHooks(out.effects, deviceId, ctx, [
      ...snapshot.inFlight,
      ...pending,
      ...asQueued(followUps),
    ]);
    if (followUps.length > before) {
      pending = byPriority(followUps);
      out = step({ ...input, pending });
    }
    logEffects(out.effects, deviceId);
    const nextNonce = auth.chal?.nextNonce;
    if (out.state) {
      await deps.storage.dmSessions.commitExchange({
        ...toCommit(
          out,
          deviceId,
          atIso,
          active?.rowId,
          state,
          opening !== undefined,
          followUps,
          inventoryQueued,
        ),
        ...(nextNonce !== undefined && { nextServerNonce: nextNonce }),
        ...(auth.spentNonce !== undefined && { spentServerNonce: auth.spentNonce }),
      });
    } else if (nextNonce !== undefined) {
      // A verified Cred on a message the machine refused (unknown session, old MsgID): the nonce it
      // used is spent all the same, since a Cred does not cover the body (protocol.md §7.4).
      await deps.storage.devices.setNextServerNonce(deviceId, nextNonce);
    }
    if (out.effects.some((e) => e.kind === 'unenroll'))
      log.info({ deviceId }, 'device unenrolled itself (generic alert 1226)');
    return { httpStatus: 200, body: encodeSyncMl(out.reply), deviceId };
  }

  function baseInput(msg: SyncMlMessage, deviceId: string, state: SessionState | undefined) {
    return { state, message: msg, deviceId, sent: [], inFlight: [], pending: [], options };
  }

  async function runOutcomeHooks(
    effects: readonly Effect[],
    deviceId: string,
    ctx: HookContext,
    known: readonly QueuedCommand[],
  ): Promise<void> {
    const hook = deps.hooks?.onCommandOutcome;
    if (!hook) return;
    const byId = new Map(known.map((q) => [q.id, q]));
    const outcomes = new Map<string, CommandOutcome>();
    for (const e of effects) {
      if (e.kind !== 'status' && e.kind !== 'results') continue;
      const key = `${e.ref.msgId}/${e.ref.cmdId}`;
      const q = byId.get(e.ref.commandId);
      if (!q) continue;
      const prev = outcomes.get(key);
      outcomes.set(key, {
        deviceId,
        commandId: q.id,
        origin: q.origin,
        ...(q.tag !== undefined && { tag: q.tag }),
        path: e.ref.path,
        verb: e.ref.verb,
        targets: e.ref.targets,
        ...(e.kind === 'status'
          ? { statusCode: e.code }
          : prev?.statusCode !== undefined && { statusCode: prev.statusCode }),
        results: e.kind === 'results' ? [...(prev?.results ?? []), ...e.items] : (prev?.results ?? []),
      });
    }
    // 213 acknowledges one chunk of a large object, not the command (protocol.md §7.9).
    for (const o of outcomes.values()) if (o.statusCode !== 213) await hook(o, ctx);
  }

  function logEffects(effects: readonly Effect[], deviceId: string): void {
    for (const e of effects) {
      if (e.kind === 'protocol-error') log.warn({ deviceId, reason: e.reason }, 'OMA-DM protocol error');
      else if (e.kind === 'unmatched') log.warn({ deviceId, ...e }, 'OMA-DM answer matches no sent command');
      else if (e.kind === 'rejected') log.warn({ deviceId, ...e }, 'command cannot be sent');
    }
  }

  function toCommit(
    out: StepOutput,
    deviceId: string,
    at: string,
    activeRowId: number | undefined,
    prior: SessionState | undefined,
    opening: boolean,
    followUps: readonly (EnqueueCommand & { id: string })[],
    inventoryQueued: boolean,
  ): ExchangeCommit {
    const state = out.state!;
    const effects = out.effects;
    const ended = effects.find((e) => e.kind === 'session-ended');
    const loginStatus = state.loginStatus;
    const statuses: ExchangeCommit['statuses'][number][] = [];
    const results: ExchangeCommit['results'][number][] = [];
    const inventory: ExchangeCommit['inventory'][number][] = [];
    const events: ExchangeCommit['events'][number][] = [];
    const rejected: ExchangeCommit['rejected'][number][] = [];
    const sent: ExchangeCommit['sent'][number][] = [];
    for (const e of effects) {
      if (e.kind === 'sent') sent.push(e.ref);
      else if (e.kind === 'status')
        statuses.push({
          ref: e.ref,
          code: e.code,
          ...(e.originalError !== undefined && { originalError: e.originalError }),
        });
      else if (e.kind === 'results') {
        results.push({ ref: e.ref, items: e.items });
        inventory.push(...e.items);
      } else if (e.kind === 'devinfo') inventory.push(...e.items);
      else if (e.kind === 'event') {
        const { kind: _k, ...event } = e;
        events.push(event);
      } else if (e.kind === 'rejected') rejected.push({ commandId: e.commandId, reason: e.reason });
    }
    return {
      deviceId,
      sessionId: state.sessionId,
      at,
      // A new session gets a new row; a continued one updates its row.
      ...(!opening && prior && activeRowId !== undefined && { sessionRowId: activeRowId }),
      closeOthers: opening,
      state: JSON.stringify(state),
      status: state.status,
      ...(ended?.kind === 'session-ended' && { endReason: ended.reason }),
      maxAttempts: deps.config.commandMaxAttempts,
      enqueue: followUps,
      sent,
      statuses,
      results,
      inventory,
      events,
      rejected,
      unenrolled: effects.some((e) => e.kind === 'unenroll'),
      ...(opening && { checkIn: { ...(loginStatus !== undefined && { loginStatus }), inventoryQueued } }),
    };
  }

  return { exchange };
}

function loginOf(msg: SyncMlMessage): { loginStatus?: string } {
  for (const c of msg.commands) {
    if (c.kind !== 'Alert') continue;
    for (const item of c.items) {
      if (item.meta?.type === 'com.microsoft/MDM/LoginStatus' && item.data !== undefined)
        return { loginStatus: item.data.trim() };
    }
  }
  return {};
}
