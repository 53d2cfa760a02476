import type { Migration } from '../../sql/migration.js';

/** The policy folder's YAML files kept with each revision (JSON: relative name → text), for reading it back. */
export const migration019: Migration = {
  version: 19,
  name: 'policy_files',
  sql: `
ALTER TABLE policy_revisions ADD COLUMN files TEXT;
`,
};
