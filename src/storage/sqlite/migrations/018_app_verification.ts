import type { Migration } from '../../sql/migration.js';

/**
 * Re-verification of installed apps (docs/apps.md "Re-verification"): when the device last
 * confirmed the app, when it is read again, and how often it was re-installed after the device
 * reported it missing or at another version.
 */
export const migration018: Migration = {
  version: 18,
  name: 'app_verification',
  sql: `
ALTER TABLE device_apps ADD COLUMN verified_at TEXT;
ALTER TABLE device_apps ADD COLUMN next_check_at TEXT;
ALTER TABLE device_apps ADD COLUMN reinstalls INTEGER NOT NULL DEFAULT 0;
`,
};
