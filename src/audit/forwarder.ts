// Delivers the audit log to its destinations (syslog, JSON lines file), in order, from the database:
// the audit log is the buffer and each destination's position (the last id it took) is stored
// beside it, so a SIEM outage or a server restart loses nothing; entries are sent again from that
// position once the destination answers. The backlog per destination is bounded
// (`auditBufferMax`): beyond it the oldest are skipped, and that is logged. On PostgreSQL one
// instance at a time delivers to a destination (a job lock per destination).
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { AuditLog } from '../storage/audit.js';
import type { Storage } from '../storage/index.js';
import { type AuditSink, jsonLinesSink, syslogSink } from './sinks.js';

const BATCH = 500;

export interface AuditForwarderOptions {
  readonly storage: Pick<Storage, 'audit' | 'transaction' | 'backend'>;
  readonly sinks: readonly AuditSink[];
  readonly logger: Logger;
  readonly bufferMax: number;
  /** Time between passes (default 1 s); after a failure it doubles up to 30 s. */
  readonly intervalMs?: number;
}

export interface AuditForwarder {
  /** One pass over every destination; resolves with the entries delivered. */
  runOnce(): Promise<number>;
  stop(): Promise<void>;
}

/** The destinations the configuration names. */
export function configuredSinks(config: Config): AuditSink[] {
  const sinks: AuditSink[] = [];
  if (config.syslogUrl)
    sinks.push(syslogSink(config.syslogUrl, { ...(config.syslogCa && { caFile: config.syslogCa }) }));
  if (config.auditFile)
    sinks.push(
      jsonLinesSink(config.auditFile, { maxBytes: config.auditFileMaxBytes, keep: config.auditFileKeep }),
    );
  return sinks;
}

export function startAuditForwarder(options: AuditForwarderOptions): AuditForwarder {
  const { storage, logger } = options;
  const interval = options.intervalMs ?? 1000;
  const failing = new Map<string, string>();
  let delay = interval;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let running: Promise<number> | undefined;

  /** Runs `work` on the audit log; on PostgreSQL only while holding the destination's job lock. */
  const withLog = (sink: AuditSink, work: (log: AuditLog) => Promise<number>): Promise<number> =>
    storage.backend === 'postgres'
      ? storage.transaction(async (tx) =>
          (await tx.tryJobLock(`audit-delivery:${sink.name}`)) ? work(tx.audit) : 0,
        )
      : work(storage.audit);

  async function deliver(sink: AuditSink, log: AuditLog): Promise<number> {
    let position = await log.deliveredUpTo(sink.name);
    const last = await log.lastId();
    if (position === undefined) {
      // A new destination starts with the entries recorded from now on (`mdm audit export` has the past).
      await log.markDelivered(sink.name, last);
      return 0;
    }
    if (last - position > options.bufferMax) {
      const skipped = last - options.bufferMax - position;
      logger.error(
        { sink: sink.name, skipped },
        'audit delivery backlog over auditBufferMax; oldest entries skipped',
      );
      position = last - options.bufferMax;
      await log.markDelivered(sink.name, position);
    }
    let sent = 0;
    for (;;) {
      const entries = await log.after(position, { limit: BATCH });
      if (entries.length === 0) break;
      await sink.send(entries);
      position = entries.at(-1)!.id;
      await log.markDelivered(sink.name, position);
      sent += entries.length;
      if (entries.length < BATCH) break;
    }
    return sent;
  }

  async function pass(): Promise<number> {
    let total = 0;
    let failed = false;
    for (const sink of options.sinks) {
      try {
        total += await withLog(sink, (log) => deliver(sink, log));
        if (failing.has(sink.name)) {
          logger.info({ sink: sink.name }, 'audit delivery resumed');
          failing.delete(sink.name);
        }
      } catch (err) {
        failed = true;
        const message = (err as Error).message;
        // One line per outage, not one per retry.
        if (failing.get(sink.name) !== message)
          logger.warn(
            { sink: sink.name, err: message },
            'audit delivery failed; kept in the database, retrying',
          );
        failing.set(sink.name, message);
      }
    }
    delay = failed ? Math.min(delay * 2, 30_000) : interval;
    return total;
  }

  function runOnce(): Promise<number> {
    running ??= pass().finally(() => {
      running = undefined;
    });
    return running;
  }

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      runOnce()
        .catch(() => undefined)
        .finally(schedule);
    }, delay);
    timer.unref();
  };
  schedule();

  return {
    runOnce,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      // What is recorded up to the stop is sent if the destination answers (else kept for next start).
      await (running ?? Promise.resolve(0)).catch(() => 0);
      await pass().catch(() => 0);
      for (const s of options.sinks) s.close();
    },
  };
}
