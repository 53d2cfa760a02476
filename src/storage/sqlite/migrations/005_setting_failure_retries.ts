import type { Migration } from '../../sql/migration.js';

/** Re-applies of a setting that failed with a transient (5xx) device status, bounded per desired value. */
export const migration005: Migration = {
  version: 5,
  name: 'setting_failure_retries',
  sql: `ALTER TABLE device_settings ADD COLUMN fail_retries INTEGER NOT NULL DEFAULT 0;`,
};
