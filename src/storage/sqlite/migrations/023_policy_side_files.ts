import type { Migration } from '../../sql/migration.js';

/**
 * The side files a revision's policies read through `file:` (ADMX, XML payloads, certificates,
 * packages), kept with it like its YAML files (JSON: relative name → `{ text }` or `{ base64 }`).
 */
export const migration023: Migration = {
  version: 23,
  name: 'policy_side_files',
  sql: `
ALTER TABLE policy_revisions ADD COLUMN side_files TEXT;
`,
};
