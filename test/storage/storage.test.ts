// The conformance suite on both backends: SQLite on a temp file (writer and reader connections)
// and in memory, PostgreSQL on a fresh database of the run's test cluster.
import { describe } from 'vitest';
import { openSqliteStorage } from '../../src/storage/sqlite/index.js';
import { postgresAvailable, testDatabase } from '../support/backends.js';
import { INSTALL_HINT } from '../support/postgres.js';
import { describeStorage } from './conformance.js';

describeStorage('SQLite file', {
  async create() {
    const db = await testDatabase('sqlite');
    return { storage: db.open(), cleanup: async () => db.cleanup() };
  },
});

describeStorage('SQLite in memory', {
  isolatedReads: false,
  async create() {
    return { storage: openSqliteStorage({ file: ':memory:' }), cleanup: async () => undefined };
  },
});

if (postgresAvailable()) {
  describeStorage('PostgreSQL', {
    async create() {
      const db = await testDatabase('postgres');
      return { storage: db.open(), cleanup: async () => db.cleanup() };
    },
  });
} else {
  describe.skip(`storage conformance: PostgreSQL (${INSTALL_HINT})`, () => undefined);
}
