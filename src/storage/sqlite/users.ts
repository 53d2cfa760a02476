// SQLite implementation of `UserStore`.
import type { UserRecord, UserStore } from '../users.js';
import type { SqliteDb } from './database.js';

interface UserRow {
  upn: string;
  password_hash: string;
  created_at: string;
}

const toUser = (row: UserRow): UserRecord => ({
  upn: row.upn,
  passwordHash: row.password_hash,
  createdAt: row.created_at,
});

export function createSqliteUserStore(db: SqliteDb): UserStore {
  const insert = db.prepare(
    'INSERT INTO users (upn, password_hash, created_at) VALUES (?, ?, ?) ON CONFLICT (upn) DO NOTHING',
  );
  const byUpn = db.prepare<[string], UserRow>('SELECT * FROM users WHERE upn = ?');
  const all = db.prepare<[], UserRow>('SELECT * FROM users ORDER BY upn COLLATE NOCASE');
  const remove = db.prepare('DELETE FROM users WHERE upn = ?');
  return {
    async addUser(upn, passwordHash) {
      return insert.run(upn, passwordHash, new Date().toISOString()).changes === 1;
    },
    async getUser(upn) {
      const row = byUpn.get(upn);
      return row ? toUser(row) : undefined;
    },
    async listUsers() {
      return all.all().map(toUser);
    },
    async removeUser(upn) {
      return remove.run(upn).changes === 1;
    },
  };
}
