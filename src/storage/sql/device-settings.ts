// Per device × setting delivery state (table: device_settings).
import type { DmFormat } from '../../shared/dm-command.js';
import {
  type DeviceSettingRecord,
  type DeviceSettingStore,
  SETTING_STATES,
  type SettingFilter,
  type SettingState,
} from '../device-settings.js';
import { bit, type SqlExecutor, type SqlValue } from './client.js';

interface Row {
  device_id: string;
  path: string;
  state: string;
  policy: string | null;
  desired_value: string | null;
  format: string;
  plan: string | null;
  delivered_value: string | null;
  reported_value: string | null;
  status_code: number | null;
  reason: string | null;
  added: number;
  drift_retries: number;
  fail_retries: number;
  sent_at: string | null;
  applied_at: string | null;
  verified_at: string | null;
  reported_at: string | null;
  next_check_at: string | null;
  updated_at: string;
}

const COLUMNS = `device_id, path, state, policy, desired_value, format, plan, delivered_value, reported_value,
  status_code, reason, added, drift_retries, fail_retries, sent_at, applied_at, verified_at, reported_at,
  next_check_at, updated_at`;
const UPDATE_SET = COLUMNS.split(',')
  .map((c) => c.trim())
  .filter((c) => c !== 'device_id' && c !== 'path')
  .map((c) => `${c} = excluded.${c}`)
  .join(', ');

const toRecord = (r: Row): DeviceSettingRecord => ({
  deviceId: r.device_id,
  path: r.path,
  state: r.state as SettingState,
  policy: r.policy,
  desiredValue: r.desired_value,
  format: r.format as DmFormat,
  plan: r.plan === null ? null : (JSON.parse(r.plan) as unknown),
  deliveredValue: r.delivered_value,
  reportedValue: r.reported_value,
  statusCode: r.status_code,
  reason: r.reason,
  added: r.added === 1,
  driftRetries: r.drift_retries,
  failRetries: r.fail_retries,
  sentAt: r.sent_at,
  appliedAt: r.applied_at,
  verifiedAt: r.verified_at,
  reportedAt: r.reported_at,
  nextCheckAt: r.next_check_at,
  updatedAt: r.updated_at,
});

const toParams = (r: DeviceSettingRecord): SqlValue[] => [
  r.deviceId,
  r.path,
  r.state,
  r.policy,
  r.desiredValue,
  r.format,
  r.plan === null ? null : JSON.stringify(r.plan),
  r.deliveredValue,
  r.reportedValue,
  r.statusCode,
  r.reason,
  bit(r.added),
  r.driftRetries,
  r.failRetries,
  r.sentAt,
  r.appliedAt,
  r.verifiedAt,
  r.reportedAt,
  r.nextCheckAt,
  r.updatedAt,
];

/** Rows per multi-row upsert (20 columns each; SQLite allows 32,766 parameters). */
const BATCH = 200;

export function sqlDeviceSettingStore(db: SqlExecutor): DeviceSettingStore {
  return {
    listDeviceSettings: (deviceId) =>
      db.read(async (c) =>
        (await c.all<Row>('SELECT * FROM device_settings WHERE device_id = ? ORDER BY path', [deviceId])).map(
          toRecord,
        ),
      ),
    getDeviceSetting: (deviceId, path) =>
      db.read(async (c) => {
        const row = await c.get<Row>('SELECT * FROM device_settings WHERE device_id = ? AND path = ?', [
          deviceId,
          path,
        ]);
        return row && toRecord(row);
      }),
    saveDeviceSettings: (list) =>
      db.write(async (c) => {
        // One row per key (the last record wins): an upsert may not touch a row twice.
        const records = [...new Map(list.map((r) => [`${r.deviceId}\n${r.path}`, r])).values()];
        for (let i = 0; i < records.length; i += BATCH) {
          const batch = records.slice(i, i + BATCH);
          const rows = batch.map(() => `(${'?, '.repeat(19)}?)`).join(', ');
          await c.run(
            `INSERT INTO device_settings (${COLUMNS}) VALUES ${rows}
             ON CONFLICT (device_id, path) DO UPDATE SET ${UPDATE_SET}`,
            batch.flatMap(toParams),
          );
        }
      }),
    querySettings: (filter: SettingFilter = {}) =>
      db.read(async (c) => {
        const where: string[] = [];
        const params: SqlValue[] = [];
        if (filter.deviceId !== undefined) {
          where.push('device_id = ?');
          params.push(filter.deviceId);
        }
        if (filter.policy !== undefined) {
          where.push('policy = ?');
          params.push(filter.policy);
        }
        if (filter.state !== undefined) {
          where.push('state = ?');
          params.push(filter.state);
        }
        const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
        const rows = await c.all<Row>(
          `SELECT * FROM device_settings ${clause} ORDER BY device_id, path`,
          params,
        );
        return rows.map(toRecord);
      }),
    countSettingsByState: () =>
      db.read(async (c) => {
        const out = Object.fromEntries(SETTING_STATES.map((s) => [s, 0])) as Record<SettingState, number>;
        const rows = await c.all<{ state: string; n: number }>(
          'SELECT state, COUNT(*) AS n FROM device_settings GROUP BY state',
        );
        for (const { state, n } of rows) if (state in out) out[state as SettingState] = Number(n);
        return out;
      }),
    deviceIdsWithSettings: () =>
      db.read(async (c) =>
        (
          await c.all<{ device_id: string }>(
            'SELECT DISTINCT device_id FROM device_settings ORDER BY device_id',
          )
        ).map((r) => r.device_id),
      ),
  };
}
