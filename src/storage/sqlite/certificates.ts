// SQLite implementation of `CertificateStore` (tables from migration 001).
import type {
  CertificateRecord,
  CertificateStatus,
  CertificateStore,
  RecordRenewal,
} from '../certificates.js';
import type { SqliteDb } from './database.js';

interface CertificateRow {
  serial: string;
  thumbprint: string;
  device_id: string;
  enrollment_id: string;
  status: string;
  not_before: string;
  not_after: string;
  issued_at: string;
  der: Buffer;
  enrollment_status: string;
}

const SELECT = `
  SELECT c.*, e.status AS enrollment_status FROM certificates c
    JOIN enrollments e ON e.enrollment_id = c.enrollment_id`;

function toRecord(row: CertificateRow): CertificateRecord {
  return {
    serial: row.serial,
    thumbprint: row.thumbprint,
    deviceId: row.device_id,
    enrollmentId: row.enrollment_id,
    status: row.status as CertificateStatus,
    notBefore: row.not_before,
    notAfter: row.not_after,
    issuedAt: row.issued_at,
    der: row.der,
    deviceStatus: row.enrollment_status === 'active' ? 'enrolled' : 'unenrolled',
  };
}

export function createSqliteCertificateStore(db: SqliteDb): CertificateStore {
  const bySerial = db.prepare<[string], CertificateRow>(`${SELECT} WHERE c.serial = ?`);
  const byThumbprint = db.prepare<[string], CertificateRow>(`${SELECT} WHERE c.thumbprint = ?`);
  const forDevice = db.prepare<[string], CertificateRow>(
    `${SELECT} WHERE c.device_id = ? ORDER BY c.issued_at DESC, c.rowid DESC`,
  );
  const previous = db.prepare<[string, string], { enrollment_id: string }>(`
    SELECT c.enrollment_id FROM certificates c JOIN enrollments e ON e.enrollment_id = c.enrollment_id
     WHERE c.serial = ? AND c.device_id = ? AND e.status = 'active' AND c.status IN ('active', 'superseded')`);
  const supersede = db.prepare(
    "UPDATE certificates SET status = 'superseded' WHERE enrollment_id = ? AND status = 'active'",
  );
  const insert = db.prepare(`
    INSERT INTO certificates (serial, thumbprint, device_id, enrollment_id, status, not_before, not_after,
                              issued_at, der)
    VALUES (@serial, @thumbprint, @deviceId, @enrollmentId, 'active', @notBefore, @notAfter, @issuedAt, @der)`);

  const renew = db.transaction((r: RecordRenewal) => {
    const prev = previous.get(r.previousSerial.toUpperCase(), r.deviceId);
    if (!prev) return false;
    supersede.run(prev.enrollment_id);
    insert.run({
      ...r.certificate,
      deviceId: r.deviceId,
      enrollmentId: prev.enrollment_id,
      issuedAt: r.issuedAt,
    });
    return true;
  });

  return {
    async findBySerial(serial) {
      const row = bySerial.get(serial.toUpperCase());
      return row ? toRecord(row) : undefined;
    },
    async findByThumbprint(thumbprint) {
      const row = byThumbprint.get(thumbprint.toUpperCase());
      return row ? toRecord(row) : undefined;
    },
    async listForDevice(deviceId) {
      return forDevice.all(deviceId).map(toRecord);
    },
    async recordRenewal(renewal) {
      return renew(renewal);
    },
  };
}
