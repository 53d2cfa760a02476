// The SQLite backend of `Storage`: the zero-config default, one server process per database file.
// Reads outside a transaction run on the reader connection (committed data only, never waiting).
// Every write — a transaction, or a store write made outside one — goes through one queue onto the
// writer connection (`BEGIN IMMEDIATE` … `COMMIT`). Transactions that arrive in the same event-loop
// turn share one COMMIT (group commit), each in its own savepoint: one that throws rolls back
// alone, and none resolves before the COMMIT that makes it durable.
import type { Storage } from '../index.js';
import { countStatement, type SqlClient, type SqlExecutor, transactionExecutor } from '../sql/client.js';
import { withSqlStores } from '../sql/stores.js';
import { SqliteClient } from './client.js';
import { type OpenOptions, openSqlite, SQLITE_SCHEMA_VERSION, type SqliteDb } from './database.js';

export type { OpenOptions } from './database.js';

interface Job {
  readonly work: (db: SqlClient) => Promise<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: unknown) => void;
}

/** Transactions committed together at most. */
const MAX_BATCH = 64;

/** The single writer: a FIFO of transactions, drained in batches that share a COMMIT. */
class WriteQueue {
  private readonly queue: Job[] = [];
  private readonly exec = (sql: string) => {
    const done = countStatement(sql);
    this.db.exec(sql);
    done?.(sql);
  };
  private scheduled = false;
  private running = false;
  private held = false;
  private idle: (() => void) | undefined;
  private savepoints = 0;

  constructor(
    private readonly db: SqliteDb,
    private readonly client: SqliteClient,
  ) {}

  run<T>(work: (db: SqlClient) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (v: unknown) => void, reject });
      this.schedule();
    });
  }

  /** A savepoint inside the open transaction (nested `transaction`). */
  async nested<T>(work: () => Promise<T>): Promise<T> {
    const name = `nested_${++this.savepoints}`;
    this.exec(`SAVEPOINT ${name}`);
    try {
      const result = await work();
      this.exec(`RELEASE ${name}`);
      return result;
    } catch (err) {
      if (this.db.inTransaction) this.exec(`ROLLBACK TO ${name}; RELEASE ${name}`);
      throw err;
    }
  }

  /** Stops starting batches (a WAL truncation); resolves once the running batch has committed. */
  hold(): Promise<void> {
    this.held = true;
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => {
      this.idle = resolve;
    });
  }

  release(): void {
    this.held = false;
    this.schedule();
  }

  private schedule(): void {
    if (!this.running && this.idle) {
      this.idle();
      this.idle = undefined;
    }
    if (this.held || this.running || this.scheduled || this.queue.length === 0) return;
    this.scheduled = true;
    // After the rest of this event-loop turn: exchanges parsed in the same turn join the batch.
    setImmediate(() => {
      this.scheduled = false;
      if (this.held) return; // `release` schedules again
      this.running = true;
      this.drain(this.queue.splice(0, MAX_BATCH)).finally(() => {
        this.running = false;
        this.schedule();
      });
    });
  }

  private async drain(jobs: Job[]): Promise<void> {
    const results: { ok: boolean; value: unknown }[] = [];
    try {
      this.exec('BEGIN IMMEDIATE');
    } catch (err) {
      for (const job of jobs) job.reject(err);
      return;
    }
    const alone = jobs.length === 1;
    for (const job of jobs) {
      // The engine may roll the whole transaction back (disk full, I/O error): stop there.
      if (!this.db.inTransaction) break;
      if (!alone) this.exec('SAVEPOINT job');
      try {
        const value = await job.work(this.client);
        if (!alone) this.exec('RELEASE job');
        results.push({ ok: true, value });
      } catch (err) {
        if (this.db.inTransaction) this.exec(alone ? 'ROLLBACK' : 'ROLLBACK TO job; RELEASE job');
        results.push({ ok: false, value: err });
      }
    }
    if (this.db.inTransaction) {
      try {
        this.exec('COMMIT');
      } catch (err) {
        if (this.db.inTransaction) this.exec('ROLLBACK');
        for (const job of jobs) job.reject(err);
        return;
      }
    } else if (!(alone && !results[0]!.ok)) {
      // Rolled back by the engine, not by us: no job's writes hold.
      const lost = new Error('the database rolled the transaction back');
      for (const job of jobs) job.reject(lost);
      return;
    }
    jobs.forEach((job, i) => {
      const r = results[i]!;
      if (r.ok) job.resolve(r.value);
      else job.reject(r.value);
    });
  }
}

export function openSqliteStorage(options: OpenOptions): Storage {
  const handle = openSqlite(options);
  const writerClient = new SqliteClient(handle.writer);
  const readerClient = handle.reader === handle.writer ? writerClient : new SqliteClient(handle.reader);
  const queue = new WriteQueue(handle.writer, writerClient);
  handle.setWriteGate(queue);
  let closed = false;

  const autocommit: SqlExecutor = {
    read: (work) => work(readerClient),
    write: (work) => queue.run(work),
  };

  function transactionStorage(client: SqlClient): Storage {
    const tx: Storage = withSqlStores(
      {
        backend: 'sqlite' as const,
        transaction: <T>(work: (t: Storage) => Promise<T>) => queue.nested(() => work(tx)),
        tryJobLock: async () => true,
        ready: () => storage.ready(),
        close: () => Promise.reject(new Error('close the storage, not a transaction')),
      },
      transactionExecutor(client),
    );
    return tx;
  }

  const storage: Storage = withSqlStores(
    {
      backend: 'sqlite' as const,
      transaction: (work) => queue.run((client) => work(transactionStorage(client))),
      tryJobLock: async () => true,
      async ready() {
        if (closed || !handle.writer.open) return false;
        return handle.reader.pragma('user_version', { simple: true }) === SQLITE_SCHEMA_VERSION;
      },
      async close() {
        if (closed) return;
        closed = true;
        // Let queued transactions finish before the connections go.
        await queue.run(async () => undefined).catch(() => undefined);
        handle.close();
      },
    },
    autocommit,
  );
  return storage;
}
