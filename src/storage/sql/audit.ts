// Audit log of administrative actions (table: audit_log).
import type { AuditEntry, AuditLog } from '../audit.js';
import type { SqlExecutor, SqlValue } from './client.js';

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
  };
}
