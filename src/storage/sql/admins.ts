// Console admin accounts and sessions (tables: admin_accounts, admin_sessions).
import type { AdminAccount, AdminAccountStore, AdminRole, AdminSession } from '../admins.js';
import type { SqlExecutor } from './client.js';

interface AccountRow {
  name: string;
  role: string;
  password_hash: string;
  created_at: string;
}

interface SessionRow {
  id_hash: string;
  admin_name: string;
  csrf_token: string;
  created_at: string;
  last_seen_at: string;
}

const toAccount = (row: AccountRow): AdminAccount => ({
  name: row.name,
  role: row.role as AdminRole,
  passwordHash: row.password_hash,
  createdAt: row.created_at,
});

const toSession = (row: SessionRow): AdminSession => ({
  idHash: row.id_hash,
  adminName: row.admin_name,
  csrfToken: row.csrf_token,
  createdAt: row.created_at,
  lastSeenAt: row.last_seen_at,
});

export function sqlAdminAccountStore(db: SqlExecutor): AdminAccountStore {
  return {
    add: (name, role, passwordHash) =>
      db.write(async (c) => {
        if (await c.get('SELECT 1 AS x FROM admin_accounts WHERE lower(name) = lower(?)', [name]))
          return false;
        const n = await c.run(
          `INSERT INTO admin_accounts (name, role, password_hash, created_at) VALUES (?, ?, ?, ?)
           ON CONFLICT DO NOTHING`,
          [name, role, passwordHash, new Date().toISOString()],
        );
        return n === 1;
      }),
    get: (name) =>
      db.read(async (c) => {
        const row = await c.get<AccountRow>('SELECT * FROM admin_accounts WHERE lower(name) = lower(?)', [
          name,
        ]);
        return row && toAccount(row);
      }),
    list: () =>
      db.read(async (c) =>
        (await c.all<AccountRow>('SELECT * FROM admin_accounts ORDER BY lower(name), name')).map(toAccount),
      ),
    remove: (name) =>
      db.write(async (c) => {
        await c.run('DELETE FROM admin_sessions WHERE lower(admin_name) = lower(?)', [name]);
        return (await c.run('DELETE FROM admin_accounts WHERE lower(name) = lower(?)', [name])) > 0;
      }),
    setPassword: (name, passwordHash) =>
      db.write(async (c) => {
        await c.run('DELETE FROM admin_sessions WHERE lower(admin_name) = lower(?)', [name]);
        return (
          (await c.run('UPDATE admin_accounts SET password_hash = ? WHERE lower(name) = lower(?)', [
            passwordHash,
            name,
          ])) > 0
        );
      }),
    createSession: (s: AdminSession) =>
      db.write(async (c) => {
        await c.run(
          `INSERT INTO admin_sessions (id_hash, admin_name, csrf_token, created_at, last_seen_at)
           VALUES (?, ?, ?, ?, ?)`,
          [s.idHash, s.adminName, s.csrfToken, s.createdAt, s.lastSeenAt],
        );
      }),
    getSession: (idHash) =>
      db.read(async (c) => {
        const row = await c.get<SessionRow>('SELECT * FROM admin_sessions WHERE id_hash = ?', [idHash]);
        return row && toSession(row);
      }),
    touchSession: (idHash, at) =>
      db.write(async (c) => {
        await c.run('UPDATE admin_sessions SET last_seen_at = ? WHERE id_hash = ? AND last_seen_at < ?', [
          at,
          idHash,
          at,
        ]);
      }),
    deleteSession: (idHash) =>
      db.write(async (c) => {
        await c.run('DELETE FROM admin_sessions WHERE id_hash = ?', [idHash]);
      }),
    deleteIdleSessions: (before) =>
      db.write((c) => c.run('DELETE FROM admin_sessions WHERE last_seen_at < ?', [before])),
  };
}
