import type { Migration } from '../../sql/migration.js';

/** Console admin accounts (role-based) and their sessions (README "Web console"). */
export const migration009: Migration = {
  version: 9,
  name: 'admin_console',
  sql: `
CREATE TABLE admin_accounts (
  name          TEXT PRIMARY KEY COLLATE NOCASE,
  role          TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'auditor')),
  password_hash TEXT NOT NULL,
  created_at    TEXT NOT NULL
) STRICT;

CREATE TABLE admin_sessions (
  id_hash      TEXT PRIMARY KEY,
  admin_name   TEXT NOT NULL,
  csrf_token   TEXT NOT NULL,
  created_at   TEXT NOT NULL,
  last_seen_at TEXT NOT NULL
) STRICT;
CREATE INDEX admin_sessions_last_seen ON admin_sessions (last_seen_at);
`,
};
