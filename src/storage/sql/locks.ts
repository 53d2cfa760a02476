// Locks inside a transaction. SQLite: every write transaction holds the database's one write lock
// (BEGIN IMMEDIATE), so a device is locked already. PostgreSQL: transaction-level advisory locks
// in two key spaces, released at COMMIT or ROLLBACK.
import type { SqlClient } from './client.js';

/** Advisory lock classes (the first key of pg_advisory_xact_lock(int, int)). */
export const LOCK_CLASS = { device: 1, job: 2, migrations: 3, audit: 4 } as const;

/** Serialises the exchanges of one device across server instances, until the transaction ends. */
export async function lockDevice(c: SqlClient, deviceId: string): Promise<void> {
  if (c.dialect !== 'postgres') return;
  await c.get('SELECT pg_advisory_xact_lock(?, hashtext(?)) AS locked', [LOCK_CLASS.device, deviceId]);
}

/** Takes the fleet-wide job lock until the transaction ends; false when another instance holds it. */
export async function tryJobLock(c: SqlClient, name: string): Promise<boolean> {
  if (c.dialect !== 'postgres') return true;
  const row = await c.get<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock(?, hashtext(?)) AS locked', [
    LOCK_CLASS.job,
    name,
  ]);
  return row?.locked === true;
}
