// App deployment report (docs/apps.md): one row per device × app with its state, the CSP's status
// and error, the versions wanted and installed, and every timestamp. As JSON (`mdm report apps
// --format json`, and what the admin API returns), a table for the terminal, and CSV (RFC 4180,
// formula cells quoted like the compliance CSV).
import {
  APP_STATES,
  type AppFilter,
  type AppState,
  type AppStore,
  type DeviceAppRecord,
} from '../storage/apps.js';
import { csvLines } from './csv.js';
import { formatTable } from './table.js';

export interface AppRow {
  readonly deviceId: string;
  readonly app: string;
  readonly kind: 'msi' | 'msix';
  readonly name: string;
  readonly policy: string | null;
  readonly state: AppState;
  /** ProductCode or Package Family Name. */
  readonly appId: string;
  readonly desiredVersion: string | null;
  readonly installedVersion: string | null;
  readonly cspStatus: number | null;
  readonly statusCode: number | null;
  /** LastError as reported (signed decimal HRESULT) and in hex (`0x80091007`). */
  readonly lastError: string | null;
  readonly lastErrorHex: string | null;
  readonly lastErrorDesc: string | null;
  readonly reason: string | null;
  readonly attempts: number;
  readonly nextRetryAt: string | null;
  readonly sentAt: string | null;
  readonly installedAt: string | null;
  readonly verifiedAt: string | null;
  readonly nextCheckAt: string | null;
  readonly reinstalls: number;
  readonly updatedAt: string;
}

export interface AppSummary {
  readonly app: string;
  readonly name: string;
  readonly states: Record<AppState, number>;
}

export type AppReportStores = { readonly apps: Pick<AppStore, 'queryApps'> };

function hex(code: string | null): string | null {
  if (code === null || !/^-?\d+$/.test(code)) return null;
  return `0x${(Number(code) >>> 0).toString(16).toUpperCase().padStart(8, '0')}`;
}

export function toAppRow(r: DeviceAppRecord): AppRow {
  return {
    deviceId: r.deviceId,
    app: r.appKey,
    kind: r.kind,
    name: r.name,
    policy: r.policy,
    state: r.state,
    appId: r.appId,
    desiredVersion: r.desiredVersion,
    installedVersion: r.installedVersion,
    cspStatus: r.cspStatus,
    statusCode: r.statusCode,
    lastError: r.lastError,
    lastErrorHex: hex(r.lastError),
    lastErrorDesc: r.lastErrorDesc,
    reason: r.reason,
    attempts: r.attempts,
    nextRetryAt: r.nextRetryAt,
    sentAt: r.sentAt,
    installedAt: r.installedAt,
    verifiedAt: r.verifiedAt,
    nextCheckAt: r.nextCheckAt,
    reinstalls: r.reinstalls,
    updatedAt: r.updatedAt,
  };
}

/** Every device × app record matching `filter` (the admin API's query: `?device=&app=&policy=&state=`). */
export async function appReport(stores: AppReportStores, filter: AppFilter = {}): Promise<AppRow[]> {
  return (await stores.apps.queryApps(filter)).map(toAppRow);
}

/** Devices per state for every app. */
export function summarizeApps(rows: readonly AppRow[]): AppSummary[] {
  const byApp = new Map<string, AppSummary>();
  for (const r of rows) {
    let s = byApp.get(r.app);
    if (!s) {
      s = {
        app: r.app,
        name: r.name,
        states: Object.fromEntries(APP_STATES.map((x) => [x, 0])) as Record<AppState, number>,
      };
      byApp.set(r.app, s);
    }
    s.states[r.state]++;
  }
  return [...byApp.values()];
}

export const APP_CSV_COLUMNS = [
  'device_id',
  'app',
  'kind',
  'name',
  'policy',
  'state',
  'app_id',
  'desired_version',
  'installed_version',
  'csp_status',
  'status_code',
  'last_error',
  'last_error_hex',
  'last_error_desc',
  'reason',
  'attempts',
  'next_retry_at',
  'sent_at',
  'installed_at',
  'verified_at',
  'next_check_at',
  'reinstalls',
  'updated_at',
] as const;

export function appsCsv(rows: readonly AppRow[]): string {
  return csvLines([
    APP_CSV_COLUMNS,
    ...rows.map((r) => [
      r.deviceId,
      r.app,
      r.kind,
      r.name,
      r.policy,
      r.state,
      r.appId,
      r.desiredVersion,
      r.installedVersion,
      r.cspStatus,
      r.statusCode,
      r.lastError,
      r.lastErrorHex,
      r.lastErrorDesc,
      r.reason,
      r.attempts,
      r.nextRetryAt,
      r.sentAt,
      r.installedAt,
      r.verifiedAt,
      r.nextCheckAt,
      r.reinstalls,
      r.updatedAt,
    ]),
  ]);
}

export function appsTable(rows: readonly AppRow[]): string {
  if (rows.length === 0) return 'no apps delivered';
  return formatTable(
    ['DEVICE', 'APP', 'STATE', 'VERSION', 'INSTALLED', 'ERROR', 'REASON'],
    rows.map((r) => [
      r.deviceId,
      r.name,
      r.state,
      r.desiredVersion ?? '',
      r.installedVersion ?? '',
      r.lastErrorHex
        ? `${r.lastErrorHex}${r.lastErrorDesc ? ` ${r.lastErrorDesc}` : ''}`
        : r.cspStatus !== null
          ? `status ${r.cspStatus}`
          : '',
      r.reason ?? '',
    ]),
  );
}
