// One HTTP exchange of an OMA-DM session (MS-MDM 2.2; OMA-DM 1.2 SyncML Rep Pro §8), as a flat
// pipeline around the pure session machine:
//   parse → per-device lock → [transaction: load (locks the device on PostgreSQL) → authenticate →
//   plan the queue → step → outcome hooks → writes → commit] → encode.
// Everything the exchange changes commits in ONE transaction, the hooks' writes included. Any server
// instance can continue a session: its state and every command's node records live in the database.
import { STATUS } from '../codec/syncml/codes.js';
import { encodeSyncMl } from '../codec/syncml/encode.js';
import { parseSyncMl, SyncMlError } from '../codec/syncml/parse.js';
import type { SyncMlMessage } from '../codec/syncml/types.js';
import type { Logger } from '../logger.js';
import type { EnqueueCommand, QueuedCommand, SentRef } from '../storage/commands.js';
import type { ExchangeSnapshot, ExchangeWrites } from '../storage/dm-sessions.js';
import { isStorageUnavailable } from '../storage/errors.js';
import type { Storage } from '../storage/index.js';
import { timeOrderedId } from '../storage/sql/ids.js';
import { type AuthResult, authenticate, identityLookup, type PresentedIdentity } from './auth.js';
import { CommandWrites } from './command-writes.js';
import type { CommandOutcome, DmHooks, FollowUpCommand, HookContext } from './hooks.js';
import {
  DEFAULT_INVENTORY_NODES,
  INVENTORY_PRIORITY,
  inventoryCommands,
  inventoryDue,
  LARGE_OBJECT_NODE,
  largeObjectSupport,
} from './inventory.js';
import { type StepInput, type StepOutput, sessionAlert, step } from './machine.js';
import {
  PUSH_PFN_PRIORITY,
  PUSH_PFN_TAG,
  PUSH_SYNC_APPLICATION_VERSION,
  PUSH_VERSION_TAG,
  type PushNodePaths,
  pushNodes,
} from './push-nodes.js';
import { issueSessionToken } from './session-token.js';
import type { Effect, SessionState } from './types.js';

export interface DmSessionConfig {
  readonly commandMaxAttempts: number;
  /** How long a superseded session counts as live (its commands stay with it). Default LIVE_SESSION_MS. */
  readonly liveSessionSeconds?: number;
  readonly inventoryIntervalMinutes: number;
  /** LocURIs refreshed on check-in; default DEFAULT_INVENTORY_NODES. */
  readonly inventoryNodes?: readonly string[];
  readonly maxBodyBytes: number;
  /** Server message budget when the device declares no MaxMsgSize. Default 512 000 bytes. */
  readonly defaultMaxMsgSize?: number;
  /** Absolute management URL (the provisioning doc's ADDR); base of the RespURI of DIGEST sessions. */
  readonly managementUrl: string;
  /**
   * WNS push on: every device gets the PFN (`Add …/DMClient/Provider/{ProviderID}/Push/PFN`) and every
   * session reads `Push/PFN`, `Push/ChannelURI` and `Push/Status` into the inventory
   * (https://learn.microsoft.com/windows/client-management/mdm/dmclient-csp). Off: nothing of it.
   */
  readonly push?: { readonly pfn: string; readonly providerId: string };
}

export interface DmSessionDeps {
  readonly storage: Pick<Storage, 'transaction'>;
  readonly config: DmSessionConfig;
  readonly logger: Logger;
  /** May an Add answered 418 be retried as Replace on this path? Default: always. */
  readonly canReplace?: (path: string) => boolean;
  readonly hooks?: DmHooks;
  /** Counters of what the engine sees (`/metrics`). */
  readonly metrics?: DmMetrics;
  /** A session followed an accepted push (push → session time, `/metrics`). */
  readonly pushMetrics?: { sessionAfterPush(seconds: number, pushed: boolean | undefined): void };
  readonly now?: () => Date;
}

