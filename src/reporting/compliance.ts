// Compliance and delivery reports, read from the database only (the same data the admin API,
// `mdm report compliance` and the CSV export show).
import type { AppStore } from '../storage/apps.js';
import type { CheckInStore } from '../storage/checkins.js';
import type { ComplianceState, ComplianceStore, DeviceComplianceRecord } from '../storage/compliance.js';
import {
  type DeviceSettingRecord,
  type DeviceSettingStore,
  SETTING_STATES,
  type SettingState,
} from '../storage/device-settings.js';
import type { Device, DeviceStore } from '../storage/devices.js';
import type { PolicyStore } from '../storage/policies.js';

export interface ReportStores {
  readonly devices: Pick<DeviceStore, 'listDevices' | 'getDevice'>;
  readonly deviceSettings: Pick<
    DeviceSettingStore,
    'querySettings' | 'listDeviceSettings' | 'countSettingsByState'
  >;
  readonly compliance: Pick<ComplianceStore, 'listCompliance' | 'getCompliance'>;
  readonly checkIns: Pick<CheckInStore, 'get' | 'list'>;
  readonly policies: Pick<PolicyStore, 'currentPolicySet' | 'policyVersions'>;
  /** App deployment records (reporting/apps.ts, the `mdm_apps` gauge). */
  readonly apps?: Pick<AppStore, 'queryApps' | 'countAppsByState'>;
}

/** The fields of a setting record a report shows, in output order. */
const SETTING_ROW_FIELDS = [
  'path',
  'policy',
  'state',
  'desiredValue',
  'deliveredValue',
  'reportedValue',
  'statusCode',
  'reason',
  'sentAt',
  'appliedAt',
  'verifiedAt',
  'reportedAt',
  'nextCheckAt',
  'updatedAt',
] as const satisfies readonly (keyof DeviceSettingRecord)[];

export type SettingRow = Pick<DeviceSettingRecord, (typeof SETTING_ROW_FIELDS)[number]>;

export interface DeviceComplianceReport {
  readonly deviceId: string;
  readonly user: string | null;
  readonly enrolled: boolean;
  readonly state: ComplianceState;
  readonly reasons: readonly string[];
  readonly failingSince: string | null;
  readonly graceEndsAt: string | null;
  readonly evaluatedAt: string | null;
  readonly lastCheckInAt: string | null;
  /** Number of settings per delivery state. */
  readonly settings: Readonly<Record<SettingState, number>>;
}

export interface DeviceDetailReport extends DeviceComplianceReport {
  readonly settingDetails: readonly SettingRow[];
}

const zeroCounts = () =>
  Object.fromEntries(SETTING_STATES.map((s) => [s, 0])) as Record<SettingState, number>;

export function toSettingRow(r: DeviceSettingRecord): SettingRow {
  return Object.fromEntries(SETTING_ROW_FIELDS.map((field) => [field, r[field]])) as SettingRow;
}

/** Counts of records per delivery state. */
function countByState(settings: readonly { readonly state: SettingState }[]): Record<SettingState, number> {
  const counts = zeroCounts();
  for (const s of settings) counts[s.state]++;
  return counts;
}

/** One device's report line from its stored compliance record, last check-in and setting counts. */
function deviceReport(
  device: Device,
  compliance: DeviceComplianceRecord | undefined,
  lastCheckInAt: string | null,
  settings: Record<SettingState, number>,
): DeviceComplianceReport {
  return {
    deviceId: device.deviceId,
    user: device.userUpn || null,
    enrolled: device.status === 'enrolled',
    state: compliance?.state ?? 'unknown',
    reasons: compliance?.reasons ?? [],
    failingSince: compliance?.failingSince ?? null,
    graceEndsAt: compliance?.graceEndsAt ?? null,
    evaluatedAt: compliance?.evaluatedAt ?? null,
    lastCheckInAt,
    settings,
  };
}

/** One entry per device (enrolled first, then by ID). */
export async function complianceReport(stores: ReportStores): Promise<DeviceComplianceReport[]> {
  const [devices, compliance, checkins, settings] = await Promise.all([
    stores.devices.listDevices(),
    stores.compliance.listCompliance(),
    stores.checkIns.list(),
    stores.deviceSettings.querySettings(),
  ]);
  const byDevice = new Map(compliance.map((c) => [c.deviceId, c]));
  const lastSeen = new Map(checkins.map((c) => [c.deviceId, c.lastCheckInAt]));
  const counts = new Map<string, Record<SettingState, number>>();
  for (const s of settings) {
    const c = counts.get(s.deviceId) ?? zeroCounts();
    c[s.state]++;
    counts.set(s.deviceId, c);
  }
  return devices
    .map((d) =>
      deviceReport(
        d,
        byDevice.get(d.deviceId),
        lastSeen.get(d.deviceId) ?? null,
        counts.get(d.deviceId) ?? zeroCounts(),
      ),
    )
    .sort((a, b) => Number(b.enrolled) - Number(a.enrolled) || (a.deviceId < b.deviceId ? -1 : 1));
}

/** One device with every setting; undefined for an unknown device. */
export async function deviceComplianceReport(
  stores: ReportStores,
  deviceId: string,
): Promise<DeviceDetailReport | undefined> {
  const device = await stores.devices.getDevice(deviceId);
  if (!device) return undefined;
  const [c, checkin, settings] = await Promise.all([
    stores.compliance.getCompliance(deviceId),
    stores.checkIns.get(deviceId),
    stores.deviceSettings.listDeviceSettings(deviceId),
  ]);
  return {
    ...deviceReport(device, c, checkin?.lastCheckInAt ?? null, countByState(settings)),
    settingDetails: settings.map(toSettingRow),
  };
}

export interface PolicyStatusReport {
  readonly name: string;
  readonly active: boolean;
  readonly version: number;
  readonly file: string;
  readonly storedAt: string;
  readonly assignedTo: readonly {
    readonly include: readonly string[];
    readonly exclude: readonly string[];
  }[];
  readonly settings: Readonly<Record<SettingState, number>>;
  readonly devices: readonly { readonly deviceId: string; readonly settings: readonly SettingRow[] }[];
}

/** Delivery status of one policy across devices; undefined for a policy never stored. */
export async function policyStatusReport(
  stores: ReportStores,
  name: string,
): Promise<PolicyStatusReport | undefined> {
  const versions = await stores.policies.policyVersions(name);
  const latest = versions.at(-1);
  if (!latest) return undefined;
  const current = await stores.policies.currentPolicySet();
  const active = current.policies.some((p) => p.name === name);
  const config = (current.config ?? {}) as {
    assignments?: { assignments?: { policy: string; include: string[]; exclude?: string[] }[] };
  };
  const assignedTo = (config.assignments?.assignments ?? [])
    .filter((a) => a.policy === name)
    .map((a) => ({ include: a.include, exclude: a.exclude ?? [] }));
  const rows = await stores.deviceSettings.querySettings({ policy: name });
  const counts = zeroCounts();
  const devices = new Map<string, SettingRow[]>();
  for (const r of rows) {
    counts[r.state]++;
    devices.set(r.deviceId, [...(devices.get(r.deviceId) ?? []), toSettingRow(r)]);
  }
  return {
    name,
    active,
    version: latest.version,
    file: latest.file,
    storedAt: latest.createdAt,
    assignedTo,
    settings: counts,
    devices: [...devices].map(([deviceId, settings]) => ({ deviceId, settings })),
  };
}
