// Numbered schema migrations, applied in order by `migrate()`. Never edit a released migration;
// add a new one. Each module exports `{ version, name, sql }`.

import type { Migration } from '../../sql/migration.js';
import { migration001 } from './001_enrollment.js';
import { migration002 } from './002_dm.js';
import { migration003 } from './003_policy.js';
import { migration004 } from './004_session_retention.js';
import { migration005 } from './005_setting_failure_retries.js';
import { migration006 } from './006_explicit_transactions.js';
import { migration007 } from './007_process_counters.js';
import { migration008 } from './008_api.js';
import { migration009 } from './009_admin_console.js';
import { migration010 } from './010_apps.js';
import { migration011 } from './011_webhooks.js';
import { migration012 } from './012_device_push.js';
import { migration013 } from './013_signin_tokens.js';
import { migration014 } from './014_scep.js';
import { migration015 } from './015_audit_delivery.js';
import { migration016 } from './016_certificate_profiles.js';
import { migration018 } from './018_app_verification.js';
import { migration019 } from './019_policy_files.js';
import { migration023 } from './023_policy_side_files.js';

export const migrations: readonly Migration[] = [
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
  migration012,
  migration013,
  migration014,
  migration015,
  migration016,
  migration018,
  migration019,
  migration023,
];
