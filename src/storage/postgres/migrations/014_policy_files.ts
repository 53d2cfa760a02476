import type { Migration } from '../../sql/migration.js';

/** As SQLite migration 19: the policy folder's YAML files kept with each revision. */
export const migration014: Migration = {
  version: 14,
  name: 'policy_files',
  sql: `
ALTER TABLE policy_revisions ADD COLUMN files TEXT;
`,
};
