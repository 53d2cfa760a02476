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
  /** WAL size past which the checkpointer truncates the log, holding writes meanwhile. Default 64 MiB. */
  walLimitBytes?: number;
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
  /** Hands the checkpointer the writer's gate (no-op without a checkpointer). */
  setWriteGate(gate: WriteGate): void;
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
  const walLimit = options.walLimitBytes ?? 64 * 1024 * 1024;
  const checkpointer =
    interval > 0 && !memory ? startCheckpointer(options.file, interval, walLimit) : undefined;
  return {
    writer,
    reader,
    setWriteGate: (gate) => checkpointer?.gate(gate),
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
// Under steady load PASSIVE never finds a moment when the log can start over, so the WAL file grows
// without bound. Past `walLimitBytes` the worker asks the main thread to hold its write queue (the
// event loop keeps running; writes wait in the queue), runs a TRUNCATE checkpoint, which resets the
// log to zero bytes, and lets the queue go (https://www.sqlite.org/c3ref/wal_checkpoint_v2.html).
const CHECKPOINTER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { statSync } = require('node:fs');
const Database = require(workerData.module);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 5000');
let stopped = false;
let held = null;
parentPort.on('message', (msg) => {
  if (msg === 'stop') { stopped = true; if (held) held(); }
  else if (msg === 'held' && held) held();
});
const walSize = () => { try { return statSync(workerData.file + '-wal').size; } catch { return 0; } };
async function tick() {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {}
  if (!stopped && walSize() > workerData.walLimit) {
    await new Promise((r) => { held = r; parentPort.postMessage('hold'); });
    held = null;
    try { if (!stopped) db.pragma('wal_checkpoint(TRUNCATE)'); } catch {}
    parentPort.postMessage('release');
  }
  if (stopped) { db.close(); parentPort.close(); }
  else setTimeout(tick, workerData.interval);
}
setTimeout(tick, workerData.interval);
`;

/** What the checkpointer asks of the writer: hold the write queue while it truncates the WAL. */
export interface WriteGate {
  /** Resolves once no write transaction is open and none will start until `release`. */
  hold(): Promise<void>;
  release(): void;
}

/** Longest a TRUNCATE checkpoint may hold the writes; then they go on whatever the worker does. */
const MAX_HOLD_MS = 5000;

function startCheckpointer(
  file: string,
  interval: number,
  walLimit: number,
): { stop(): void; gate(g: WriteGate): void } {
  const worker = new Worker(CHECKPOINTER_SOURCE, {
    eval: true,
    workerData: {
      file,
      interval,
      walLimit,
      module: createRequire(import.meta.url).resolve('better-sqlite3'),
    },
  });
  worker.unref();
  let gate: WriteGate | undefined;
  let holding: NodeJS.Timeout | undefined;
  const release = () => {
    if (holding === undefined) return;
    clearTimeout(holding);
    holding = undefined;
    gate?.release();
  };
  worker.on('message', (msg: string) => {
    if (msg === 'hold' && gate && holding === undefined) {
      holding = setTimeout(release, MAX_HOLD_MS);
      gate.hold().then(() => worker.postMessage('held'));
    } else if (msg === 'hold') worker.postMessage('held');
    else if (msg === 'release') release();
  });
  worker.on('error', release);
  worker.on('exit', release);
  return {
    stop: () => {
      release();
      worker.postMessage('stop');
    },
    gate: (g) => {
      gate = g;
    },
  };
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
