// SQLite implementation of `AuditLog` (migration 002).
import type { AuditEntry, AuditLog } from '../audit.js';
import type { SqliteDb } from './database.js';

interface AuditRow {
  id: number;
  at: string;
  actor: string;
  action: string;
  device_id: string | null;
  details: string;
}

const toEntry = (r: AuditRow): AuditEntry => ({
  id: r.id,
  at: r.at,
  actor: r.actor,
  action: r.action,
  ...(r.device_id !== null && { deviceId: r.device_id }),
  details: JSON.parse(r.details) as Record<string, unknown>,
});

export function createSqliteAuditLog(db: SqliteDb): AuditLog {
  const insert = db.prepare<[string, string, string, string | null, string], AuditRow>(
    'INSERT INTO audit_log (at, actor, action, device_id, details) VALUES (?, ?, ?, ?, ?) RETURNING *',
  );
  const listAll = db.prepare<[number], AuditRow>('SELECT * FROM audit_log ORDER BY id DESC LIMIT ?');
  const listDevice = db.prepare<[string, number], AuditRow>(
    'SELECT * FROM audit_log WHERE device_id = ? ORDER BY id DESC LIMIT ?',
  );
  return {
    async record(e) {
      const row = insert.get(
        new Date().toISOString(),
        e.actor,
        e.action,
        e.deviceId ?? null,
        JSON.stringify(e.details),
      )!;
      return toEntry(row);
    },
    async list(options = {}) {
      const limit = options.limit ?? 50;
      const rows = options.deviceId ? listDevice.all(options.deviceId, limit) : listAll.all(limit);
      return rows.map(toEntry);
    },
  };
}
