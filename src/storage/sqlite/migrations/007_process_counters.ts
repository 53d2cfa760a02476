import type { Migration } from '../../sql/migration.js';

/**
 * Command-outcome counters are counted by each server process (Prometheus sums them over
 * instances); one shared row per origin/verb/class would serialise every exchange of every device.
 */
export const migration007: Migration = {
  version: 7,
  name: 'process_counters',
  sql: 'DROP TABLE command_outcomes;',
};
