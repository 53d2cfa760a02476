// PostgreSQL schema migrations, applied in order by `migratePostgres` under an advisory lock.
// Never edit a released migration; add a new one.
import type { Migration } from '../../sql/migration.js';
import { migration001 } from './001_schema.js';
import { migration002 } from './002_process_counters.js';
import { migration003 } from './003_audit_delivery.js';

export const postgresMigrations: readonly Migration[] = [migration001, migration002, migration003];
