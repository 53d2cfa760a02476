// Devices, enrollments and their DIGEST credentials (tables: devices, enrollments, certificates;
// MS-MDE2 3.1.4 enrollment facts, MS-MDM 2.2.4 DIGEST credentials of the provisioning document).
import type {
  Device,
  DeviceListRow,
  DeviceQuery,
  DeviceSortKey,
  DeviceStore,
  DigestCredentials,
  EnrollmentAuthPolicy,
  EnrollmentType,
  NewEnrollment,
  RemovedDeviceData,
  RetiredDevice,
} from '../devices.js';
import type { SqlClient, SqlExecutor, SqlValue } from './client.js';
import { lockDevice } from './locks.js';

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
      SELECT x.enrollment_id FROM enrollments x WHERE x.device_id = d.device_id
       ORDER BY CASE WHEN x.status = 'active' THEN 0 ELSE 1 END, x.enrolled_at DESC, x.enrollment_id DESC
       LIMIT 1)`;

const SERIAL_NODE = './DevDetail/Ext/Microsoft/SMBIOSSerialNumber';

const SORT_COLUMNS: Record<DeviceSortKey, string> = {
  deviceId: 'device_id',
  name: "COALESCE(name, '')",
  lastCheckInAt: "COALESCE(last_checkin_at, '')",
  enrolledAt: 'enrolled_at',
  osVersion: "COALESCE(os_version, '')",
};

const likeEscape = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

/** The keyset-paged device list query: filters, then (sort key, DeviceID) after the cursor. */
function deviceListQuery(q: DeviceQuery): { sql: string; params: SqlValue[] } {
  const where: string[] = [];
  const params: SqlValue[] = [SERIAL_NODE];
  const add = (clause: string, ...values: SqlValue[]) => {
    where.push(clause);
    params.push(...values);
  };
  if (q.status) add(`status = ?`, q.status === 'enrolled' ? 'active' : 'ended');
  if (q.compliance) add('compliance_state = ?', q.compliance);
  if (q.user) add('LOWER(user_upn) = LOWER(?)', q.user);
  if (q.osVersion) add("os_version LIKE ? ESCAPE '\\'", `${likeEscape(q.osVersion)}%`);
  if (q.checkedInBefore) add('last_checkin_at < ?', q.checkedInBefore);
  if (q.checkedInAfter) add('last_checkin_at >= ?', q.checkedInAfter);
  if (q.search) {
    const like = `%${likeEscape(q.search.toLowerCase())}%`;
    add(
      `(LOWER(device_id) LIKE ? ESCAPE '\\' OR LOWER(COALESCE(name, '')) LIKE ? ESCAPE '\\'
        OR LOWER(COALESCE(serial_number, '')) LIKE ? ESCAPE '\\')`,
      like,
      like,
      like,
    );
  }
  const key = SORT_COLUMNS[q.sort];
  const cmp = q.order === 'asc' ? '>' : '<';
  if (q.after) {
    if (q.sort === 'deviceId') add(`device_id ${cmp} ?`, q.after.deviceId);
    else
      add(
        `(${key} ${cmp} ? OR (${key} = ? AND device_id ${cmp} ?))`,
        q.after.key,
        q.after.key,
        q.after.deviceId,
      );
  }
  const dir = q.order === 'asc' ? 'ASC' : 'DESC';
  const order = q.sort === 'deviceId' ? `device_id ${dir}` : `${key} ${dir}, device_id ${dir}`;
  params.push(q.limit);
  return {
    sql: `SELECT * FROM (
      SELECT t.*, ck.last_checkin_at, COALESCE(dc.state, 'unknown') AS compliance_state,
             inv.value AS serial_number
        FROM (${DEVICE_SELECT}) t
        LEFT JOIN dm_checkins ck ON ck.device_id = t.device_id
        LEFT JOIN device_compliance dc ON dc.device_id = t.device_id
        LEFT JOIN dm_inventory inv ON inv.device_id = t.device_id AND inv.loc_uri = ?
    ) listed ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ${order} LIMIT ?`,
    params,
  };
}

interface DeviceListSqlRow extends DeviceRow {
  last_checkin_at: string | null;
  compliance_state: string;
  serial_number: string | null;
}

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

/** Ends an enrollment and revokes its certificates. */
async function endEnrollment(c: SqlClient, enrollmentId: string, reason: string, at: string): Promise<void> {
  await c.run(
    "UPDATE enrollments SET status = 'ended', end_reason = ?, ended_at = ? WHERE enrollment_id = ?",
    [reason, at, enrollmentId],
  );
  await c.run("UPDATE certificates SET status = 'revoked' WHERE enrollment_id = ? AND status <> 'revoked'", [
    enrollmentId,
  ]);
}

/** Ends the device's live enrollment with its certificates; false when it has none. */
export async function unenrollDevice(c: SqlClient, deviceId: string, at: string): Promise<boolean> {
  const live = await c.get<{ enrollment_id: string }>(
    "SELECT enrollment_id FROM enrollments WHERE device_id = ? AND status = 'active'",
    [deviceId],
  );
  if (!live) return false;
  await endEnrollment(c, live.enrollment_id, 'unenrolled', at);
  return true;
}

/** Stores the DIGEST nonce of a Chal; with `expected`, only while the stored nonce is still that one. */
export async function setServerNonce(
  c: SqlClient,
  deviceId: string,
  nonce: string,
  expected?: string,
): Promise<boolean> {
  const sql =
    expected === undefined
      ? "UPDATE enrollments SET appsrv_nonce = ? WHERE device_id = ? AND status = 'active'"
      : "UPDATE enrollments SET appsrv_nonce = ? WHERE device_id = ? AND status = 'active' AND appsrv_nonce = ?";
  const params = expected === undefined ? [nonce, deviceId] : [nonce, deviceId, expected];
  return (await c.run(sql, params)) > 0;
}

// Devices without a live enrollment and the end of their last one (parameters: `where`'s, then the cutoff).
const retiredSelect = (where = '') => `
  SELECT device_id, MAX(ended_at) AS unenrolled_at FROM enrollments ${where}
   GROUP BY device_id
  HAVING SUM(CASE WHEN status = 'active' THEN 1 ELSE 0 END) = 0 AND MAX(ended_at) < ?`;

/** Deletes every row of a retired device (children before the tables their keys point at). */
async function removeDevice(c: SqlClient, deviceId: string, now: string): Promise<RemovedDeviceData> {
  const del = (table: string, where = 'device_id = ?', params: SqlValue[] = [deviceId]) =>
    c.run(`DELETE FROM ${table} WHERE ${where}`, params);
  const scepCertificates = await del('scep_certificates', 'device_id = ? AND not_after < ?', [deviceId, now]);
  const kept = await c.get<{ n: number | string }>(
    'SELECT COUNT(*) AS n FROM scep_certificates WHERE device_id = ?',
    [deviceId],
  );
  const removed = {
    commands: await del('dm_commands'),
    sessions: await del('dm_sessions'),
    inventory: await del('dm_inventory'),
    checkIns: await del('dm_checkins'),
    events: await del('device_events'),
    settings: await del('device_settings'),
    complianceFacts: await del('compliance_facts'),
    compliance: await del('device_compliance'),
    apps: await del('device_apps'),
    push: await del('device_push'),
    certificateProfiles: await del('device_certificate_profiles'),
    scepChallenges: await del('scep_challenges'),
    scepCertificates,
    scepCertificatesKept: Number(kept?.n ?? 0),
    certificates: await del('certificates'),
    enrollments: await del('enrollments'),
  };
  await del('devices');
  return removed;
}

export function sqlDeviceStore(db: SqlExecutor): DeviceStore {
  return {
    recordEnrollment: (e: NewEnrollment) =>
      db.write(async (c) => {
        const replaced: string[] = [];
        // Two indexed lookups: an OR across the two tables scanned every live enrollment.
        const live = await c.all<{ enrollment_id: string; device_id: string }>(
          `SELECT enrollment_id, device_id FROM enrollments WHERE status = 'active' AND device_id = ?
           UNION
           SELECT e.enrollment_id, e.device_id FROM devices d JOIN enrollments e ON e.device_id = d.device_id
            WHERE d.hw_dev_id = ? AND e.status = 'active'`,
          [e.deviceId, e.hwDevId],
        );
        for (const l of live) {
          await endEnrollment(c, l.enrollment_id, 'replaced', e.enrolledAt);
          replaced.push(l.device_id);
          if (l.device_id !== e.deviceId) {
            // A device replaced by a new DeviceID (same HWDevID) never checks in again under its old
            // one: its queued work is cancelled and its open OMA-DM sessions are closed.
            await c.run(
              "UPDATE dm_commands SET state = 'cancelled', completed_at = ? WHERE device_id = ? AND state IN ('pending', 'sent')",
              [e.enrolledAt, l.device_id],
            );
            await c.run(
              `UPDATE dm_sessions SET status = 'closed', end_reason = 'replaced', ended_at = ?, updated_at = ?
                WHERE device_id = ? AND status = 'active'`,
              [e.enrolledAt, e.enrolledAt, l.device_id],
            );
          }
        }
        await c.run(
          `INSERT INTO devices (device_id, hw_dev_id, name, os_edition, os_version, device_type, locale, macs,
                                created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (device_id) DO UPDATE SET
             hw_dev_id = excluded.hw_dev_id, name = excluded.name, os_edition = excluded.os_edition,
             os_version = excluded.os_version, device_type = excluded.device_type, locale = excluded.locale,
             macs = excluded.macs, updated_at = excluded.updated_at`,
          [
            e.deviceId,
            e.hwDevId,
            e.name,
            e.osEdition,
            e.osVersion,
            e.deviceType,
            e.locale,
            JSON.stringify(e.macs),
            e.enrolledAt,
            e.enrolledAt,
          ],
        );
        await c.run(
          `INSERT INTO enrollments (enrollment_id, device_id, user_upn, enrollment_type, auth_policy, provider_id,
                                    status, enrolled_at, appsrv_name, appsrv_secret, appsrv_nonce,
                                    client_secret, client_nonce)
           VALUES (?, ?, ?, ?, ?, ?, 'active', ?, ?, ?, ?, ?, ?)`,
          [
            e.enrollmentId,
            e.deviceId,
            e.userUpn,
            e.enrollmentType,
            e.authPolicy,
            e.providerId,
            e.enrolledAt,
            e.digest.appSrv.name,
            e.digest.appSrv.secret,
            e.digest.appSrv.nonce,
            e.digest.client.secret,
            e.digest.client.nonce,
          ],
        );
        const cert = e.certificate;
        await c.run(
          `INSERT INTO certificates (serial, thumbprint, device_id, enrollment_id, status, not_before, not_after,
                                     issued_at, der)
           VALUES (?, ?, ?, ?, 'active', ?, ?, ?, ?)`,
          [
            cert.serial,
            cert.thumbprint,
            e.deviceId,
            e.enrollmentId,
            cert.notBefore,
            cert.notAfter,
            e.enrolledAt,
            cert.der,
          ],
        );
        return { replacedDeviceIds: [...new Set(replaced)] };
      }),
    getDevice: (deviceId) =>
      db.read(async (c) => {
        const row = await c.get<DeviceRow>(`${DEVICE_SELECT} WHERE d.device_id = ?`, [deviceId]);
        return row && toDevice(row);
      }),
    listDevices: (options = {}) =>
      db.read(async (c) => {
        const rows = await c.all<DeviceRow>(`${DEVICE_SELECT} ORDER BY d.device_id`);
        const devices = rows.map(toDevice);
        return options.status ? devices.filter((d) => d.status === options.status) : devices;
      }),
    queryDevices: (query) =>
      db.read(async (c): Promise<DeviceListRow[]> => {
        const { sql, params } = deviceListQuery(query);
        return (await c.all<DeviceListSqlRow>(sql, params)).map((r) => ({
          ...toDevice(r),
          lastCheckInAt: r.last_checkin_at,
          complianceState: r.compliance_state,
          serialNumber: r.serial_number,
        }));
      }),
    markUnenrolled: (deviceId, at = new Date().toISOString()) =>
      db.write((c) => unenrollDevice(c, deviceId, at)),
    listRetired: (endedBefore, limit) =>
      db.read(
        async (c): Promise<RetiredDevice[]> =>
          (
            await c.all<{ device_id: string; unenrolled_at: string }>(
              `${retiredSelect()} ORDER BY MAX(ended_at), device_id LIMIT ?`,
              [endedBefore, limit],
            )
          ).map((r) => ({ deviceId: r.device_id, unenrolledAt: r.unenrolled_at })),
      ),
    removeRetired: (deviceId, endedBefore, now) =>
      db.write(async (c) => {
        // Serialised with the device's exchanges and with an enrollment of the same DeviceID (it
        // upserts the devices row), then checked again: a device that enrolled again stays.
        await lockDevice(c, deviceId);
        if (c.dialect === 'postgres')
          await c.get('SELECT device_id FROM devices WHERE device_id = ? FOR UPDATE', [deviceId]);
        const still = await c.get<{ device_id: string }>(retiredSelect('WHERE device_id = ?'), [
          deviceId,
          endedBefore,
        ]);
        return still ? removeDevice(c, deviceId, now) : undefined;
      }),
    removeExpiredScepOfRemoved: (now, limit) =>
      db.write(async (c) => {
        const rows = await c.all<{ device_id: string }>(
          `SELECT DISTINCT s.device_id FROM scep_certificates s
            WHERE s.not_after < ? AND NOT EXISTS (SELECT 1 FROM devices d WHERE d.device_id = s.device_id)
            ORDER BY s.device_id LIMIT ?`,
          [now, limit],
        );
        const out: { deviceId: string; scepCertificates: number }[] = [];
        for (const r of rows) {
          const n = await c.run('DELETE FROM scep_certificates WHERE device_id = ? AND not_after < ?', [
            r.device_id,
            now,
          ]);
          out.push({ deviceId: r.device_id, scepCertificates: n });
        }
        return out;
      }),
    renameDevice: (deviceId, name, at = new Date().toISOString()) =>
      db.write(
        async (c) =>
          (await c.run('UPDATE devices SET name = ?, updated_at = ? WHERE device_id = ?', [
            name,
            at,
            deviceId,
          ])) > 0,
      ),
    getDigestCredentials: (deviceId) =>
      db.read(async (c): Promise<DigestCredentials | undefined> => {
        const row = await c.get<DigestRow>(
          `SELECT appsrv_name, appsrv_secret, appsrv_nonce, client_secret, client_nonce FROM enrollments
            WHERE device_id = ? AND status = 'active'`,
          [deviceId],
        );
        if (!row) return undefined;
        return {
          appSrv: { name: row.appsrv_name, secret: row.appsrv_secret, nonce: row.appsrv_nonce },
          client: { secret: row.client_secret, nonce: row.client_nonce },
        };
      }),
    setNextServerNonce: (deviceId, nonce) =>
      db.write(async (c) => {
        await setServerNonce(c, deviceId, nonce);
      }),
  };
}
