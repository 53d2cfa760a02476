import type { Migration } from '../../sql/migration.js';

/**
 * Audit delivery to a SIEM (syslog, JSON lines file): the audit log itself is the buffer, and each
 * destination keeps the id of the last entry it took; `at` is indexed for export and retention.
 */
export const migration008: Migration = {
  version: 8,
  name: 'audit_delivery',
  sql: `
CREATE TABLE audit_delivery (
  sink       TEXT PRIMARY KEY,
  last_id    INTEGER NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at, id);
`,
};
