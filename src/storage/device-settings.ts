// Per device × setting delivery state (desired, delivered and reported value, state, timestamps).
// The state machine that moves these records lives in `src/policy/delivery/setting-state.ts`.
import type { DmFormat } from '../shared/dm-command.js';

export const SETTING_STATES = [
  'pending',
  'sent',
  'applied',
  'verified',
  'drifted',
  'failed',
  'conflict',
  'removing',
  'removed',
  'not_applicable',
] as const;
export type SettingState = (typeof SETTING_STATES)[number];

/** One device × node record. `P` is the compiled plan type (JSON to storage). */
export interface DeviceSettingRecord<P = unknown> {
  readonly deviceId: string;
  readonly path: string;
  readonly state: SettingState;
  /** Policy that owns the desired value (the last owner while removing/removed). */
  readonly policy: string | null;
  readonly desiredValue: string | null;
  readonly format: DmFormat;
  /** Plan of the current (or, while removing, the last) desired value. */
  readonly plan: P | null;
  readonly deliveredValue: string | null;
  readonly reportedValue: string | null;
  readonly statusCode: number | null;
  readonly reason: string | null;
  /** The node holds a value we added, so later deliveries use Replace. */
  readonly added: boolean;
  /** Re-applies after drift since the last stable verification. */
  readonly driftRetries: number;
  /** Re-applies after a transient (5xx) failure since the desired value last changed. */
  readonly failRetries: number;
  readonly sentAt: string | null;
  readonly appliedAt: string | null;
  readonly verifiedAt: string | null;
  readonly reportedAt: string | null;
  readonly nextCheckAt: string | null;
  readonly updatedAt: string;
}

export interface SettingFilter {
  readonly deviceId?: string;
  readonly policy?: string;
  readonly state?: SettingState;
}

export interface DeviceSettingStore {
  /** Records of one device, by path. */
  listDeviceSettings(deviceId: string): Promise<DeviceSettingRecord[]>;
  /** One record, or undefined. */
  getDeviceSetting(deviceId: string, path: string): Promise<DeviceSettingRecord | undefined>;
  /** Insert or replace records, in one transaction. */
  saveDeviceSettings(records: readonly DeviceSettingRecord[]): Promise<void>;
  /** Records matching the filter, ordered by device then path. */
  querySettings(filter?: SettingFilter): Promise<DeviceSettingRecord[]>;
  /** Number of records per state. */
  countSettingsByState(): Promise<Record<SettingState, number>>;
  /** Device IDs that have any record. */
  deviceIdsWithSettings(): Promise<string[]>;
}
