import type { Migration } from '../../sql/migration.js';

/** As SQLite migration 23: the side files a revision's policies read through `file:`. */
export const migration018: Migration = {
  version: 18,
  name: 'policy_side_files',
  sql: `
ALTER TABLE policy_revisions ADD COLUMN side_files TEXT;
`,
};
