import type { Migration } from '../../sql/migration.js';

/** Federated sign-in tokens spent on an enrollment: each token enrolls once (src/storage/signin-tokens.ts). */
export const migration013: Migration = {
  version: 13,
  name: 'signin_tokens',
  sql: `
CREATE TABLE used_signin_tokens (
  jti        TEXT PRIMARY KEY,
  expires_at TEXT NOT NULL,
  used_at    TEXT NOT NULL
) STRICT;
CREATE INDEX used_signin_tokens_expiry ON used_signin_tokens (expires_at);
`,
};
