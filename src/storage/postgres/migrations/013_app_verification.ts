import type { Migration } from '../../sql/migration.js';

/** As SQLite migration 18: re-verification of installed apps (verified, next check, re-installs). */
export const migration013: Migration = {
  version: 13,
  name: 'app_verification',
  sql: `
ALTER TABLE device_apps ADD COLUMN verified_at TEXT;
ALTER TABLE device_apps ADD COLUMN next_check_at TEXT;
ALTER TABLE device_apps ADD COLUMN reinstalls INTEGER NOT NULL DEFAULT 0;
`,
};
