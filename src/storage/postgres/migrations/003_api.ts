import type { Migration } from '../../sql/migration.js';

/** As SQLite migration 8: API token roles, audit log indexes for the API's filters. */
export const migration003: Migration = {
  version: 3,
  name: 'api',
  sql: `
ALTER TABLE api_tokens ADD COLUMN role TEXT NOT NULL DEFAULT 'admin'
  CHECK (role IN ('admin', 'operator', 'auditor'));
CREATE INDEX audit_log_actor ON audit_log (actor, id);
CREATE INDEX audit_log_action ON audit_log (action, id);
`,
};
