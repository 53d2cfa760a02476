// Audit log of administrative actions (table: audit_log) and the delivery position of each SIEM
// destination (table: audit_delivery).
import type { AuditEntry, AuditLog } from '../audit.js';
import type { SqlExecutor, SqlValue } from './client.js';
import { LOCK_CLASS } from './locks.js';

interface AuditRow {
  id: number;
  at: string;
  actor: string;
  action: string;
  device_id: string | null;
  details: string;
}

const toEntry = (r: AuditRow): AuditEntry => ({
  id: Number(r.id),
  at: r.at,
  actor: r.actor,
  action: r.action,
  ...(r.device_id !== null && { deviceId: r.device_id }),
  details: JSON.parse(r.details) as Record<string, unknown>,
});

export function sqlAuditLog(db: SqlExecutor): AuditLog {
  return {
    record: (e) =>
      db.write(async (c) => {
        // Ids are handed out in commit order, so delivery by "last id taken" never skips one
        // (SQLite has one writer already).
        if (c.dialect === 'postgres')
          await c.get('SELECT pg_advisory_xact_lock(?, 0) AS locked', [LOCK_CLASS.audit]);
        const row = await c.get<AuditRow>(
          'INSERT INTO audit_log (at, actor, action, device_id, details) VALUES (?, ?, ?, ?, ?) RETURNING *',
          [new Date().toISOString(), e.actor, e.action, e.deviceId ?? null, JSON.stringify(e.details)],
        );
        return toEntry(row!);
      }),
    list: (options = {}) =>
      db.read(async (c) => {
        const where: string[] = [];
        const args: SqlValue[] = [];
        const add = (clause: string, ...values: SqlValue[]) => {
          where.push(clause);
          args.push(...values);
        };
        if (options.deviceId !== undefined) add('device_id = ?', options.deviceId);
        if (options.actor !== undefined) add('actor = ?', options.actor);
        if (options.action?.endsWith('.')) {
          add('substr(action, 1, ?) = ?', options.action.length, options.action);
        } else if (options.action !== undefined) add('action = ?', options.action);
        if (options.since !== undefined) add('at >= ?', options.since);
        if (options.until !== undefined) add('at < ?', options.until);
        if (options.beforeId !== undefined) add('id < ?', options.beforeId);
        const rows = await c.all<AuditRow>(
          `SELECT * FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`,
          [...args, options.limit ?? 50],
        );
        return rows.map(toEntry);
      }),
    after: (afterId, options) =>
      db.read(async (c) => {
        const rows = await c.all<AuditRow>(
          `SELECT * FROM audit_log WHERE id > ?${options.since ? ' AND at >= ?' : ''}${options.until ? ' AND at < ?' : ''}
            ORDER BY id LIMIT ?`,
          [
            afterId,
            ...(options.since ? [options.since] : []),
            ...(options.until ? [options.until] : []),
            options.limit,
          ],
        );
        return rows.map(toEntry);
      }),
    lastId: () =>
      db.read(async (c) =>
        Number((await c.get<{ id: number | null }>('SELECT max(id) AS id FROM audit_log'))?.id ?? 0),
      ),
    deliveredUpTo: (sink) =>
      db.read(async (c) => {
        const row = await c.get<{ last_id: number }>('SELECT last_id FROM audit_delivery WHERE sink = ?', [
          sink,
        ]);
        return row ? Number(row.last_id) : undefined;
      }),
    markDelivered: (sink, lastId) =>
      db.write(async (c) => {
        await c.run(
          `INSERT INTO audit_delivery (sink, last_id, updated_at) VALUES (?, ?, ?)
           ON CONFLICT (sink) DO UPDATE SET last_id = excluded.last_id, updated_at = excluded.updated_at`,
          [sink, lastId, new Date().toISOString()],
        );
      }),
    pruneBefore: (before, limit) =>
      db.write((c) =>
        c.run(
          'DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE at < ? ORDER BY id LIMIT ?)',
          [before, limit],
        ),
      ),
  };
}
