// Retention: finished OMA-DM sessions (their state documents) are deleted `sessionRetentionDays`
// after they ended, device events `deviceEventRetentionDays` after they arrived, finished commands
// (with their node records) `commandRetentionDays` after they finished and audit events
// `auditRetentionDays` after they were recorded. On a timer off the request path, by one server
// instance at a time (a fleet-wide job lock), in batches; each pass that deleted something is
// itself audited. Active sessions and pending or sent commands are kept (a later package 1
// supersedes a session and takes back its commands).
import type { Logger } from '../logger.js';
import type { Storage } from '../storage/index.js';

const DAY_MS = 86_400_000;
/** Rows deleted per transaction, so a large backlog never holds the write lock for long. */
const BATCH = 500;
const JOB = 'session-pruning';

export interface RetentionDays {
  readonly sessions: number;
  readonly deviceEvents?: number;
  readonly commands?: number;
  readonly audit?: number;
}

export interface SessionPruningOptions {
  readonly storage: Pick<Storage, 'transaction'>;
  /** Days finished sessions are kept (same as `retention.sessions`). */
  readonly retentionDays: number;
  /** Days for the other kinds; a kind without a number is kept. */
  readonly retention?: Omit<RetentionDays, 'sessions'>;
  readonly logger: Logger;
  /** Time between runs; default one hour. The first run is one interval after start. */
  readonly intervalMs?: number;
  readonly now?: () => Date;
}

export interface PrunedRows {
  readonly sessions: number;
  readonly deviceEvents: number;
  readonly commands: number;
  readonly audit: number;
}

export interface SessionPruning {
  /** One full pass (every batch); resolves with the totals (0 when another instance runs it). */
  runOnce(): Promise<PrunedRows>;
  stop(): void;
}

export function startSessionPruning(options: SessionPruningOptions): SessionPruning {
  const now = options.now ?? (() => new Date());
  let running: Promise<PrunedRows> | undefined;
  const days = { ...options.retention, sessions: options.retentionDays };

  type Kind = keyof PrunedRows;
  const prune: Record<Kind, (tx: Storage, cutoff: string) => Promise<number>> = {
    sessions: async (tx, cutoff) => (await tx.dmSessions.pruneFinished(cutoff, BATCH)).sessions,
    deviceEvents: (tx, cutoff) => tx.events.pruneBefore(cutoff, BATCH),
    commands: (tx, cutoff) => tx.commands.pruneFinished(cutoff, BATCH),
    audit: (tx, cutoff) => tx.audit.pruneBefore(cutoff, BATCH),
  };

  async function pass(): Promise<PrunedRows> {
    const totals: Record<Kind, number> = { sessions: 0, deviceEvents: 0, commands: 0, audit: 0 };
    const cutoffs: Partial<Record<Kind, string>> = {};
    for (const kind of Object.keys(prune) as Kind[]) {
      const d = days[kind];
      if (d === undefined) continue;
      const cutoff = new Date(now().getTime() - d * DAY_MS).toISOString();
      cutoffs[kind] = cutoff;
      for (;;) {
        const n = await options.storage.transaction(async (tx) =>
          (await tx.tryJobLock(JOB)) ? prune[kind](tx, cutoff) : 0,
        );
        totals[kind] += n;
        if (n < BATCH) break;
        // Let waiting requests run between batches.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
    if (Object.values(totals).some((n) => n > 0)) {
      options.logger.info({ ...totals, cutoffs }, 'retention: deleted expired rows');
      await options.storage.transaction((tx) =>
        tx.audit.record({
          actor: 'server',
          action: 'retention.prune',
          details: { deleted: totals, cutoffs },
        }),
      );
    }
    return totals;
  }

  function runOnce(): Promise<PrunedRows> {
    running ??= pass().finally(() => {
      running = undefined;
    });
    return running;
  }

  const timer = setInterval(() => {
    runOnce().catch((err: unknown) => options.logger.warn({ err }, 'retention pass failed'));
  }, options.intervalMs ?? 3_600_000);
  timer.unref();
  return { runOnce, stop: () => clearInterval(timer) };
}
