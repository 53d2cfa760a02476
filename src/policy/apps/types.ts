// What the compiler hands to app delivery: one plan per application of a policy (docs/apps.md).

/** A package the device downloads: hosted by this server (`/content/<sha256>`) or at an admin's URL. */
export interface AppContent {
  /** HTTPS URL given by the admin; absent when the server hosts the file itself. */
  readonly url?: string;
  /** SHA-256 (lowercase hex) of the file; always known for hosted files. */
  readonly sha256?: string;
  /** Size in bytes of a hosted file. */
  readonly size?: number;
  /** The file as written in the policy (hosted files), for reports. */
  readonly file?: string;
}

export interface AppPlan {
  /** Identity of the app across versions: `msi:{UpgradeCode}` (else `msi:{ProductCode}`) or `msix:<PFN>`. */
  readonly key: string;
  readonly kind: 'msi' | 'msix';
  /** The CSP's instance name: MSI ProductCode (`{…}`) or the MSIX Package Family Name. */
  readonly id: string;
  readonly name: string;
  readonly version: string;
  readonly content: AppContent;
  /** MSI: MsiInstallJob Enforcement (EnterpriseDesktopAppManagement CSP). */
  readonly commandLine?: string;
  readonly timeoutMinutes?: number;
  readonly retryCount?: number;
  readonly retryIntervalMinutes?: number;
  /** MSIX: framework packages (HostedInstall Dependencies). */
  readonly dependencies?: readonly AppContent[];
}

/** A local file the server must host for a policy (stored with the policy set). */
export interface HostedFile {
  readonly sha256: string;
  readonly size: number;
  /** Absolute path it was read from. */
  readonly path: string;
}
