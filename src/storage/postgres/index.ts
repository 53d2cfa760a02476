// The PostgreSQL backend of `Storage`: any number of server instances on one database. Statements
// outside a transaction run on any pooled connection; `transaction` checks one out for
// BEGIN … COMMIT. Exchanges of different devices run concurrently; one device's exchanges are
// serialised by a transaction-level advisory lock (sql/locks.ts). Migrations run once, under an
// advisory lock, before the first statement; while the database is unreachable every call fails
// with `StorageUnavailableError` (the HTTP layer answers 503) and the next call tries again.
import pg from 'pg';
import type { Logger } from '../../logger.js';
import { StorageUnavailableError } from '../errors.js';
import type { Storage } from '../index.js';
import { type SqlClient, type SqlExecutor, transactionExecutor } from '../sql/client.js';
import { LOCK_CLASS, tryJobLock } from '../sql/locks.js';
import { withSqlStores } from '../sql/stores.js';
import { PgClient } from './client.js';
import { postgresMigrations } from './migrations/index.js';

export interface PostgresOptions {
  /** `postgres://user:pass@host:port/db` (or `postgresql://`). */
  readonly url: string;
  /** Connections in the pool. Default 10. */
  readonly poolSize?: number;
  readonly logger?: Logger;
  /** Shown in pg_stat_activity. */
  readonly applicationName?: string;
}

/** The schema version this build writes. */
export const POSTGRES_SCHEMA_VERSION = postgresMigrations.at(-1)!.version;

/** BIGINT (identity ids, COUNT) as a JS number: every id and count here stays below 2^53. */
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === pg.types.builtins.INT8
      ? (value: string) => Number(value)
      : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

// Connection-level failures (the server is down, restarting, unreachable, out of connections).
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
  '08000',
  '08001',
  '08003',
  '08006',
]);

function unavailable(err: unknown): StorageUnavailableError | undefined {
  if (err instanceof StorageUnavailableError) return err;
  const e = err as { code?: string; message?: string };
  const message = e.message ?? '';
  if (
    (e.code && UNAVAILABLE_CODES.has(e.code)) ||
    /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(
      message,
    )
  ) {
    return new StorageUnavailableError(`the database is unavailable: ${message || e.code}`, { cause: err });
  }
  return undefined;
}

const mapError = (err: unknown): unknown => unavailable(err) ?? err;

/** Serialization failure and deadlock: the transaction is retried from the start. */
const RETRYABLE = new Set(['40001', '40P01']);
const MAX_ATTEMPTS = 3;

