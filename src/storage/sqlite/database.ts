// SQLite connections for one process: a writer (WAL journal, NORMAL sync: safe against process
// crashes in WAL) and, for a database file, a reader that sees only committed data, so reads never
// wait behind an open transaction. Numbered migrations are tracked in `PRAGMA user_version`; WAL
// checkpoints run in a worker thread instead of inside request handling (automatic checkpoints
// stall the event loop for 20–26 ms).
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { migrations } from './migrations/index.js';
import { acquireServerLock } from './server-lock.js';

export type SqliteDb = Database.Database;

export interface OpenOptions {
  /** File path, or ':memory:' for tests. */
  file: string;
  /** Interval of the background WAL checkpoint (in a worker thread); 0 disables it. Default 1 s. */
  checkpointIntervalMs?: number;
  /** The server process: refuse to open a database another server process has open. */
  serverLock?: boolean;
  /**
   * How long a write waits for another process's write lock (the CLI beside a running server)
   * before it fails with "database is locked". Default 5 s.
   */
  busyTimeoutMs?: number;
}

export interface SqliteHandle {
  readonly writer: SqliteDb;
  /** Same connection as `writer` for ':memory:'. */
  readonly reader: SqliteDb;
  close(): void;
}

export function openSqlite(options: OpenOptions): SqliteHandle {
  const memory = options.file === ':memory:';
  if (!memory) mkdirSync(dirname(options.file), { recursive: true });
  const lock = options.serverLock && !memory ? acquireServerLock(options.file) : undefined;
  const busy = options.busyTimeoutMs ?? 5000;
  const writer = new Database(options.file);
  try {
    writer.pragma('journal_mode = WAL');
    writer.pragma('synchronous = NORMAL');
    writer.pragma('foreign_keys = ON');
    writer.pragma(`busy_timeout = ${busy}`);
    writer.pragma('wal_autocheckpoint = 0');
    migrate(writer);
  } catch (err) {
    writer.close();
    lock?.release();
    throw err;
  }
  let reader = writer;
  if (!memory) {
    reader = new Database(options.file);
    reader.pragma(`busy_timeout = ${busy}`);
    reader.pragma('query_only = ON');
  }
  const interval = options.checkpointIntervalMs ?? 1000;
  const checkpointer = interval > 0 && !memory ? startCheckpointer(options.file, interval) : undefined;
  return {
    writer,
    reader,
    close() {
      checkpointer?.stop();
      if (reader !== writer && reader.open) reader.close();
      if (writer.open) {
        if (!memory) writer.pragma('wal_checkpoint(TRUNCATE)');
        writer.close();
      }
      lock?.release();
    },
  };
}

// The checkpointer: a worker thread with its own connection copies WAL frames into the database
// file. PASSIVE never blocks the server's writer, and the event loop never runs a checkpoint (a
// timer on the main thread stalled it for up to 250 ms at 100,000 devices; bench/README.md).
const CHECKPOINTER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 5000');
const timer = setInterval(() => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {}
}, workerData.interval);
parentPort.once('message', () => { clearInterval(timer); db.close(); parentPort.close(); });
`;

function startCheckpointer(file: string, interval: number): { stop(): void } {
  const worker = new Worker(CHECKPOINTER_SOURCE, {
    eval: true,
    workerData: { file, interval, module: createRequire(import.meta.url).resolve('better-sqlite3') },
  });
  worker.unref();
  worker.on('error', () => undefined);
  return { stop: () => worker.postMessage('stop') };
}

/** The schema version this build writes. */
export const SQLITE_SCHEMA_VERSION = migrations.at(-1)!.version;

/** Apply every migration newer than the database's user_version, each in its own transaction. */
export function migrate(db: SqliteDb): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SQLITE_SCHEMA_VERSION) {
    throw new Error(
      `database schema version ${current} is newer than this server (${SQLITE_SCHEMA_VERSION}); upgrade the server`,
    );
  }
  for (const m of migrations) {
    if (m.version <= current) continue;
    db.exec('BEGIN IMMEDIATE');
    try {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
      db.exec('COMMIT');
    } catch (err) {
      db.exec('ROLLBACK');
      throw err;
    }
  }
}
