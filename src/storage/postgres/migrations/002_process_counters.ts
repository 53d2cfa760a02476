import type { Migration } from '../../sql/migration.js';

/** As SQLite migration 7: command-outcome counters are per process. */
export const migration002: Migration = {
  version: 2,
  name: 'process_counters',
  sql: 'DROP TABLE command_outcomes;',
};
