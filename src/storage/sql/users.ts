// Enrollment users (tables: users).
import type { UserRecord, UserStore } from '../users.js';
import type { SqlExecutor } from './client.js';

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

export function sqlUserStore(db: SqlExecutor): UserStore {
  return {
    addUser: (upn, passwordHash) =>
      db.write(async (c) => {
        if (await c.get('SELECT 1 AS x FROM users WHERE lower(upn) = lower(?)', [upn])) return false;
        const n = await c.run(
          'INSERT INTO users (upn, password_hash, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
          [upn, passwordHash, new Date().toISOString()],
        );
        return n === 1;
      }),
    getUser: (upn) =>
      db.read(async (c) => {
        const row = await c.get<UserRow>('SELECT * FROM users WHERE lower(upn) = lower(?)', [upn]);
        return row && toUser(row);
      }),
    listUsers: () =>
      db.read(async (c) =>
        (await c.all<UserRow>('SELECT * FROM users ORDER BY lower(upn), upn')).map(toUser),
      ),
    removeUser: (upn) =>
      db.write(async (c) => (await c.run('DELETE FROM users WHERE lower(upn) = lower(?)', [upn])) > 0),
  };
}
