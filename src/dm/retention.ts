// Retention of finished OMA-DM sessions: closed sessions and their sent-command rows (the
// (session, MsgID, CmdID) → command map) are deleted `sessionRetentionDays` after they ended, on a
// timer off the request path. Commands, outcomes, inventory and events are kept; active sessions
// are kept (a later package 1 supersedes them and re-queues their commands).
import type { Logger } from '../logger.js';
import type { DmSessionStore, PrunedSessions } from '../storage/dm-sessions.js';

const DAY_MS = 86_400_000;
/** Sessions deleted per transaction, so a large backlog never holds the write lock for long. */
const BATCH = 500;

export interface SessionPruningOptions {
  readonly store: Pick<DmSessionStore, 'pruneFinished'>;
  readonly retentionDays: number;
  readonly logger: Logger;
  /** Time between runs; default one hour. The first run is one interval after start. */
  readonly intervalMs?: number;
  readonly now?: () => Date;
}

export interface SessionPruning {
  /** One full pass (every batch); resolves with the totals. */
  runOnce(): Promise<PrunedSessions>;
  stop(): void;
}

export function startSessionPruning(options: SessionPruningOptions): SessionPruning {
  const now = options.now ?? (() => new Date());
  let running: Promise<PrunedSessions> | undefined;

  async function pass(): Promise<PrunedSessions> {
    const cutoff = new Date(now().getTime() - options.retentionDays * DAY_MS).toISOString();
    let sessions = 0;
    let sentNodes = 0;
    for (;;) {
      const batch = await options.store.pruneFinished(cutoff, BATCH);
      sessions += batch.sessions;
      sentNodes += batch.sentNodes;
      if (batch.sessions < BATCH) break;
      // Let waiting requests run between batches.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (sessions > 0) options.logger.info({ sessions, sentNodes, cutoff }, 'pruned finished OMA-DM sessions');
    return { sessions, sentNodes };
  }

  function runOnce(): Promise<PrunedSessions> {
    running ??= pass().finally(() => {
      running = undefined;
    });
    return running;
  }

  const timer = setInterval(() => {
    runOnce().catch((err: unknown) => options.logger.warn({ err }, 'OMA-DM session pruning failed'));
  }, options.intervalMs ?? 3_600_000);
  timer.unref();
  return { runOnce, stop: () => clearInterval(timer) };
}