/** Status classes of the device's answers to queued commands. */
export interface DmMetrics {
  commandOutcome(origin: string, verb: string, statusClass: '2xx' | '4xx' | '5xx'): void;
}

export interface DmExchangeResult {
  /**
   * 200 with a SyncML body; 400 (unreadable SyncML; empty body); 503 while the database is
   * unavailable (a SyncML body whose SyncHdr status is 503; the device retries later).
   */
  readonly httpStatus: 200 | 400 | 503;
  readonly body: string;
  readonly deviceId?: string;
  /** Why the message was refused, when it was (already logged). */
  readonly refused?: string;
}

/** What the HTTP request says besides its body and TLS identity. */
export interface ExchangeRequest {
  /** The RespURI token from the request URL (`?s=`; session-token.ts `sessionTokenOf`). */
  readonly sessionToken?: string;
  /** The `UserAgentOrigin` header: why the device started the session (MS-MDM 3.1.7.2; 3 = WNS push). */
  readonly userAgentOrigin?: string;
}

export interface DmSessionService {
  /** Handle one POST to the management endpoint. Never throws on device input. */
  exchange(
    body: Buffer | string,
    identity: PresentedIdentity,
    request?: ExchangeRequest,
  ): Promise<DmExchangeResult>;
}

/**
 * A superseded session whose last exchange is this recent may still be talking to the device (two
 * sessions of one device at once: a retry after a timeout, or two server instances): the commands
 * it carries stay with it, so no command is handed to two live sessions. Older ones are dead and
 * their unanswered commands go back to the queue.
 */
export const LIVE_SESSION_MS = 60_000;

/**
 * The session row's document: the machine's state, the nodes sent in this session, and the
 * inventory reads the server itself added to this session (they are not queued commands: their
 * Results go straight to the inventory, and a session that ends before answering them leaves the
 * next refresh to the next due check-in).
 */
interface StoredState {
  readonly machine: SessionState;
  readonly sent: readonly SentRef[];
  readonly inventory?: readonly QueuedCommand[];
}

function parseStored(text: string): StoredState | undefined {
  try {
    const doc = JSON.parse(text) as Partial<StoredState>;
    return doc.machine && Array.isArray(doc.sent) ? (doc as StoredState) : undefined;
  } catch {
    return undefined;
  }
}

/** Server-generated reads have ids of their own, never a queued command's. */
const INVENTORY_ID = 'inventory:';

/** The inventory reads a later message of the session must still send. */
function unsentReads(reads: readonly QueuedCommand[], state: SessionState): { inventory?: QueuedCommand[] } {
  if (reads.length === 0) return {};
  const sent = new Set(state.sentCommandIds);
  const left = reads.filter((q) => !sent.has(q.id));
  return left.length > 0 ? { inventory: left } : {};
}

/** Serialises exchanges per device inside this process, before a connection is taken. */
class DeviceQueue {
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

/** One exchange in progress: the message, who sent it, and what was loaded for it. */
interface Exchange {
  readonly tx: Storage;
  readonly msg: SyncMlMessage;
  readonly deviceId: string;
  readonly at: Date;
  readonly atIso: string;
  readonly snapshot: ExchangeSnapshot;
  /** The session alert of package 1, when this message opens a session. */
  readonly opening?: number;
  /** The stored state of the session this message continues. */
  readonly stored?: StoredState;
  /** Row of that session; set only when the message continues it. */
  readonly rowId?: number;
  /** The continued session was superseded by a newer one: record answers, send nothing new. */
  readonly superseded: boolean;
}

export function createDmSessionService(deps: DmSessionDeps): DmSessionService {
  const devices = new DeviceQueue();
  const now = deps.now ?? (() => new Date());
  const log = deps.logger;
  const maxAttempts = deps.config.commandMaxAttempts;
  const liveMs =
    deps.config.liveSessionSeconds === undefined ? LIVE_SESSION_MS : deps.config.liveSessionSeconds * 1000;
  const machineOptions = {
    defaultMaxMsgSize: deps.config.defaultMaxMsgSize ?? 512_000,
    canReplace: deps.canReplace ?? (() => true),
  };
  const inventoryNodes = deps.config.inventoryNodes ?? DEFAULT_INVENTORY_NODES;
  const push = deps.config.push && {
    pfn: deps.config.push.pfn,
    nodes: pushNodes(deps.config.push.providerId),
  };

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
    try {
      return await devices.run(deviceId, () =>
        deps.storage.transaction((tx) => handle(tx, msg, deviceId, identity, request)),
      );
    } catch (err) {
      if (!isStorageUnavailable(err)) throw err;
      log.warn({ deviceId, err: err.message }, 'OMA-DM message refused: database unavailable');
      return { httpStatus: 503, body: encodeSyncMl(unavailableReply(msg)), deviceId, refused: err.message };
    }
  }

