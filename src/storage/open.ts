// Opens the storage the configuration names (MDM_DATABASE_URL): SQLite at `<dataDir>/mdm.sqlite`
// by default or at a given file path, PostgreSQL for a postgres:// URL. Server and CLI open it the
// same way, so every `mdm` command works against either backend.
import { join } from 'node:path';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Storage } from './index.js';
import { openPostgresStorage } from './postgres/index.js';
import { openSqliteStorage } from './sqlite/index.js';

export type DatabaseConfig = Pick<Config, 'dataDir' | 'databaseUrl' | 'databasePoolSize'> &
  Partial<Pick<Config, 'sqliteWalLimitMb'>>;

export function isPostgresUrl(url: string | undefined): url is string {
  return url !== undefined && /^postgres(ql)?:\/\//i.test(url);
}

/** The SQLite file of a configuration without a PostgreSQL URL. */
export function sqliteFile(config: DatabaseConfig): string {
  const url = config.databaseUrl;
  if (url === undefined) return join(config.dataDir, 'mdm.sqlite');
  return url.startsWith('file:') ? url.slice('file:'.length) : url;
}

/** Where the data lives, for logs and messages (never the password). */
export function describeDatabase(config: DatabaseConfig): string {
  if (!isPostgresUrl(config.databaseUrl)) return `SQLite ${sqliteFile(config)}`;
  const u = new URL(config.databaseUrl);
  return `PostgreSQL ${u.hostname || 'localhost'}${u.port ? `:${u.port}` : ''}${u.pathname}`;
}

export interface OpenStorageOptions {
  readonly logger?: Logger;
  /**
   * `server`: one server process per SQLite database (a second one is refused), background WAL
   * checkpoints. `cli`: a command beside a running server waits up to a minute for the server's
   * write lock instead of failing.
   */
  readonly role: 'server' | 'cli';
}

export function openStorage(config: DatabaseConfig, options: OpenStorageOptions): Storage {
  if (isPostgresUrl(config.databaseUrl)) {
    return openPostgresStorage({
      url: config.databaseUrl,
      poolSize: config.databasePoolSize,
      ...(options.logger && { logger: options.logger }),
      applicationName: options.role === 'cli' ? 'mdm-cli' : 'mdm-server',
    });
  }
  return openSqliteStorage({
    file: sqliteFile(config),
    ...(config.sqliteWalLimitMb !== undefined && { walLimitBytes: config.sqliteWalLimitMb * 1024 * 1024 }),
    ...(options.role === 'cli' ? { checkpointIntervalMs: 0, busyTimeoutMs: 60_000 } : { serverLock: true }),
  });
}
