import type { Migration } from '../../sql/migration.js';

/** As SQLite migration 8: Federated sign-in tokens spent on an enrollment. */
export const migration008: Migration = {
  version: 8,
  name: 'signin_tokens',
  sql: `
CREATE TABLE used_signin_tokens (
  jti        TEXT PRIMARY KEY,
  expires_at TEXT NOT NULL,
  used_at    TEXT NOT NULL
);
CREATE INDEX used_signin_tokens_expiry ON used_signin_tokens (expires_at);
`,
};