  async function handle(
    tx: Storage,
    msg: SyncMlMessage,
    deviceId: string,
    identity: PresentedIdentity,
    request: ExchangeRequest,
  ): Promise<DmExchangeResult> {
    const ex = await load(tx, msg, deviceId, identity, push?.nodes);
    const auth = authenticate({
      header: msg.header,
      identity,
      ...(ex.snapshot.certificate && { certificate: ex.snapshot.certificate }),
      ...(ex.snapshot.digest && { digest: ex.snapshot.digest }),
      ...(ex.stored && { session: ex.stored.machine }),
      opening: ex.opening !== undefined,
      ...(request.sessionToken !== undefined && { sessionToken: request.sessionToken }),
      now: ex.at,
    });
    if (!auth.ok) return refuse(ex, auth);

    const writes = new CommandWrites(ex.atIso, msg.header.sessionId);
    const plan = planQueue(ex, writes);
    const followUps: (EnqueueCommand & { id: string })[] = [];
    const queueFollowUps = (list: readonly FollowUpCommand[]) => {
      for (const f of list) followUps.push({ ...f, id: timeOrderedId(), deviceId });
    };
    const ctx: HookContext = {
      tx,
      deviceId,
      sessionId: msg.header.sessionId,
      at: ex.at,
      policyRevision: ex.snapshot.policyRevision,
    };
    let inventory = ex.stored?.inventory ?? [];
    let inventoryQueued = false;
    if (ex.opening !== undefined) {
      if (inventoryDue(ex.snapshot.lastInventoryAt, ex.at, deps.config.inventoryIntervalMinutes)) {
        inventory = inventoryCommands(inventoryNodes).map((command, i) => ({
          id: `${INVENTORY_ID}${i}`,
          command,
          origin: 'inventory' as const,
          attempts: 0,
          priority: INVENTORY_PRIORITY,
        }));
        inventoryQueued = true;
      }
      if (push) {
        inventory = [...inventory, ...pushReads(push.nodes)];
        queueFollowUps(pfnSetup(ex, push));
        await followPush(tx, deviceId, msg.header.sessionId, ex.atIso, request.userAgentOrigin);
      }
      const checkIn = {
        deviceId,
        sessionId: msg.header.sessionId,
        sessionAlert: ex.opening,
        ...loginOf(msg),
      };
      queueFollowUps((await deps.hooks?.onCheckIn?.(checkIn, ctx)) ?? []);
    }

    const input: StepInput = {
      state: ex.stored?.machine,
      message: msg,
      deviceId,
      auth,
      sent: ex.stored?.sent ?? [],
      inFlight: [...plan.carried, ...inventory],
      pending: [],
      options: machineOptions,
      // What the device said of large objects in an earlier inventory (./DevDetail/LrgObj).
      ...withLargeObjects(largeObjectSupport(ex.snapshot.inventoryValue)),
      // DIGEST sessions: a fresh RespURI token in every reply; certificate sessions are checked per message.
      ...(auth.method === 'digest' && { respUri: issueSessionToken(deps.config.managementUrl) }),
    };
    const stepWith = () =>
      step({
        ...input,
        pending: ex.superseded ? [] : byPriority([...inventory, ...plan.pending, ...asQueued(followUps)]),
      });
    let out = stepWith();
    const before = followUps.length;
    for (const e of out.effects) {
      if (e.kind === 'enqueue') {
        followUps.push({
          id: timeOrderedId(),
          deviceId,
          command: e.command,
          origin: e.origin,
          ...(e.tag !== undefined && { tag: e.tag }),
          retryOf: e.retryOf,
        });
      }
    }
    const known = [...plan.carried, ...plan.pending, ...inventory, ...asQueued(followUps)];
    countOutcomes(out.effects, known);
    queueFollowUps(await outcomeHooks(out.effects, deviceId, ctx, known));
    queueFollowUps((await deps.hooks?.onExchangeEnd?.(ctx)) ?? []);
    // Follow-ups of this exchange's answers go out in this very reply when they fit.
    if (followUps.length > before && !ex.superseded) out = stepWith();
    logEffects(out.effects, deviceId);

    if (!out.state) {
      // A verified Cred on a message the machine refused (unknown session, old MsgID): the nonce it
      // used is spent all the same, since a Cred does not cover the body (MS-MDM 2.2.4).
      if (auth.chal) await tx.devices.setNextServerNonce(deviceId, auth.chal.nextNonce);
      return { httpStatus: 200, body: encodeSyncMl(out.reply), deviceId };
    }
    for (const f of asQueued(followUps)) writes.know(f);
    await tx.dmSessions.commitExchange(
      exchangeWrites(ex, out, writes, plan, followUps, inventory, auth, inventoryQueued),
    );
    if (out.effects.some((e) => e.kind === 'unenroll')) {
      log.info({ deviceId }, 'device unenrolled itself (generic alert 1226)');
      await tx.audit.record({
        actor: deviceId,
        action: 'enrollment.unenroll',
        deviceId,
        details: { via: 'generic alert 1226' },
      });
    }
    return { httpStatus: 200, body: encodeSyncMl(out.reply), deviceId };
  }

