// Which commands this exchange may send, and in what order (MS-MDM 2.2.1): the device's queue after
// expiry and the take-back of dead sessions' commands, the server's own inventory reads, and the
// commands the hooks queued during the exchange.
import type { EnqueueCommand, QueuedCommand } from '../storage/commands.js';
import type { CommandWrites } from './command-writes.js';
import { INVENTORY_PRIORITY, inventoryCommands } from './inventory.js';
import type { Exchange } from './session-load.js';

/** Server-generated reads have ids of their own, never a queued command's. */
export const INVENTORY_ID = 'inventory:';

/** A command queued during this exchange (a hook's follow-up, a 418 retry), with its new id. */
export type FollowUp = EnqueueCommand & { id: string };

export interface QueuePlan {
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
 * `maxAttempts`); commands of a superseded session that is still live (`liveMs`) stay with it.
 */
export function planQueue(
  ex: Exchange,
  writes: CommandWrites,
  liveMs: number,
  maxAttempts: number,
): QueuePlan {
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

/** The inventory reads of a check-in that is due (inventory.ts `inventoryDue`), as server reads. */
export function inventoryReads(nodes: readonly string[]): QueuedCommand[] {
  return inventoryCommands(nodes).map((command, i) => ({
    id: `${INVENTORY_ID}${i}`,
    command,
    origin: 'inventory' as const,
    attempts: 0,
    priority: INVENTORY_PRIORITY,
  }));
}

/** The follow-ups as queue entries the machine can send. */
export const asQueued = (list: readonly FollowUp[]): QueuedCommand[] =>
  list.map((f) => ({
    id: f.id,
    command: f.command,
    origin: f.origin,
    ...(f.tag !== undefined && { tag: f.tag }),
    attempts: 0,
    priority: f.priority ?? 0,
    ...(f.expiresAt !== undefined && { expiresAt: f.expiresAt }),
  }));

/** Stable: by priority, then queue order (Array.prototype.sort is stable). Sorts `list` in place. */
export const byPriority = (list: QueuedCommand[]): QueuedCommand[] =>
  list.sort((a, b) => (b.priority ?? 0) - (a.priority ?? 0));
