// PostgreSQL schema migrations, applied in order by `migratePostgres` under an advisory lock.
// Never edit a released migration; add a new one.
import type { Migration } from '../../sql/migration.js';
import { migration001 } from './001_schema.js';
import { migration002 } from './002_process_counters.js';
import { migration003 } from './003_api.js';
import { migration004 } from './004_admin_console.js';
import { migration005 } from './005_apps.js';
import { migration006 } from './006_webhooks.js';
import { migration007 } from './007_device_push.js';
import { migration008 } from './008_signin_tokens.js';
import { migration009 } from './009_scep.js';
import { migration010 } from './010_audit_delivery.js';
import { migration011 } from './011_certificate_profiles.js';
import { migration013 } from './013_app_verification.js';
import { migration014 } from './014_policy_files.js';
import { migration018 } from './018_policy_side_files.js';

export const postgresMigrations: readonly Migration[] = [
  migration001,
  migration002,
  migration003,
  migration004,
  migration005,
  migration006,
  migration007,
  migration008,
  migration009,
  migration010,
  migration011,
  migration013,
  migration014,
  migration018,
];
