// Numbered schema migrations, applied in order by `migrate()`. Never edit a released migration;
// add a new one. Each module exports `{ version, name, sql }`.
import type { Migration } from './migration.js';

export const migrations: readonly Migration[] = [];
