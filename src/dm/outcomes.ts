// What the device's answers mean to the rest of the server: its Status and Results for queued
// commands grouped per answered node into `CommandOutcome`s for `hooks.onCommandOutcome`, counted
// by status class for `/metrics`, and the log lines of what could not be matched or sent
// (docs/architecture.md#oma-dm-exchange-module-by-module).

import type { Logger } from '../logger.js';
import type { QueuedCommand } from '../storage/commands.js';
import type { CommandOutcome, DmHooks, FollowUpCommand, HookContext } from './hooks.js';
import type { Effect } from './types.js';

/** Status classes of the device's answers to queued commands. */
export interface DmMetrics {
  commandOutcome(origin: string, verb: string, statusClass: '2xx' | '4xx' | '5xx'): void;
}

/** The outcome hook, once per answered node, in message order; returns their follow-ups. */
export async function outcomeHooks(
  hook: DmHooks['onCommandOutcome'],
  effects: readonly Effect[],
  deviceId: string,
  ctx: HookContext,
  known: readonly QueuedCommand[],
): Promise<FollowUpCommand[]> {
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
export function countOutcomes(
  metrics: DmMetrics | undefined,
  effects: readonly Effect[],
  known: readonly QueuedCommand[],
): void {
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

/** One line per kind and message, however many answers a message carries. */
export function logEffects(log: Logger, effects: readonly Effect[], deviceId: string): void {
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
