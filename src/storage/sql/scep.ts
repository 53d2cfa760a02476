// SCEP challenges and issued certificates (tables scep_challenges, scep_certificates; RFC 8894).
import type {
  CertificateProfileState,
  DeviceCertificateProfileRecord,
  ScepCertificateRecord,
  ScepCertificateStatus,
  ScepChallengeRecord,
  ScepIssuance,
  ScepStore,
} from '../scep.js';
import { equalsWhere, type SqlExecutor, type SqlValue } from './client.js';

interface ChallengeRow {
  challenge_hash: string;
  device_id: string;
  profile: string;
  subject: string;
  san: string;
  issuance: string;
  created_at: string;
  expires_at: string;
  used_at: string | null;
  serial: string | null;
}

interface CertificateRow {
  serial: string;
  thumbprint: string;
  device_id: string;
  profile: string;
  subject: string;
  status: string;
  not_before: string;
  not_after: string;
  issued_at: string;
  revoked_at: string | null;
  revocation_reason: string | null;
  renewed_from: string | null;
  der: Buffer;
}

const toChallenge = (r: ChallengeRow): ScepChallengeRecord => ({
  challengeHash: r.challenge_hash,
  deviceId: r.device_id,
  profile: r.profile,
  subject: r.subject,
  san: JSON.parse(r.san) as string[],
  issuance: JSON.parse(r.issuance) as ScepIssuance,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  usedAt: r.used_at ?? undefined,
  serial: r.serial ?? undefined,
});

const toCertificate = (r: CertificateRow): ScepCertificateRecord => ({
  serial: r.serial,
  thumbprint: r.thumbprint,
  deviceId: r.device_id,
  profile: r.profile,
  subject: r.subject,
  status: r.status as ScepCertificateStatus,
  notBefore: r.not_before,
  notAfter: r.not_after,
  issuedAt: r.issued_at,
  revokedAt: r.revoked_at ?? undefined,
  revocationReason: r.revocation_reason ?? undefined,
  ...(r.renewed_from ? { renewedFrom: r.renewed_from } : {}),
  der: Buffer.from(r.der),
});

const CERT_COLUMNS = `serial, thumbprint, device_id, profile, subject, status, not_before, not_after, issued_at,
  revoked_at, revocation_reason, renewed_from, der`;

interface ProfileRow {
  device_id: string;
  profile: string;
  policy: string | null;
  root: string;
  state: string;
  subject: string | null;
  san: string;
  challenge_expires_at: string | null;
  attempts: number | string;
  serial: string | null;
  thumbprint: string | null;
  not_before: string | null;
  not_after: string | null;
  installed_thumbprint: string | null;
  csp_status: number | string | null;
  error_code: number | string | null;
  status_code: number | string | null;
  reason: string | null;
  next_retry_at: string | null;
  requested_at: string | null;
  issued_at: string | null;
  installed_at: string | null;
  updated_at: string;
}

const num = (v: number | string | null) => (v === null ? null : Number(v));

const toProfile = (r: ProfileRow): DeviceCertificateProfileRecord => ({
  deviceId: r.device_id,
  profile: r.profile,
  policy: r.policy,
  root: r.root,
  state: r.state as CertificateProfileState,
  subject: r.subject,
  san: JSON.parse(r.san) as string[],
  challengeExpiresAt: r.challenge_expires_at,
  attempts: Number(r.attempts),
  serial: r.serial,
  thumbprint: r.thumbprint,
  notBefore: r.not_before,
  notAfter: r.not_after,
  installedThumbprint: r.installed_thumbprint,
  cspStatus: num(r.csp_status),
  errorCode: num(r.error_code),
  statusCode: num(r.status_code),
  reason: r.reason,
  nextRetryAt: r.next_retry_at,
  requestedAt: r.requested_at,
  issuedAt: r.issued_at,
  installedAt: r.installed_at,
  updatedAt: r.updated_at,
});

const PROFILE_COLUMN_LIST = [
  'device_id',
  'profile',
  'policy',
  'root',
  'state',
  'subject',
  'san',
  'challenge_expires_at',
  'attempts',
  'serial',
  'thumbprint',
  'not_before',
  'not_after',
  'installed_thumbprint',
  'csp_status',
  'error_code',
  'status_code',
  'reason',
  'next_retry_at',
  'requested_at',
  'issued_at',
  'installed_at',
  'updated_at',
] as const;
const PROFILE_UPDATE = PROFILE_COLUMN_LIST.filter((c) => c !== 'device_id' && c !== 'profile')
  .map((c) => `${c} = excluded.${c}`)
  .join(', ');

const profileParams = (r: DeviceCertificateProfileRecord): SqlValue[] => [
  r.deviceId,
  r.profile,
  r.policy,
  r.root,
  r.state,
  r.subject,
  JSON.stringify(r.san),
  r.challengeExpiresAt,
  r.attempts,
  r.serial,
  r.thumbprint,
  r.notBefore,
  r.notAfter,
  r.installedThumbprint,
  r.cspStatus,
  r.errorCode,
  r.statusCode,
  r.reason,
  r.nextRetryAt,
  r.requestedAt,
  r.issuedAt,
  r.installedAt,
  r.updatedAt,
];

