// SQLite implementation of `DeviceStore` (tables from migration 001).
import type {
  Device,
  DeviceStore,
  DigestCredentials,
  EnrollmentAuthPolicy,
  EnrollmentType,
  NewEnrollment,
} from '../devices.js';
import type { SqliteDb } from './database.js';

interface DeviceRow {
  device_id: string;
  hw_dev_id: string | null;
  name: string | null;
  os_edition: string | null;
  os_version: string | null;
  device_type: string | null;
  locale: string | null;
  macs: string;
  enrollment_id: string;
  enrollment_type: string;
  auth_policy: string;
  user_upn: string;
  provider_id: string;
  status: string;
  enrolled_at: string;
  ended_at: string | null;
}

interface DigestRow {
  appsrv_name: string;
  appsrv_secret: string;
  appsrv_nonce: string;
  client_secret: string;
  client_nonce: string;
}

// The device joined with its newest enrollment (the live one when there is one).
const DEVICE_SELECT = `
  SELECT d.device_id, d.hw_dev_id, d.name, d.os_edition, d.os_version, d.device_type, d.locale, d.macs,
         e.enrollment_id, e.enrollment_type, e.auth_policy, e.user_upn, e.provider_id, e.status,
         e.enrolled_at, e.ended_at
    FROM devices d
    JOIN enrollments e ON e.enrollment_id = (
      SELECT enrollment_id FROM enrollments x WHERE x.device_id = d.device_id
       ORDER BY (x.status = 'active') DESC, x.enrolled_at DESC, x.rowid DESC LIMIT 1)`;

function toDevice(row: DeviceRow): Device {
  return {
    deviceId: row.device_id,
    hwDevId: row.hw_dev_id,
    name: row.name,
    osEdition: row.os_edition,
    osVersion: row.os_version,
    deviceType: row.device_type,
    locale: row.locale,
    macs: JSON.parse(row.macs) as string[],
    status: row.status === 'active' ? 'enrolled' : 'unenrolled',
    enrollmentId: row.enrollment_id,
    enrollmentType: row.enrollment_type as EnrollmentType,
    authPolicy: row.auth_policy as EnrollmentAuthPolicy,
    userUpn: row.user_upn,
    providerId: row.provider_id,
    enrolledAt: row.enrolled_at,
    unenrolledAt: row.ended_at,
  };
}

/**
 * Synchronous enrollment writes, shared with the OMA-DM session store so that one exchange applies
 * them inside its own transaction (call them inside a `db.transaction`).
 */
export function prepareEnrollmentWrites(db: SqliteDb) {
  const activeEnrollment = db.prepare<[string], { enrollment_id: string }>(
    "SELECT enrollment_id FROM enrollments WHERE device_id = ? AND status = 'active'",
  );
  const endEnrollment = db.prepare(
    "UPDATE enrollments SET status = 'ended', end_reason = ?, ended_at = ? WHERE enrollment_id = ?",
  );
  const revokeCerts = db.prepare(
    "UPDATE certificates SET status = 'revoked' WHERE enrollment_id = ? AND status <> 'revoked'",
  );
  const setNonce = db.prepare<{ nonce: string; deviceId: string; expected: string | null }>(
    `UPDATE enrollments SET appsrv_nonce = @nonce WHERE device_id = @deviceId AND status = 'active'
        AND (@expected IS NULL OR appsrv_nonce = @expected)`,
  );
  return {
    endEnrollment,
    revokeCerts,
    /** Ends the live enrollment and revokes its certificates; false when there is none. */
    unenroll(deviceId: string, at: string): boolean {
      const live = activeEnrollment.get(deviceId);
      if (!live) return false;
      endEnrollment.run('unenrolled', at, live.enrollment_id);
      revokeCerts.run(live.enrollment_id);
      return true;
    },
    /**
     * Stores the DIGEST nonce sent in a Chal (protocol.md §7.4); with `expected`, only if the stored
     * nonce is still that one. Returns whether a live enrollment was updated.
     */
    setNextServerNonce(deviceId: string, nonce: string, expected?: string): boolean {
      return setNonce.run({ nonce, deviceId, expected: expected ?? null }).changes > 0;
    },
  };
}

