// SQLite connection for the server: WAL journal, NORMAL sync (safe against process crashes in WAL),
// numbered migrations tracked in `PRAGMA user_version`, and WAL checkpoints run on a timer instead of
// inside request handling (automatic checkpoints stall the event loop for 20–26 ms).
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { migrations } from './migrations/index.js';

export type SqliteDb = Database.Database;

export interface OpenOptions {
  /** File path, or ':memory:' for tests. */
  file: string;
  /** Interval of the background WAL checkpoint; 0 disables the timer. Default 5 s. */
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
  const interval = options.checkpointIntervalMs ?? 5000;
  const timer =
    interval > 0 && options.file !== ':memory:'
      ? setInterval(() => db.pragma('wal_checkpoint(PASSIVE)'), interval).unref()
      : undefined;
  return {
    db,
    close() {
      if (timer) clearInterval(timer);
      if (db.open) {
        if (options.file !== ':memory:') db.pragma('wal_checkpoint(TRUNCATE)');
        db.close();
      }
    },
  };
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
