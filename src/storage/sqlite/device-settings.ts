// SQLite implementation of `DeviceSettingStore` (table `device_settings`, migrations 003 and 005).

import type { DmFormat } from '../../shared/dm-command.js';
import {
  type DeviceSettingRecord,
  type DeviceSettingStore,
  SETTING_STATES,
  type SettingFilter,
  type SettingState,
} from '../device-settings.js';
import type { SqliteDb } from './database.js';

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

export function createSqliteDeviceSettingStore(db: SqliteDb): DeviceSettingStore {
  const byDevice = db.prepare<[string], Row>(
    'SELECT * FROM device_settings WHERE device_id = ? ORDER BY path',
  );
  const one = db.prepare<[string, string], Row>(
    'SELECT * FROM device_settings WHERE device_id = ? AND path = ?',
  );
  const upsert = db.prepare(
    `INSERT OR REPLACE INTO device_settings (device_id, path, state, policy, desired_value, format, plan,
       delivered_value, reported_value, status_code, reason, added, drift_retries, fail_retries, sent_at, applied_at,
       verified_at, reported_at, next_check_at, updated_at)
     VALUES (@deviceId, @path, @state, @policy, @desiredValue, @format, @plan, @deliveredValue,
       @reportedValue, @statusCode, @reason, @added, @driftRetries, @failRetries, @sentAt, @appliedAt, @verifiedAt,
       @reportedAt, @nextCheckAt, @updatedAt)`,
  );
  const query = db.prepare<{ deviceId: string | null; policy: string | null; state: string | null }, Row>(
    `SELECT * FROM device_settings
      WHERE (@deviceId IS NULL OR device_id = @deviceId) AND (@policy IS NULL OR policy = @policy)
        AND (@state IS NULL OR state = @state)
      ORDER BY device_id, path`,
  );
  const counts = db.prepare<[], { state: string; n: number }>(
    'SELECT state, COUNT(*) AS n FROM device_settings GROUP BY state',
  );
  const devices = db.prepare<[], { device_id: string }>(
    'SELECT DISTINCT device_id FROM device_settings ORDER BY device_id',
  );
  const saveAll = db.transaction((records: readonly DeviceSettingRecord[]) => {
    for (const r of records) {
      upsert.run({
        ...r,
        plan: r.plan === null ? null : JSON.stringify(r.plan),
        added: r.added ? 1 : 0,
      });
    }
  });
  return {
    async listDeviceSettings(deviceId) {
      return byDevice.all(deviceId).map(toRecord);
    },
    async getDeviceSetting(deviceId, path) {
      const row = one.get(deviceId, path);
      return row ? toRecord(row) : undefined;
    },
    async saveDeviceSettings(records) {
      saveAll(records);
    },
    async querySettings(filter: SettingFilter = {}) {
      return query
        .all({
          deviceId: filter.deviceId ?? null,
          policy: filter.policy ?? null,
          state: filter.state ?? null,
        })
        .map(toRecord);
    },
    async countSettingsByState() {
      const out = Object.fromEntries(SETTING_STATES.map((s) => [s, 0])) as Record<SettingState, number>;
      for (const { state, n } of counts.all()) if (state in out) out[state as SettingState] = n;
      return out;
    },
    async deviceIdsWithSettings() {
      return devices.all().map((r) => r.device_id);
    },
  };
}