export function createSqliteDeviceStore(db: SqliteDb): DeviceStore {
  const upsertDevice = db.prepare(`
    INSERT INTO devices (device_id, hw_dev_id, name, os_edition, os_version, device_type, locale, macs,
                         created_at, updated_at)
    VALUES (@deviceId, @hwDevId, @name, @osEdition, @osVersion, @deviceType, @locale, @macs, @at, @at)
    ON CONFLICT (device_id) DO UPDATE SET
      hw_dev_id = excluded.hw_dev_id, name = excluded.name, os_edition = excluded.os_edition,
      os_version = excluded.os_version, device_type = excluded.device_type, locale = excluded.locale,
      macs = excluded.macs, updated_at = excluded.updated_at`);
  // Two indexed lookups: an OR across the two tables scanned every live enrollment (protocol.md §4.3).
  const liveToEnd = db.prepare<[string, string | null], { enrollment_id: string; device_id: string }>(`
    SELECT enrollment_id, device_id FROM enrollments WHERE status = 'active' AND device_id = ?
    UNION
    SELECT e.enrollment_id, e.device_id FROM devices d JOIN enrollments e ON e.device_id = d.device_id
     WHERE d.hw_dev_id = ? AND e.status = 'active'`);
  const writes = prepareEnrollmentWrites(db);
  const { endEnrollment, revokeCerts } = writes;
  const insertEnrollment = db.prepare(`
    INSERT INTO enrollments (enrollment_id, device_id, user_upn, enrollment_type, auth_policy, provider_id,
                             status, enrolled_at, appsrv_name, appsrv_secret, appsrv_nonce,
                             client_secret, client_nonce)
    VALUES (@enrollmentId, @deviceId, @userUpn, @enrollmentType, @authPolicy, @providerId, 'active',
            @enrolledAt, @appSrvName, @appSrvSecret, @appSrvNonce, @clientSecret, @clientNonce)`);
  const insertCert = db.prepare(`
    INSERT INTO certificates (serial, thumbprint, device_id, enrollment_id, status, not_before, not_after,
                              issued_at, der)
    VALUES (@serial, @thumbprint, @deviceId, @enrollmentId, 'active', @notBefore, @notAfter, @issuedAt, @der)`);
  // A device replaced by a new DeviceID (same HWDevID) never checks in again under its old one:
  // its queued work is cancelled and its open OMA-DM sessions are closed.
  const cancelQueued = db.prepare(`UPDATE dm_commands SET state = 'cancelled', completed_at = ?
      WHERE device_id = ? AND state IN ('pending', 'sent')`);
  const closeSessions = db.prepare(`UPDATE dm_sessions SET status = 'closed', end_reason = 'replaced',
      ended_at = ?, updated_at = ? WHERE device_id = ? AND status = 'active'`);
  const byId = db.prepare<[string], DeviceRow>(`${DEVICE_SELECT} WHERE d.device_id = ?`);
  const all = db.prepare<[], DeviceRow>(`${DEVICE_SELECT} ORDER BY d.device_id`);
  const digest = db.prepare<[string], DigestRow>(`
    SELECT appsrv_name, appsrv_secret, appsrv_nonce, client_secret, client_nonce FROM enrollments
     WHERE device_id = ? AND status = 'active'`);

  const record = db.transaction((e: NewEnrollment) => {
    const replaced: string[] = [];
    for (const live of liveToEnd.all(e.deviceId, e.hwDevId)) {
      endEnrollment.run('replaced', e.enrolledAt, live.enrollment_id);
      revokeCerts.run(live.enrollment_id);
      replaced.push(live.device_id);
      if (live.device_id !== e.deviceId) {
        cancelQueued.run(e.enrolledAt, live.device_id);
        closeSessions.run(e.enrolledAt, e.enrolledAt, live.device_id);
      }
    }
    upsertDevice.run({
      deviceId: e.deviceId,
      hwDevId: e.hwDevId,
      name: e.name,
      osEdition: e.osEdition,
      osVersion: e.osVersion,
      deviceType: e.deviceType,
      locale: e.locale,
      macs: JSON.stringify(e.macs),
      at: e.enrolledAt,
    });
    insertEnrollment.run({
      enrollmentId: e.enrollmentId,
      deviceId: e.deviceId,
      userUpn: e.userUpn,
      enrollmentType: e.enrollmentType,
      authPolicy: e.authPolicy,
      providerId: e.providerId,
      enrolledAt: e.enrolledAt,
      appSrvName: e.digest.appSrv.name,
      appSrvSecret: e.digest.appSrv.secret,
      appSrvNonce: e.digest.appSrv.nonce,
      clientSecret: e.digest.client.secret,
      clientNonce: e.digest.client.nonce,
    });
    insertCert.run({
      ...e.certificate,
      deviceId: e.deviceId,
      enrollmentId: e.enrollmentId,
      issuedAt: e.enrolledAt,
    });
    return { replacedDeviceIds: [...new Set(replaced)] };
  });

  const unenroll = db.transaction(writes.unenroll);

  return {
    async recordEnrollment(enrollment) {
      return record(enrollment);
    },
    async getDevice(deviceId) {
      const row = byId.get(deviceId);
      return row ? toDevice(row) : undefined;
    },
    async listDevices(options = {}) {
      const devices = all.all().map(toDevice);
      return options.status ? devices.filter((d) => d.status === options.status) : devices;
    },
    async markUnenrolled(deviceId, at = new Date().toISOString()) {
      return unenroll(deviceId, at);
    },
    async getDigestCredentials(deviceId): Promise<DigestCredentials | undefined> {
      const row = digest.get(deviceId);
      if (!row) return undefined;
      return {
        appSrv: { name: row.appsrv_name, secret: row.appsrv_secret, nonce: row.appsrv_nonce },
        client: { secret: row.client_secret, nonce: row.client_nonce },
      };
    },
    async setNextServerNonce(deviceId, nonce) {
      writes.setNextServerNonce(deviceId, nonce);
    },
  };
}
