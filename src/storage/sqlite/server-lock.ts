// One server process per SQLite database: the server holds an exclusive lock on a small companion
// file for as long as it runs (an open `BEGIN EXCLUSIVE` on `<database>-server.lock`). The operating
// system drops the lock when the process ends, however it ends, so a crash leaves nothing stale.
// The CLI does not take it: `mdm` commands share the database with the running server.
import Database from 'better-sqlite3';

export class ServerLockError extends Error {
  override name = 'ServerLockError';
}

export interface ServerLock {
  release(): void;
}

export function acquireServerLock(databaseFile: string): ServerLock {
  const file = `${databaseFile}-server.lock`;
  const db = new Database(file);
  try {
    db.pragma('busy_timeout = 0');
    db.exec('BEGIN EXCLUSIVE');
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code === 'SQLITE_BUSY') {
      throw new ServerLockError(
        `another server process is serving ${databaseFile}; one process per SQLite database ` +
          '(run several instances on PostgreSQL: MDM_DATABASE_URL=postgres://…)',
      );
    }
    throw err;
  }
  return {
    release() {
      if (db.open) db.close();
    },
  };
}
