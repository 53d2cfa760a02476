import type { Migration } from '../../sql/migration.js';

/** Index for the retention pass that deletes closed OMA-DM sessions by end time. */
export const migration004: Migration = {
  version: 4,
  name: 'session_retention',
  sql: `CREATE INDEX dm_sessions_ended ON dm_sessions (status, ended_at);`,
};
