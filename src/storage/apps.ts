// Application deployment records (docs/apps.md): the packages the server hosts itself
// (content-addressed by SHA-256, served at `/content/<sha256>`), and the state of every app on
// every device. The state machine that moves the records lives in `src/policy/apps/state.ts`.

export const APP_STATES = [
  'pending',
  'installing',
  'installed',
  'failed',
  'conflict',
  'removing',
  'removed',
  'not_applicable',
] as const;
export type AppState = (typeof APP_STATES)[number];

export interface DeviceAppRecord<P = unknown> {
  readonly deviceId: string;
  /** `msi:{UpgradeCode}` / `msi:{ProductCode}` / `msix:<PackageFamilyName>`. */
  readonly appKey: string;
  readonly kind: 'msi' | 'msix';
  readonly state: AppState;
  /** Policy that assigns the app (the last one while removing/removed). */
  readonly policy: string | null;
  readonly name: string;
  /** ProductCode or Package Family Name of the wanted (or, while removing, the last) version. */
  readonly appId: string;
  readonly desiredVersion: string | null;
  /** The app plan being delivered (JSON). */
  readonly plan: P | null;
  /** ProductCode / PFN and version the device reported installed. */
  readonly installedId: string | null;
  readonly installedVersion: string | null;
  /** The CSP's Status node (MSI 10…70, MSIX 0…3). */
  readonly cspStatus: number | null;
  /** SyncML status of the last command about this app. */
  readonly statusCode: number | null;
  /** The CSP's LastError (HRESULT, as the device reports it). */
  readonly lastError: string | null;
  readonly lastErrorDesc: string | null;
  readonly reason: string | null;
  /** Install attempts the server made for the current version. */
  readonly attempts: number;
  readonly nextRetryAt: string | null;
  readonly sentAt: string | null;
  readonly installedAt: string | null;
  /** When the device last confirmed the installed app (its status and version read back). */
  readonly verifiedAt: string | null;
  /** When an installed app is read again (`verification.appInterval`, docs/apps.md). */
  readonly nextCheckAt: string | null;
  /** Re-installs after the device reported the app missing or at another version (bounded). */
  readonly reinstalls: number;
  readonly updatedAt: string;
}

export interface AppFilter {
  readonly deviceId?: string;
  readonly appKey?: string;
  readonly policy?: string;
  readonly state?: AppState;
}

export interface HostedContent {
  readonly sha256: string;
  readonly size: number;
  readonly bytes: Buffer;
}

export interface AppStore {
  /** Stores a package (a no-op when the hash is already stored). */
  putContent(sha256: string, bytes: Buffer, at: string): Promise<void>;
  getContent(sha256: string): Promise<HostedContent | undefined>;
  hasContent(sha256: string): Promise<boolean>;
  listDeviceApps(deviceId: string): Promise<DeviceAppRecord[]>;
  saveDeviceApps(records: readonly DeviceAppRecord[]): Promise<void>;
  /** Every record matching the filter, by device then app (reports, the admin API). */
  queryApps(filter?: AppFilter): Promise<DeviceAppRecord[]>;
  /** Records per kind and state (metrics). */
  countAppsByState(): Promise<{ kind: string; state: AppState; count: number }[]>;
}
