import type { Migration } from '../../sql/migration.js';

/** As SQLite migration 8: the delivery position of each audit destination, `at` and the retention times indexed. */
export const migration010: Migration = {
  version: 10,
  name: 'audit_delivery',
  sql: `
CREATE TABLE audit_delivery (
  sink       TEXT PRIMARY KEY,
  last_id    BIGINT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at, id);
CREATE INDEX dm_commands_completed ON dm_commands (completed_at);
CREATE INDEX device_events_received ON device_events (received_at);
`,
};