/** Applies every migration newer than the database's, once across all instances starting together. */
export async function migratePostgres(pool: pg.Pool, logger?: Logger): Promise<number> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1, 0)', [LOCK_CLASS.migrations]);
    try {
      await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`);
      const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
      const done = new Set(rows.map((r) => Number(r.version)));
      const newest = Math.max(0, ...done);
      if (newest > POSTGRES_SCHEMA_VERSION) {
        throw new Error(
          `database schema version ${newest} is newer than this server (${POSTGRES_SCHEMA_VERSION}); upgrade the server`,
        );
      }
      let applied = 0;
      for (const m of postgresMigrations) {
        if (done.has(m.version)) continue;
        await client.query('BEGIN');
        try {
          await client.query(m.sql);
          await client.query(
            'INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)',
            [m.version, m.name, new Date().toISOString()],
          );
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK');
          throw err;
        }
        applied++;
        logger?.info({ version: m.version, name: m.name }, 'database migration applied');
      }
      return applied;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1, 0)', [LOCK_CLASS.migrations]);
    }
  } finally {
    client.release();
  }
}

export function openPostgresStorage(options: PostgresOptions): Storage {
  const logger = options.logger;
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize ?? 10,
    types,
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30_000,
    application_name: options.applicationName ?? 'windows-mdm-server',
  });
  // An idle connection that breaks (database restart) must never take the process down.
  pool.on('error', (err) => logger?.warn({ err: err.message }, 'database connection lost'));
  const poolClient = new PgClient(pool);
  let closed = false;

  let migrated = false;
  let migrating: Promise<void> | undefined;
  function ensureMigrated(): Promise<void> {
    if (migrated) return Promise.resolve();
    if (closed) return Promise.reject(new StorageUnavailableError('the storage is closed'));
    migrating ??= migratePostgres(pool, logger).then(
      () => {
        migrated = true;
      },
      (err: unknown) => {
        migrating = undefined;
        throw mapError(err);
      },
    );
    return migrating;
  }

  async function withConnection<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    await ensureMigrated();
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      throw mapError(err);
    }
    let broken: Error | undefined;
    // A checked-out connection the server ends between two statements (a restart, an admin
    // terminating it) emits 'error' with no query to fail: without a listener that kills the
    // process. The next statement on it fails and the connection is discarded on release.
    const lost = (err: Error) => {
      broken ??= err;
      logger?.warn({ err: err.message }, 'database connection lost');
    };
    client.on('error', lost);
    try {
      return await work(client);
    } catch (err) {
      if (unavailable(err)) broken ??= err as Error;
      throw mapError(err);
    } finally {
      client.off('error', lost);
      client.release(broken);
    }
  }

  /** BEGIN … COMMIT on one connection, retried on serialization failures and deadlocks. */
  async function inTransaction<T>(work: (client: SqlClient) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await withConnection(async (client) => {
          const tx = new PgClient(client);
          await tx.run('BEGIN');
          try {
            const result = await work(tx);
            await tx.run('COMMIT');
            return result;
          } catch (err) {
            await tx.run('ROLLBACK').catch(() => undefined);
            throw err;
          }
        });
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code && RETRYABLE.has(code) && attempt < MAX_ATTEMPTS) continue;
        throw err;
      }
    }
  }

  const autocommit: SqlExecutor = {
    async read(work) {
      await ensureMigrated();
      try {
        return await work(poolClient);
      } catch (err) {
        throw mapError(err);
      }
    },
    write: (work) => inTransaction(work),
  };

  function transactionStorage(client: SqlClient): Storage {
    let savepoints = 0;
    const tx: Storage = withSqlStores(
      {
        backend: 'postgres' as const,
        async transaction<T>(work: (t: Storage) => Promise<T>): Promise<T> {
          const name = `nested_${++savepoints}`;
          await client.run(`SAVEPOINT ${name}`);
          try {
            const result = await work(tx);
            await client.run(`RELEASE SAVEPOINT ${name}`);
            return result;
          } catch (err) {
            await client.run(`ROLLBACK TO SAVEPOINT ${name}`);
            throw err;
          }
        },
        tryJobLock: (name: string) => tryJobLock(client, name),
        ready: () => storage.ready(),
        close: () => Promise.reject(new Error('close the storage, not a transaction')),
      },
      transactionExecutor(client),
    );
    return tx;
  }

  const storage: Storage = withSqlStores(
    {
      backend: 'postgres' as const,
      transaction: (work) => inTransaction((client) => work(transactionStorage(client))),
      tryJobLock: () => Promise.reject(new Error('tryJobLock holds only inside a transaction')),
      async ready() {
        try {
          await ensureMigrated();
          const row = await poolClient.get<{ version: number }>(
            'SELECT max(version) AS version FROM schema_migrations',
          );
          return Number(row?.version) === POSTGRES_SCHEMA_VERSION;
        } catch {
          return false;
        }
      },
      async close() {
        if (closed) return;
        closed = true;
        await pool.end();
      },
    },
    autocommit,
  );
  return storage;
}

/** Runs the migrations now (`mdm db migrate`, server start); resolves with how many were applied. */
export async function migratePostgresUrl(url: string, logger?: Logger): Promise<number> {
  const pool = new pg.Pool({ connectionString: url, max: 1, types, connectionTimeoutMillis: 5000 });
  pool.on('error', () => undefined);
  try {
    return await migratePostgres(pool, logger);
  } catch (err) {
    throw mapError(err);
  } finally {
    await pool.end();
  }
}
