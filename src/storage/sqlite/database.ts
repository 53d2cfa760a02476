// SQLite connection for the server: WAL journal, NORMAL sync (safe against process crashes in WAL),
// numbered migrations tracked in `PRAGMA user_version`, and WAL checkpoints run in a worker thread
// instead of inside request handling (automatic checkpoints stall the event loop for 20–26 ms).
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { migrations } from './migrations/index.js';

export type SqliteDb = Database.Database;

export interface OpenOptions {
  /** File path, or ':memory:' for tests. */
  file: string;
  /** Interval of the background WAL checkpoint (in a worker thread); 0 disables it. Default 1 s. */
  checkpointIntervalMs?: number;
}

export interface SqliteHandle {
  readonly db: SqliteDb;
  close(): void;
}

export function openSqlite(options: OpenOptions): SqliteHandle {
  if (options.file !== ':memory:') mkdirSync(dirname(options.file), { recursive: true });
  const db = new Database(options.file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  db.pragma('wal_autocheckpoint = 0');
  migrate(db);
  const interval = options.checkpointIntervalMs ?? 1000;
  const checkpointer =
    interval > 0 && options.file !== ':memory:' ? startCheckpointer(options.file, interval) : undefined;
  return {
    db,
    close() {
      checkpointer?.stop();
      if (db.open) {
        if (options.file !== ':memory:') db.pragma('wal_checkpoint(TRUNCATE)');
        db.close();
      }
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

/** Apply every migration newer than the database's user_version, each in its own transaction. */
export function migrate(db: SqliteDb): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  for (const m of migrations) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
}
