import type { Migration } from '../../sql/migration.js';

/** Console admin accounts (role-based) and their sessions (README "Web console"). */
export const migration004: Migration = {
  version: 4,
  name: 'admin_console',
  sql: `
CREATE TABLE admin_accounts (
  name          TEXT PRIMARY KEY,
  role          TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'auditor')),
  password_hash TEXT NOT NULL,
  created_at    TEXT NOT NULL
);
CREATE UNIQUE INDEX admin_accounts_name_lower ON admin_accounts (lower(name));

CREATE TABLE admin_sessions (
  id_hash      TEXT PRIMARY KEY,
  admin_name   TEXT NOT NULL,
  csrf_token   TEXT NOT NULL,
  created_at   TEXT NOT NULL,
  last_seen_at TEXT NOT NULL
);
CREATE INDEX admin_sessions_last_seen ON admin_sessions (last_seen_at);
`,
};
