// Storage errors the HTTP layer renders as "service unavailable" (503) in each protocol's own way:
// the database is down, unreachable, still migrating, or locked by another process for too long.

export class StorageUnavailableError extends Error {
  override name = 'StorageUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export function isStorageUnavailable(err: unknown): err is StorageUnavailableError {
  return err instanceof StorageUnavailableError;
}

/** SQLite: another process held the write lock past the busy timeout. */
export function sqliteUnavailable(err: unknown): StorageUnavailableError | undefined {
  const code = (err as { code?: unknown }).code;
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
    return new StorageUnavailableError('the database is locked by another process', { cause: err });
  }
  return undefined;
}
