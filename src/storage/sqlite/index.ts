// The SQLite implementation of `Storage`.
import type { Storage } from '../index.js';
import { type OpenOptions, openSqlite } from './database.js';

export function openSqliteStorage(options: OpenOptions): Storage {
  const handle = openSqlite(options);
  return {
    close: () => handle.close(),
  };
}
