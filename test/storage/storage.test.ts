// The conformance suite on SQLite: a temp file (writer and reader connections) and in memory.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStorage } from '../../src/storage/sqlite/index.js';
import { describeStorage } from './conformance.js';

describeStorage('SQLite file', {
  async create() {
    const dir = mkdtempSync(join(tmpdir(), 'mdm-sqlite-'));
    const storage = openSqliteStorage({ file: join(dir, 'mdm.sqlite') });
    return { storage, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
  },
});

describeStorage('SQLite in memory', {
  isolatedReads: false,
  async create() {
    return { storage: openSqliteStorage({ file: ':memory:' }), cleanup: async () => undefined };
  },
});
