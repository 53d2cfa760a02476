// One HTTP exchange of an OMA-DM session (MS-MDM 2.2; OMA-DM 1.2 SyncML Rep Pro §8), as a flat
// pipeline around the pure session machine:
//   parse → per-device lock → [transaction: load (locks the device on PostgreSQL) → authenticate →
//   plan the queue → check-in → receive → outcome hooks → compose → writes → commit] → encode.
// Everything the exchange changes commits in ONE transaction, the hooks' writes included. Any server
// instance can continue a session: its state and every command's node records live in the database.
// The steps live in their own modules: device-queue.ts, session-load.ts, queue-plan.ts,
// push-setup.ts, outcomes.ts, exchange-writes.ts; this file keeps the flow.
import { STATUS } from '../codec/syncml/codes.js';
import { encodeSyncMl } from '../codec/syncml/encode.js';
import { parseSyncMl, SyncMlError } from '../codec/syncml/parse.js';
import type { SyncMlMessage } from '../codec/syncml/types.js';
import type { Logger } from '../logger.js';
import { isStorageUnavailable } from '../storage/errors.js';
import type { Storage } from '../storage/index.js';
import { timeOrderedId } from '../storage/sql/ids.js';
import { type AuthResult, authenticate, type PresentedIdentity } from './auth.js';
import { CommandWrites } from './command-writes.js';
import { DeviceQueue } from './device-queue.js';
import { exchangeWrites } from './exchange-writes.js';
import type { DmHooks, FollowUpCommand, HookContext } from './hooks.js';
import { DEFAULT_INVENTORY_NODES, inventoryDue, largeObjectSupport } from './inventory.js';
import { compose, receive, step } from './machine.js';
import { countOutcomes, type DmMetrics, logEffects, outcomeHooks } from './outcomes.js';
import { pushNodes } from './push-nodes.js';
import { followPush, type PushMetrics, type PushSetup, pfnSetup, pushReads } from './push-setup.js';
import { asQueued, byPriority, type FollowUp, inventoryReads, planQueue } from './queue-plan.js';
import { type Exchange, type LoadOptions, loadExchange } from './session-load.js';
import { issueSessionToken } from './session-token.js';

export type { DmMetrics } from './outcomes.js';

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
  readonly pushMetrics?: PushMetrics;
  readonly now?: () => Date;
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

export function createDmSessionService(deps: DmSessionDeps): DmSessionService {
  const devices = new DeviceQueue();
  const log = deps.logger;
  const maxAttempts = deps.config.commandMaxAttempts;
  const liveMs =
    deps.config.liveSessionSeconds === undefined ? LIVE_SESSION_MS : deps.config.liveSessionSeconds * 1000;
  const machineOptions = {
    defaultMaxMsgSize: deps.config.defaultMaxMsgSize ?? 512_000,
    canReplace: deps.canReplace ?? (() => true),
  };
  const inventoryNodes = deps.config.inventoryNodes ?? DEFAULT_INVENTORY_NODES;
  const push: PushSetup | undefined = deps.config.push && {
    pfn: deps.config.push.pfn,
    nodes: pushNodes(deps.config.push.providerId),
  };
  const loadOptions: LoadOptions = {
    now: deps.now ?? (() => new Date()),
    liveMs,
    ...(push && { pushPfnNode: push.nodes.pfn }),
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
    // Load and authenticate.
    const ex = await loadExchange(tx, msg, deviceId, identity, loadOptions);
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

    // Plan the queue; on package 1, the check-in: inventory reads, push setup, the check-in hook.
    const writes = new CommandWrites(ex.atIso, msg.header.sessionId);
    const plan = planQueue(ex, writes, liveMs, maxAttempts);
    const followUps: FollowUp[] = [];
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
        inventory = inventoryReads(inventoryNodes);
        inventoryQueued = true;
      }
      if (push) {
        inventory = [...inventory, ...pushReads(push.nodes)];
        queueFollowUps(pfnSetup(ex, push));
        await followPush(
          tx,
          deviceId,
          msg.header.sessionId,
          ex.atIso,
          request.userAgentOrigin,
          deps.pushMetrics,
        );
      }
      const checkIn = {
        deviceId,
        sessionId: msg.header.sessionId,
        sessionAlert: ex.opening,
        ...loginOf(msg),
      };
      queueFollowUps((await deps.hooks?.onCheckIn?.(checkIn, ctx)) ?? []);
    }

    // Apply the device's message.
    const queue = () =>
      ex.superseded ? [] : byPriority([...inventory, ...plan.pending, ...asQueued(followUps)]);
    let pending = queue();
    const received = receive({
      state: ex.stored?.machine,
      message: msg,
      deviceId,
      auth,
      sent: ex.stored?.sent ?? [],
      inFlight: [...plan.carried, ...inventory],
      pending,
      options: machineOptions,
      // What the device said of large objects in an earlier inventory (./DevDetail/LrgObj).
      ...withLargeObjects(largeObjectSupport(ex.snapshot.inventoryValue)),
      // DIGEST sessions: a fresh RespURI token in every reply; certificate sessions are checked per message.
      ...(auth.method === 'digest' && { respUri: issueSessionToken(deps.config.managementUrl) }),
    });

    // Outcomes of the device's answers: 418 retries, the outcome and exchange-end hooks.
    const before = followUps.length;
    for (const e of received.effects) {
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
    countOutcomes(deps.metrics, received.effects, known);
    queueFollowUps(await outcomeHooks(deps.hooks?.onCommandOutcome, received.effects, deviceId, ctx, known));
    queueFollowUps((await deps.hooks?.onExchangeEnd?.(ctx)) ?? []);

    // The reply: follow-ups of this exchange's answers go out in it when they fit.
    if (followUps.length > before) pending = queue();
    const out = compose(received, pending);
    logEffects(log, out.effects, deviceId);

    // Write and reply.
    if (!out.state) {
      // A verified Cred on a message the machine refused (unknown session, old MsgID): the nonce it
      // used is spent all the same, since a Cred does not cover the body (MS-MDM 2.2.4).
      if (auth.chal) await tx.devices.setNextServerNonce(deviceId, auth.chal.nextNonce);
      return { httpStatus: 200, body: encodeSyncMl(out.reply), deviceId };
    }
    for (const f of asQueued(followUps)) writes.know(f);
    await tx.dmSessions.commitExchange(
      exchangeWrites({
        ex,
        out,
        writes,
        closeSessions: plan.closeSessions,
        followUps,
        reads: inventory,
        auth,
        inventoryQueued,
        maxAttempts,
      }),
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

  return { exchange };
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

/** The LoginStatus alert of package 1 (docs/protocol-notes.md#generic-alerts), for the check-in hook. */
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