  /** Load: the device's sessions and queue, and which session this message belongs to. */
  async function load(
    tx: Storage,
    msg: SyncMlMessage,
    deviceId: string,
    identity: PresentedIdentity,
    pushPaths: PushNodePaths | undefined,
  ): Promise<Exchange> {
    const at = now();
    const lookup = identityLookup(identity);
    const snapshot = await tx.dmSessions.loadExchange(deviceId, msg.header.sessionId, {
      ...(lookup && { identity: lookup }),
      recentSince: new Date(at.getTime() - liveMs).toISOString(),
      inventoryNode: LARGE_OBJECT_NODE,
      ...(pushPaths && { pushPfnNode: pushPaths.pfn }),
    });
    const opening = sessionAlert(msg);
    const base = { tx, msg, deviceId, at, atIso: at.toISOString(), snapshot, superseded: false };
    const row = snapshot.session;
    if (opening !== undefined || !row) return { ...base, ...(opening !== undefined && { opening }) };
    const stored = parseStored(row.state);
    if (stored?.machine.status !== 'active') return base;
    if (row.status === 'active') return { ...base, stored, rowId: row.rowId };
    // A late message of a session a newer package 1 superseded while it was still live.
    const live = at.getTime() - Date.parse(row.updatedAt) < liveMs;
    return live ? { ...base, stored, rowId: row.rowId, superseded: true } : base;
  }