export function sqlScepStore(db: SqlExecutor): ScepStore {
  return {
    listDeviceProfiles: (deviceId) =>
      db.read(async (d) =>
        (
          await d.all<ProfileRow>(
            'SELECT * FROM device_certificate_profiles WHERE device_id = ? ORDER BY profile',
            [deviceId],
          )
        ).map(toProfile),
      ),
    saveDeviceProfiles: (list) =>
      db.write(async (d) => {
        const records = [...new Map(list.map((r) => [`${r.deviceId}\n${r.profile}`, r])).values()];
        const row = `(${PROFILE_COLUMN_LIST.map(() => '?').join(', ')})`;
        for (let i = 0; i < records.length; i += 200) {
          const batch = records.slice(i, i + 200);
          await d.run(
            `INSERT INTO device_certificate_profiles (${PROFILE_COLUMN_LIST.join(', ')})
             VALUES ${batch.map(() => row).join(', ')}
             ON CONFLICT (device_id, profile) DO UPDATE SET ${PROFILE_UPDATE}`,
            batch.flatMap(profileParams),
          );
        }
      }),
    queryDeviceProfiles: (filter = {}) =>
      db.read(async (d) => {
        const { clause, params } = equalsWhere([
          ['device_id', filter.deviceId],
          ['profile', filter.profile],
          ['state', filter.state],
        ]);
        const rows = await d.all<ProfileRow>(
          `SELECT * FROM device_certificate_profiles ${clause} ORDER BY device_id, profile`,
          params,
        );
        return rows.map(toProfile);
      }),
    createChallenge: (c) =>
      db.write(async (d) => {
        await d.run(
          `INSERT INTO scep_challenges (challenge_hash, device_id, profile, subject, san, issuance, created_at, expires_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
          [
            c.challengeHash,
            c.deviceId,
            c.profile,
            c.subject,
            JSON.stringify(c.san),
            JSON.stringify(c.issuance),
            c.createdAt,
            c.expiresAt,
          ],
        );
      }),
    findChallenge: (hash) =>
      db.read(async (d) => {
        const row = await d.get<ChallengeRow>('SELECT * FROM scep_challenges WHERE challenge_hash = ?', [
          hash,
        ]);
        return row && toChallenge(row);
      }),
    consumeChallenge: (hash, serial, now) =>
      db.write(
        async (d) =>
          (await d.run(
            `UPDATE scep_challenges SET used_at = ?, serial = ?
              WHERE challenge_hash = ? AND used_at IS NULL AND expires_at > ?`,
            [now, serial, hash, now],
          )) === 1,
      ),
    recordCertificate: (c) =>
      db.write(async (d) => {
        if (c.renewedFrom) {
          await d.run(
            "UPDATE scep_certificates SET status = 'superseded' WHERE serial = ? AND status = 'issued'",
            [c.renewedFrom],
          );
        }
        await d.run(
          `INSERT INTO scep_certificates (${CERT_COLUMNS})
           VALUES (?, ?, ?, ?, ?, 'issued', ?, ?, ?, NULL, NULL, ?, ?)`,
          [
            c.serial,
            c.thumbprint,
            c.deviceId,
            c.profile,
            c.subject,
            c.notBefore,
            c.notAfter,
            c.issuedAt,
            c.renewedFrom ?? null,
            c.der,
          ],
        );
      }),
    findCertificate: (serial) =>
      db.read(async (d) => {
        const row = await d.get<CertificateRow>(
          `SELECT ${CERT_COLUMNS} FROM scep_certificates WHERE serial = ?`,
          [serial.toUpperCase()],
        );
        return row && toCertificate(row);
      }),
    findCertificateByThumbprint: (thumbprint) =>
      db.read(async (d) => {
        const row = await d.get<CertificateRow>(
          `SELECT ${CERT_COLUMNS} FROM scep_certificates WHERE thumbprint = ?`,
          [thumbprint.toUpperCase()],
        );
        return row && toCertificate(row);
      }),
    listCertificates: (filter = {}) =>
      db.read(async (d) => {
        const where: string[] = [];
        const params: SqlValue[] = [];
        if (filter.deviceId !== undefined) {
          where.push('device_id = ?');
          params.push(filter.deviceId);
        }
        if (filter.profile !== undefined) {
          where.push('profile = ?');
          params.push(filter.profile);
        }
        if (filter.status !== undefined) {
          where.push('status = ?');
          params.push(filter.status);
        }
        const rows = await d.all<CertificateRow>(
          `SELECT ${CERT_COLUMNS} FROM scep_certificates ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
            ORDER BY issued_at DESC, serial DESC`,
          params,
        );
        return rows.map(toCertificate);
      }),
    revokeCertificate: (serial, at, reason) =>
      db.write(
        async (d) =>
          (await d.run(
            `UPDATE scep_certificates SET status = 'revoked', revoked_at = ?, revocation_reason = ?
              WHERE serial = ? AND status <> 'revoked'`,
            [at, reason, serial.toUpperCase()],
          )) === 1,
      ),
    listRevoked: () =>
      db.read(async (d) =>
        (
          await d.all<CertificateRow>(
            `SELECT ${CERT_COLUMNS} FROM scep_certificates WHERE status = 'revoked' ORDER BY revoked_at, serial`,
          )
        ).map(toCertificate),
      ),
  };
}
