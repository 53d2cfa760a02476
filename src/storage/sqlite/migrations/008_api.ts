import type { Migration } from '../../sql/migration.js';

/**
 * The admin API (docs/api.md): every API token has a role (tokens created before roles existed
 * keep full access as `admin`); the audit log is filtered by actor and action.
 */
export const migration008: Migration = {
  version: 8,
  name: 'api',
  sql: `
ALTER TABLE api_tokens ADD COLUMN role TEXT NOT NULL DEFAULT 'admin'
  CHECK (role IN ('admin', 'operator', 'auditor'));
CREATE INDEX audit_log_actor ON audit_log (actor, id);
CREATE INDEX audit_log_action ON audit_log (action, id);
`,
};
