// Retention (README "Retention"): finished OMA-DM sessions (their state documents) are deleted
// `sessionRetentionDays` after they ended, device events `deviceEventRetentionDays` after they
// arrived, finished commands (with their node records) `commandRetentionDays` after they finished
// and audit events `auditRetentionDays` after they were recorded. A device with no live enrollment
// (retired or unenrolled) loses all its data `retiredDeviceRetentionDays` after its last enrollment
// ended (data disposition), each device's removal audited with what went, in the same transaction.
// On a timer off the request path, by one server instance at a time (a fleet-wide job lock), in
// batches; each pass that deleted something is itself audited. Active sessions and pending or sent
// commands are kept (a later package 1 supersedes a session and takes back its commands).
import type { Logger } from '../logger.js';
import type { Storage } from '../storage/index.js';

const DAY_MS = 86_400_000;
/** Rows deleted per transaction, so a large backlog never holds the write lock for long. */
const BATCH = 500;
/** Retired devices removed per transaction (each with all its rows). */
const DEVICE_BATCH = 20;
const JOB = 'session-pruning';

export interface RetentionDays {
  readonly sessions: number;
  readonly deviceEvents?: number;
  readonly commands?: number;
  readonly audit?: number;
  readonly retiredDevices?: number;
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
  /** Retired devices whose data was removed (and devices whose kept SCEP certificates expired). */
  readonly retiredDevices: number;
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
  /** Each returns how much it deleted and the size of a full batch (another batch follows a full one). */
  const prune: Record<Kind, (tx: Storage, cutoff: string) => Promise<[number, number]>> = {
    sessions: async (tx, cutoff) => [(await tx.dmSessions.pruneFinished(cutoff, BATCH)).sessions, BATCH],
    deviceEvents: async (tx, cutoff) => [await tx.events.pruneBefore(cutoff, BATCH), BATCH],
    commands: async (tx, cutoff) => [await tx.commands.pruneFinished(cutoff, BATCH), BATCH],
    retiredDevices: async (tx, cutoff) => [await disposeRetired(tx, cutoff), DEVICE_BATCH],
    audit: async (tx, cutoff) => [await tx.audit.pruneBefore(cutoff, BATCH), BATCH],
  };

  /** Removes up to a batch of retired devices past `cutoff`, each audited with what went. */
  async function disposeRetired(tx: Storage, cutoff: string): Promise<number> {
    const at = now().toISOString();
    let n = 0;
    for (const d of await tx.devices.listRetired(cutoff, DEVICE_BATCH)) {
      const removed = await tx.devices.removeRetired(d.deviceId, cutoff, at);
      if (!removed) continue;
      n++;
      await tx.audit.record({
        actor: 'server',
        action: 'retention.dispose',
        deviceId: d.deviceId,
        details: { unenrolledAt: d.unenrolledAt, retentionDays: days.retiredDevices, removed },
      });
    }
    if (n >= DEVICE_BATCH) return n;
    // Then the SCEP certificates a removal kept while they were valid, once they expired.
    for (const d of await tx.devices.removeExpiredScepOfRemoved(at, DEVICE_BATCH - n)) {
      n++;
      await tx.audit.record({
        actor: 'server',
        action: 'retention.dispose',
        deviceId: d.deviceId,
        details: { removed: { scepCertificates: d.scepCertificates } },
      });
    }
    return n;
  }

  async function pass(): Promise<PrunedRows> {
    const totals: Record<Kind, number> = {
      sessions: 0,
      deviceEvents: 0,
      commands: 0,
      retiredDevices: 0,
      audit: 0,
    };
    const cutoffs: Partial<Record<Kind, string>> = {};
    for (const kind of Object.keys(prune) as Kind[]) {
      const d = days[kind];
      if (d === undefined) continue;
      const cutoff = new Date(now().getTime() - d * DAY_MS).toISOString();
      cutoffs[kind] = cutoff;
      for (;;) {
        const [n, full] = await options.storage.transaction(async (tx) =>
          (await tx.tryJobLock(JOB)) ? prune[kind](tx, cutoff) : [0, 1],
        );
        totals[kind] += n;
        if (n < full) break;
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
