// Both storage backends for the suites that must hold on each: SQLite (a temp file) and PostgreSQL
// (a fresh database on the run's test cluster, see postgres-global.ts). A PostgreSQL suite is
// skipped with the install hint when the cluster is missing (CI fails the run instead).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, inject } from 'vitest';
import type { Storage } from '../../src/storage/index.js';
import { openStorage } from '../../src/storage/open.js';
import { createTestDatabase, INSTALL_HINT } from './postgres.js';

export type BackendName = 'sqlite' | 'postgres';

export interface TestDatabase {
  /** `databaseUrl` for the server configuration (undefined = SQLite in `dataDir`). */
  readonly databaseUrl?: string;
  readonly dataDir: string;
  open(): Storage;
  /** Removes the temp dir (the test cluster's databases go with the cluster). */
  cleanup(): void;
}

export const postgresAvailable = (): boolean => inject('postgresAdminUrl') !== '';

/** A fresh, migrated, empty database on the run's PostgreSQL test cluster. */
export async function postgresTestUrl(): Promise<string> {
  const admin = inject('postgresAdminUrl');
  if (!admin) throw new Error(INSTALL_HINT);
  return createTestDatabase(admin);
}

/** A fresh, migrated, empty database of `backend`. */
export async function testDatabase(backend: BackendName): Promise<TestDatabase> {
  const dataDir = mkdtempSync(join(tmpdir(), `mdm-${backend}-`));
  const databaseUrl =
    backend === 'postgres' ? await createTestDatabase(inject('postgresAdminUrl')) : undefined;
  const config = { dataDir, databaseUrl, databasePoolSize: 10 };
  return {
    ...(databaseUrl && { databaseUrl }),
    dataDir,
    open: () => openStorage(config, { role: 'server' }),
    cleanup: () => rmSync(dataDir, { recursive: true, force: true }),
  };
}

/** `describe` once per backend; the PostgreSQL one skips (with the install hint) when unavailable. */
export function describeBackends(title: string, body: (backend: BackendName) => void): void {
  describe.each(['sqlite', 'postgres'] as const)(`${title} [%s]`, (backend) => {
    if (backend === 'postgres' && !postgresAvailable()) {
      describe.skip(INSTALL_HINT, () => body(backend));
      return;
    }
    body(backend);
  });
}
