import type { Migration } from '../../sql/migration.js';

/**
 * Audit delivery to a SIEM (syslog, JSON lines file): the audit log itself is the buffer, and each
 * destination keeps the id of the last entry it took; `at` is indexed for export and retention, and so are the times the retention of commands and device events goes by.
 */
export const migration015: Migration = {
  version: 15,
  name: 'audit_delivery',
  sql: `
CREATE TABLE audit_delivery (
  sink       TEXT PRIMARY KEY,
  last_id    INTEGER NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at, id);
CREATE INDEX dm_commands_completed ON dm_commands (completed_at);
CREATE INDEX device_events_received ON device_events (received_at);
`,
};
