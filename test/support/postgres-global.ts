// Vitest global setup: one throwaway PostgreSQL cluster for the whole run, with a migrated template
// database that every test database copies. Without PostgreSQL the PostgreSQL suites skip with a
// message; with MDM_TEST_REQUIRE containing `postgres` (CI) its absence fails the run instead.
import type { TestProject } from 'vitest/node';
import { INSTALL_HINT, postgresBinDir, prepareTemplate, startTestPostgres } from './postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser URL of the test cluster, '' when PostgreSQL is not installed. */
    postgresAdminUrl: string;
  }
}

export function requiredServices(): string[] {
  return (process.env.MDM_TEST_REQUIRE ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export default async function setup(project: TestProject): Promise<() => void> {
  const bin = postgresBinDir();
  if (!bin) {
    if (requiredServices().includes('postgres')) throw new Error(`${INSTALL_HINT} (MDM_TEST_REQUIRE)`);
    console.warn(`\n${INSTALL_HINT}; skipping them.\n`);
    project.provide('postgresAdminUrl', '');
    return () => undefined;
  }
  const server = await startTestPostgres(bin);
  await prepareTemplate(server.adminUrl);
  project.provide('postgresAdminUrl', server.adminUrl);
  return () => server.stop();
}