  /**
   * The PFN the device registers with WNS for (DMClient CSP `Push/PFN`): added once, replaced when
   * the device reports another one, while no such command is already queued.
   */
  function pfnSetup(ex: Exchange, p: { pfn: string; nodes: PushNodePaths }): FollowUpCommand[] {
    const reported = ex.snapshot.pushPfn;
    if (reported !== undefined && reported.trim() === p.pfn) return [];
    const queued = [...ex.snapshot.pending, ...ex.snapshot.inFlight].some((q) => q.tag === PUSH_PFN_TAG);
    if (queued) return [];
    const first = reported === undefined || reported === '';
    const pfn: FollowUpCommand = {
      command: {
        verb: first ? 'Add' : 'Replace',
        items: [{ target: p.nodes.pfn, format: 'chr', data: p.pfn }],
      },
      origin: 'system',
      tag: PUSH_PFN_TAG,
      priority: PUSH_PFN_PRIORITY,
    };
    if (!first) return [pfn];
    // With the first PFN, the session version from which a pushed session says it was pushed.
    const version: FollowUpCommand = {
      command: {
        verb: 'Replace',
        items: [
          { target: p.nodes.syncApplicationVersion, format: 'chr', data: PUSH_SYNC_APPLICATION_VERSION },
        ],
      },
      origin: 'system',
      tag: PUSH_VERSION_TAG,
      priority: PUSH_PFN_PRIORITY,
    };
    return [pfn, version];
  }

  /** A session after an accepted push: remembered as the one that followed it (one statement). */
  async function followPush(
    tx: Storage,
    deviceId: string,
    sessionId: string,
    at: string,
    origin: string | undefined,
  ): Promise<void> {
    const clean =
      origin !== undefined && /^\s*\d{1,3}(\s*,\s*\d{1,3})*\s*$/.test(origin)
        ? origin.replace(/\s/g, '')
        : undefined;
    const followed = await tx.push.markFollowed(deviceId, { sessionId, at, ...(clean && { origin: clean }) });
    if (followed && deps.pushMetrics) {
      const seconds = Math.max(0, (Date.parse(at) - Date.parse(followed.sentAt)) / 1000);
      deps.pushMetrics.sessionAfterPush(
        seconds,
        clean === undefined ? undefined : clean.split(',')[0] === '3',
      );
    }
  }

  /** Refused or challenged: nothing is written but the fresh nonce of a challenge (MS-MDM 2.2.4). */
  async function refuse(ex: Exchange, auth: Exclude<AuthResult, { ok: true }>): Promise<DmExchangeResult> {
    const { deviceId, msg } = ex;
    const refused = 'reason' in auth ? auth.reason : `DIGEST challenge ${auth.hdrStatus}`;
    if (auth.hdrStatus === 403)
      log.warn({ deviceId, sessionId: msg.header.sessionId, refused }, 'OMA-DM message refused');
    else log.info({ deviceId, status: auth.hdrStatus }, 'OMA-DM DIGEST challenge');
    if (auth.chal) await ex.tx.devices.setNextServerNonce(deviceId, auth.chal.nextNonce);
    const out = step({
      state: undefined,
      message: msg,
      deviceId,
      auth,
      sent: [],
      inFlight: [],
      pending: [],
      options: machineOptions,
    });
    return { httpStatus: 200, body: encodeSyncMl(out.reply), deviceId, refused };
  }

  interface QueuePlan {
    /** In-flight commands this session may answer or continue. */
    readonly carried: QueuedCommand[];
    /** What the machine may send, in order (re-sends of dead sessions' commands first). */
    readonly pending: QueuedCommand[];
    /** Sessions a package 1 supersedes. */
    readonly closeSessions: { rowId: number; reason: string }[];
  }

  /**
   * Plan the queue (MS-MDM 2.2.1): expire pending commands past their time; on package 1 close the
   * device's other sessions and take back the commands of dead ones (re-sent now, within
   * `commandMaxAttempts`); commands of a superseded session that is still live stay with it.
   */
  function planQueue(ex: Exchange, writes: CommandWrites): QueuePlan {
    const { snapshot, atIso } = ex;
    const pending: QueuedCommand[] = [];
    for (const q of snapshot.pending) {
      writes.know(q);
      if (q.expiresAt !== undefined && q.expiresAt <= atIso) writes.expire(q.id);
      else pending.push(q);
    }
    const carried: QueuedCommand[] = [];
    const retry: QueuedCommand[] = [];
    const closeSessions =
      ex.opening === undefined ? [] : snapshot.active.map((s) => ({ rowId: s.rowId, reason: 'superseded' }));
    for (const c of snapshot.inFlight) {
      const here = ex.rowId !== undefined && c.carrier?.rowId === ex.rowId;
      writes.know(c, here);
      if (here) {
        carried.push(c);
        continue;
      }
      if (ex.opening === undefined) continue;
      const live = c.carrier !== undefined && ex.at.getTime() - Date.parse(c.carrier.updatedAt) < liveMs;
      if (live) continue;
      if (writes.unanswered(c.id, maxAttempts) === 'pending') retry.push(c);
    }
    return { carried, pending: [...retry, ...pending], closeSessions };
  }

