// Retention of finished OMA-DM sessions: closed sessions (their state documents) are deleted
// `sessionRetentionDays` after they ended, on a timer off the request path, by one server instance
// at a time (a fleet-wide job lock). Commands with their node records, inventory and events are
// kept; active sessions are kept (a later package 1 supersedes them and takes back their commands).
import type { Logger } from '../logger.js';
import type { PrunedSessions } from '../storage/dm-sessions.js';
import type { Storage } from '../storage/index.js';

const DAY_MS = 86_400_000;
/** Sessions deleted per transaction, so a large backlog never holds the write lock for long. */
const BATCH = 500;
const JOB = 'session-pruning';

export interface SessionPruningOptions {
  readonly storage: Pick<Storage, 'transaction'>;
  readonly retentionDays: number;
  readonly logger: Logger;
  /** Time between runs; default one hour. The first run is one interval after start. */
  readonly intervalMs?: number;
  readonly now?: () => Date;
}

export interface SessionPruning {
  /** One full pass (every batch); resolves with the totals (0 when another instance runs it). */
  runOnce(): Promise<PrunedSessions>;
  stop(): void;
}

export function startSessionPruning(options: SessionPruningOptions): SessionPruning {
  const now = options.now ?? (() => new Date());
  let running: Promise<PrunedSessions> | undefined;

  async function pass(): Promise<PrunedSessions> {
    const cutoff = new Date(now().getTime() - options.retentionDays * DAY_MS).toISOString();
    let sessions = 0;
    for (;;) {
      const batch = await options.storage.transaction(async (tx) =>
        (await tx.tryJobLock(JOB)) ? tx.dmSessions.pruneFinished(cutoff, BATCH) : { sessions: 0 },
      );
      sessions += batch.sessions;
      if (batch.sessions < BATCH) break;
      // Let waiting requests run between batches.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (sessions > 0) options.logger.info({ sessions, cutoff }, 'pruned finished OMA-DM sessions');
    return { sessions };
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
