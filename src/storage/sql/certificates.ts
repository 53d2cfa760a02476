// Device certificates issued by the enrollment CA (table: certificates; MS-MDE2 3.1.4, renewal
// MS-MDE2 3.1.4.2). Looked up by serial or SHA-1 thumbprint whenever a device presents one.
import type { CertificateRecord, CertificateStatus, CertificateStore } from '../certificates.js';
import type { SqlExecutor } from './client.js';

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
  SELECT c.serial, c.thumbprint, c.device_id, c.enrollment_id, c.status, c.not_before, c.not_after,
         c.issued_at, c.der, e.status AS enrollment_status
    FROM certificates c JOIN enrollments e ON e.enrollment_id = c.enrollment_id`;

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
    der: Buffer.from(row.der),
    deviceStatus: row.enrollment_status === 'active' ? 'enrolled' : 'unenrolled',
  };
}

export function sqlCertificateStore(db: SqlExecutor): CertificateStore {
  return {
    findBySerial: (serial) =>
      db.read(async (c) => {
        const row = await c.get<CertificateRow>(`${SELECT} WHERE c.serial = ?`, [serial.toUpperCase()]);
        return row && toRecord(row);
      }),
    findByThumbprint: (thumbprint) =>
      db.read(async (c) => {
        const row = await c.get<CertificateRow>(`${SELECT} WHERE c.thumbprint = ?`, [
          thumbprint.toUpperCase(),
        ]);
        return row && toRecord(row);
      }),
    listForDevice: (deviceId) =>
      db.read(async (c) =>
        (
          await c.all<CertificateRow>(
            `${SELECT} WHERE c.device_id = ? ORDER BY c.issued_at DESC, c.serial DESC`,
            [deviceId],
          )
        ).map(toRecord),
      ),
    recordRenewal: (r) =>
      db.write(async (c) => {
        const prev = await c.get<{ enrollment_id: string }>(
          `SELECT c.enrollment_id FROM certificates c JOIN enrollments e ON e.enrollment_id = c.enrollment_id
            WHERE c.serial = ? AND c.device_id = ? AND e.status = 'active' AND c.status IN ('active', 'superseded')`,
          [r.previousSerial.toUpperCase(), r.deviceId],
        );
        if (!prev) return false;
        await c.run(
          "UPDATE certificates SET status = 'superseded' WHERE enrollment_id = ? AND status = 'active'",
          [prev.enrollment_id],
        );
        const cert = r.certificate;
        await c.run(
          `INSERT INTO certificates (serial, thumbprint, device_id, enrollment_id, status, not_before, not_after,
                                     issued_at, der)
           VALUES (?, ?, ?, ?, 'active', ?, ?, ?, ?)`,
          [
            cert.serial,
            cert.thumbprint,
            r.deviceId,
            prev.enrollment_id,
            cert.notBefore,
            cert.notAfter,
            r.issuedAt,
            cert.der,
          ],
        );
        return true;
      }),
  };
}