  /** The rows this exchange writes. */
  function exchangeWrites(
    ex: Exchange,
    out: StepOutput,
    writes: CommandWrites,
    plan: QueuePlan,
    followUps: readonly (EnqueueCommand & { id: string })[],
    reads: readonly QueuedCommand[],
    auth: Extract<AuthResult, { ok: true }>,
    inventoryQueued: boolean,
  ): ExchangeWrites {
    const state = out.state!;
    const sent = [...(ex.stored?.sent ?? [])];
    const inventory: ExchangeWrites['inventory'][number][] = [];
    const events: ExchangeWrites['events'][number][] = [];
    let endReason: string | undefined;
    for (const e of out.effects) {
      switch (e.kind) {
        case 'sent':
          sent.push(e.ref);
          writes.sent(e.ref);
          break;
        case 'status': {
          const i = sent.findIndex((r) => r.msgId === e.ref.msgId && r.cmdId === e.ref.cmdId);
          if (i >= 0) sent[i] = { ...sent[i]!, status: e.code };
          writes.status(e.ref, e.code, e.originalError);
          break;
        }
        case 'results':
          writes.results(e.ref, e.items);
          inventory.push(...e.items);
          break;
        case 'devinfo':
          inventory.push(...e.items);
          break;
        case 'event': {
          const { kind: _k, ...event } = e;
          events.push(event);
          break;
        }
        case 'node-status':
          writes.nodeStatus(e.ref, e.code, e.originalError);
          break;
        case 'rejected':
          writes.fail(e.commandId, e.reason);
          break;
        case 'session-ended':
          endReason = e.reason;
          break;
      }
    }
    const unenroll = out.effects.some((e) => e.kind === 'unenroll');
    if (state.status === 'closed' && !unenroll) {
      // The session is over: what it carried without an answer goes back to the queue (or fails).
      for (const id of new Set(sent.map((r) => r.commandId))) {
        if (!id.startsWith(INVENTORY_ID)) writes.unanswered(id, maxAttempts);
      }
    }
    const opening = ex.opening !== undefined;
    return {
      deviceId: ex.deviceId,
      at: ex.atIso,
      session: {
        ...(!opening && ex.rowId !== undefined && { rowId: ex.rowId }),
        sessionId: state.sessionId,
        state: JSON.stringify({
          machine: state,
          sent,
          ...(state.status === 'active' && unsentReads(reads, state)),
        } satisfies StoredState),
        // A superseded session stays closed: its answers are recorded, it is not revived.
        ...(ex.superseded
          ? { status: 'closed' as const, endReason: 'superseded' }
          : { status: state.status, ...(endReason !== undefined && { endReason }) }),
      },
      closeSessions: plan.closeSessions,
      enqueue: followUps,
      commands: writes.all(),
      inventory,
      events,
      unenroll,
      ...(opening && {
        checkIn: {
          ...(state.loginStatus !== undefined && { loginStatus: state.loginStatus }),
          inventoryQueued,
        },
      }),
      ...(auth.chal && {
        nonce: {
          next: auth.chal.nextNonce,
          ...(auth.spentNonce !== undefined && { spent: auth.spentNonce }),
        },
      }),
    };
  }

