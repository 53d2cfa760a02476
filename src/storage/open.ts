// Opens the server's storage: SQLite at `<dataDir>/mdm.sqlite`. Server and CLI open it the same
// way, so every `mdm` command works on the server's data.
import { join } from 'node:path';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Storage } from './index.js';
import { openSqliteStorage } from './sqlite/index.js';

export type DatabaseConfig = Pick<Config, 'dataDir'>;

/** The SQLite file of a configuration. */
export function sqliteFile(config: DatabaseConfig): string {
  return join(config.dataDir, 'mdm.sqlite');
}

/** Where the data lives, for logs and messages. */
export function describeDatabase(config: DatabaseConfig): string {
  return `SQLite ${sqliteFile(config)}`;
}

export interface OpenStorageOptions {
  readonly logger?: Logger;
  /**
   * `server`: background WAL checkpoints. `cli`: a command beside a running server waits up to a
   * minute for the server's write lock instead of failing.
   */
  readonly role: 'server' | 'cli';
}

export function openStorage(config: DatabaseConfig, options: OpenStorageOptions): Storage {
  return openSqliteStorage({
    file: sqliteFile(config),
    ...(options.role === 'cli' && { checkpointIntervalMs: 0, busyTimeoutMs: 60_000 }),
  });
}
