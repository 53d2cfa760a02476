// Audit log of administrative actions (table: audit_log).
import type { AuditEntry, AuditLog } from '../audit.js';
import type { SqlExecutor } from './client.js';

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
        const limit = options.limit ?? 50;
        const rows = options.deviceId
          ? await c.all<AuditRow>('SELECT * FROM audit_log WHERE device_id = ? ORDER BY id DESC LIMIT ?', [
              options.deviceId,
              limit,
            ])
          : await c.all<AuditRow>('SELECT * FROM audit_log ORDER BY id DESC LIMIT ?', [limit]);
        return rows.map(toEntry);
      }),
  };
}
