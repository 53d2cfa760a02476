// Hosted packages (table: app_content) and per device × app deployment state (table: device_apps).
import type { AppFilter, AppState, AppStore, DeviceAppRecord } from '../apps.js';
import { equalsWhere, type SqlExecutor, type SqlValue } from './client.js';

interface Row {
  device_id: string;
  app_key: string;
  kind: string;
  state: string;
  policy: string | null;
  name: string;
  app_id: string;
  desired_version: string | null;
  plan: string | null;
  installed_id: string | null;
  installed_version: string | null;
  csp_status: number | null;
  status_code: number | null;
  last_error: string | null;
  last_error_desc: string | null;
  reason: string | null;
  attempts: number;
  next_retry_at: string | null;
  sent_at: string | null;
  installed_at: string | null;
  updated_at: string;
  verified_at: string | null;
  next_check_at: string | null;
  reinstalls: number;
}

const COLUMN_LIST = [
  'device_id',
  'app_key',
  'kind',
  'state',
  'policy',
  'name',
  'app_id',
  'desired_version',
  'plan',
  'installed_id',
  'installed_version',
  'csp_status',
  'status_code',
  'last_error',
  'last_error_desc',
  'reason',
  'attempts',
  'next_retry_at',
  'sent_at',
  'installed_at',
  'updated_at',
  'verified_at',
  'next_check_at',
  'reinstalls',
] as const;
const COLUMNS = COLUMN_LIST.join(', ');
const UPDATE_SET = COLUMN_LIST.filter((c) => c !== 'device_id' && c !== 'app_key')
  .map((c) => `${c} = excluded.${c}`)
  .join(', ');
const BATCH = 200;

const toRecord = (r: Row): DeviceAppRecord => ({
  deviceId: r.device_id,
  appKey: r.app_key,
  kind: r.kind as DeviceAppRecord['kind'],
  state: r.state as AppState,
  policy: r.policy,
  name: r.name,
  appId: r.app_id,
  desiredVersion: r.desired_version,
  plan: r.plan === null ? null : (JSON.parse(r.plan) as unknown),
  installedId: r.installed_id,
  installedVersion: r.installed_version,
  cspStatus: r.csp_status === null ? null : Number(r.csp_status),
  statusCode: r.status_code === null ? null : Number(r.status_code),
  lastError: r.last_error,
  lastErrorDesc: r.last_error_desc,
  reason: r.reason,
  attempts: Number(r.attempts),
  nextRetryAt: r.next_retry_at,
  sentAt: r.sent_at,
  installedAt: r.installed_at,
  verifiedAt: r.verified_at,
  nextCheckAt: r.next_check_at,
  reinstalls: Number(r.reinstalls ?? 0),
  updatedAt: r.updated_at,
});

const toParams = (r: DeviceAppRecord): SqlValue[] => [
  r.deviceId,
  r.appKey,
  r.kind,
  r.state,
  r.policy,
  r.name,
  r.appId,
  r.desiredVersion,
  r.plan === null ? null : JSON.stringify(r.plan),
  r.installedId,
  r.installedVersion,
  r.cspStatus,
  r.statusCode,
  r.lastError,
  r.lastErrorDesc,
  r.reason,
  r.attempts,
  r.nextRetryAt,
  r.sentAt,
  r.installedAt,
  r.updatedAt,
  r.verifiedAt,
  r.nextCheckAt,
  r.reinstalls,
];

export function sqlAppStore(db: SqlExecutor): AppStore {
  return {
    putContent: (sha256, bytes, at) =>
      db.write(async (c) => {
        await c.run(
          'INSERT INTO app_content (sha256, size, bytes, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (sha256) DO NOTHING',
          [sha256, bytes.length, bytes, at],
        );
      }),
    getContent: (sha256) =>
      db.read(async (c) => {
        const row = await c.get<{ sha256: string; size: number; bytes: Buffer | Uint8Array }>(
          'SELECT sha256, size, bytes FROM app_content WHERE sha256 = ?',
          [sha256],
        );
        return row && { sha256: row.sha256, size: Number(row.size), bytes: Buffer.from(row.bytes) };
      }),
    hasContent: (sha256) =>
      db.read(
        async (c) => (await c.get('SELECT 1 AS x FROM app_content WHERE sha256 = ?', [sha256])) !== undefined,
      ),
    listDeviceApps: (deviceId) =>
      db.read(async (c) =>
        (await c.all<Row>('SELECT * FROM device_apps WHERE device_id = ? ORDER BY app_key', [deviceId])).map(
          toRecord,
        ),
      ),
    saveDeviceApps: (list) =>
      db.write(async (c) => {
        const records = [...new Map(list.map((r) => [`${r.deviceId}\n${r.appKey}`, r])).values()];
        for (let i = 0; i < records.length; i += BATCH) {
          const batch = records.slice(i, i + BATCH);
          const row = `(${COLUMN_LIST.map(() => '?').join(', ')})`;
          await c.run(
            `INSERT INTO device_apps (${COLUMNS}) VALUES ${batch.map(() => row).join(', ')}
             ON CONFLICT (device_id, app_key) DO UPDATE SET ${UPDATE_SET}`,
            batch.flatMap(toParams),
          );
        }
      }),
    queryApps: (filter: AppFilter = {}) =>
      db.read(async (c) => {
        const { clause, params } = equalsWhere([
          ['device_id', filter.deviceId],
          ['app_key', filter.appKey],
          ['policy', filter.policy],
          ['state', filter.state],
        ]);
        const rows = await c.all<Row>(
          `SELECT * FROM device_apps ${clause} ORDER BY device_id, app_key`,
          params,
        );
        return rows.map(toRecord);
      }),
    countAppsByState: () =>
      db.read(async (c) =>
        (
          await c.all<{ kind: string; state: string; n: number }>(
            'SELECT kind, state, COUNT(*) AS n FROM device_apps GROUP BY kind, state ORDER BY kind, state',
          )
        ).map((r) => ({ kind: r.kind, state: r.state as AppState, count: Number(r.n) })),
      ),
  };
}
