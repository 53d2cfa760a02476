// Failed sign-ins per user name (table: login_failures), shared by every server instance.
import type { LoginThrottleStore } from '../throttle.js';
import type { SqlExecutor } from './client.js';

interface Row {
  first_at: string;
  count: number;
}

export function sqlLoginThrottleStore(db: SqlExecutor): LoginThrottleStore {
  return {
    recordFailure: (key, at, windowMs) =>
      db.write(async (c) => {
        const now = at.toISOString();
        const windowStart = new Date(at.getTime() - windowMs).toISOString();
        // A window older than windowMs starts over at this failure.
        const row = await c.get<Row>(
          `INSERT INTO login_failures (key, first_at, count) VALUES (?, ?, 1)
           ON CONFLICT (key) DO UPDATE SET
             count = CASE WHEN login_failures.first_at <= ? THEN 1 ELSE login_failures.count + 1 END,
             first_at = CASE WHEN login_failures.first_at <= ? THEN excluded.first_at ELSE login_failures.first_at END
           RETURNING first_at, count`,
          [key, now, windowStart, windowStart],
        );
        return row ? Number(row.count) : 1;
      }),
    failures: (key, at, windowMs) =>
      db.read(async (c) => {
        const row = await c.get<Row>('SELECT first_at, count FROM login_failures WHERE key = ?', [key]);
        const open = row && at.getTime() - Date.parse(row.first_at) < windowMs;
        return open ? Number(row.count) : 0;
      }),
    clear: (key) =>
      db.write(async (c) => {
        await c.run('DELETE FROM login_failures WHERE key = ?', [key]);
      }),
  };
}
