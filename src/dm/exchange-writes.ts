// The durable writes at the end of an exchange: the machine's effects turned into the one
// `ExchangeWrites` object that `tx.dmSessions.commitExchange` commits (session row and state
// document, closed sessions, follow-ups, touched commands and node records, inventory, events,
// check-in, the next DIGEST nonce of MS-MDM 2.2.4; docs/architecture.md#oma-dm-exchange-module-by-module).
import type { QueuedCommand } from '../storage/commands.js';
import type { ExchangeWrites } from '../storage/dm-sessions.js';
import type { AuthResult } from './auth.js';
import type { CommandWrites } from './command-writes.js';
import type { StepOutput } from './machine.js';
import { type FollowUp, INVENTORY_ID, type QueuePlan } from './queue-plan.js';
import type { Exchange, StoredState } from './session-load.js';
import type { SessionState } from './types.js';

/** What an accepted exchange decided, as `exchangeWrites` needs it. */
export interface ExchangeDecisions {
  readonly ex: Exchange;
  /** The machine's output; its `state` is set (an accepted message). */
  readonly out: StepOutput;
  /** The queue-row changes collected during the exchange. */
  readonly writes: CommandWrites;
  /** Sessions a package 1 supersedes (`QueuePlan.closeSessions`). */
  readonly closeSessions: QueuePlan['closeSessions'];
  /** Commands queued during the exchange: hooks' follow-ups, 418 retries, push setup. */
  readonly followUps: readonly FollowUp[];
  /** The server's own reads this session carries (inventory, push nodes). */
  readonly reads: readonly QueuedCommand[];
  readonly auth: Extract<AuthResult, { ok: true }>;
  /** Package 1 queued the periodic inventory refresh. */
  readonly inventoryQueued: boolean;
  /** `commandMaxAttempts`: sessions that may carry a command before it fails unanswered. */
  readonly maxAttempts: number;
}

/** The inventory reads a later message of the session must still send. */
function unsentReads(reads: readonly QueuedCommand[], state: SessionState): { inventory?: QueuedCommand[] } {
  if (reads.length === 0) return {};
  const sent = new Set(state.sentCommandIds);
  const left = reads.filter((q) => !sent.has(q.id));
  return left.length > 0 ? { inventory: left } : {};
}

/** The rows this exchange writes. */
export function exchangeWrites(d: ExchangeDecisions): ExchangeWrites {
  const { ex, out, writes, auth } = d;
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
      if (!id.startsWith(INVENTORY_ID)) writes.unanswered(id, d.maxAttempts);
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
        ...(state.status === 'active' && unsentReads(d.reads, state)),
      } satisfies StoredState),
      // A superseded session stays closed: its answers are recorded, it is not revived.
      ...(ex.superseded
        ? { status: 'closed' as const, endReason: 'superseded' }
        : { status: state.status, ...(endReason !== undefined && { endReason }) }),
    },
    closeSessions: d.closeSessions,
    enqueue: d.followUps,
    commands: writes.all(),
    inventory,
    events,
    unenroll,
    ...(opening && {
      checkIn: {
        ...(state.loginStatus !== undefined && { loginStatus: state.loginStatus }),
        inventoryQueued: d.inventoryQueued,
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