  /** The outcome hook, once per answered node, in message order; returns their follow-ups. */
  async function outcomeHooks(
    effects: readonly Effect[],
    deviceId: string,
    ctx: HookContext,
    known: readonly QueuedCommand[],
  ): Promise<FollowUpCommand[]> {
    const hook = deps.hooks?.onCommandOutcome;
    if (!hook) return [];
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
    const followUps: FollowUpCommand[] = [];
    // 213 acknowledges one chunk of a large object, not the command (OMA-DM 1.2 Rep Pro §7.2.6).
    for (const o of outcomes.values()) if (o.statusCode !== 213) followUps.push(...(await hook(o, ctx)));
    return followUps;
  }

  /** Every Status for a queued command (not the server's own inventory reads), by status class. */
  function countOutcomes(effects: readonly Effect[], known: readonly QueuedCommand[]): void {
    const metrics = deps.metrics;
    if (!metrics) return;
    let origins: Map<string, QueuedCommand['origin']> | undefined;
    for (const e of effects) {
      if (e.kind !== 'status' || e.code === 213) continue;
      origins ??= new Map(known.map((q) => [q.id, q.origin]));
      const origin = origins.get(e.ref.commandId);
      if (!origin || origin === 'inventory') continue;
      metrics.commandOutcome(origin, e.ref.verb, e.code < 300 ? '2xx' : e.code < 500 ? '4xx' : '5xx');
    }
  }

  function logEffects(effects: readonly Effect[], deviceId: string): void {
    // One line per kind and message, however many answers a message carries.
    const unmatched = effects.filter((e) => e.kind === 'unmatched');
    if (unmatched.length > 0) {
      const first = unmatched
        .slice(0, 5)
        .map((e) => (e.kind === 'unmatched' ? `${e.what} ${e.msgRef}/${e.cmdRef}` : ''));
      log.warn({ deviceId, count: unmatched.length, first }, 'OMA-DM answers match no sent command');
    }
    for (const e of effects) {
      if (e.kind === 'protocol-error') log.warn({ deviceId, reason: e.reason }, 'OMA-DM protocol error');
      else if (e.kind === 'rejected') log.warn({ deviceId, ...e }, 'command cannot be sent');
    }
  }

  return { exchange };
}

/** Every session reads the push nodes (channel URIs change; the latest is kept with its time). */
function pushReads(nodes: PushNodePaths): QueuedCommand[] {
  return [nodes.pfn, nodes.channelUri, nodes.status].map((target, i) => ({
    id: `${INVENTORY_ID}push${i}`,
    command: { verb: 'Get', items: [{ target }] },
    origin: 'inventory' as const,
    attempts: 0,
    priority: INVENTORY_PRIORITY,
  }));
}

const withLargeObjects = (largeObjects: boolean | undefined) =>
  largeObjects === undefined ? {} : { largeObjects };

/** SyncHdr status 503 alone: nothing of the message was processed (OMA-DM 1.2 Rep Pro §10.2). */
function unavailableReply(msg: SyncMlMessage) {
  const h = msg.header;
  return {
    header: { sessionId: h.sessionId, msgId: h.msgId, target: h.source, source: h.target },
    commands: [
      {
        kind: 'Status' as const,
        cmdId: 1,
        msgRef: h.msgId,
        cmdRef: 0,
        cmd: 'SyncHdr',
        data: String(STATUS.SERVICE_UNAVAILABLE),
      },
    ],
    final: true,
  };
}

const asQueued = (list: readonly (EnqueueCommand & { id: string })[]): QueuedCommand[] =>
  list.map((f) => ({
    id: f.id,
    command: f.command,
    origin: f.origin,
    ...(f.tag !== undefined && { tag: f.tag }),
    attempts: 0,
    priority: f.priority ?? 0,
    ...(f.expiresAt !== undefined && { expiresAt: f.expiresAt }),
  }));

/** Stable: by priority, then queue order (Array.prototype.sort is stable). */
const byPriority = (list: QueuedCommand[]): QueuedCommand[] =>
  list.sort((a, b) => (b.priority ?? 0) - (a.priority ?? 0));

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
