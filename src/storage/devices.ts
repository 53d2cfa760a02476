// Enrolled devices and their enrollments (docs/protocol-notes.md#request-security-token). A device is keyed by the
// MS-MDE2 `DeviceID` context item (the same value is `./DevInfo/DevId` and the SyncHdr Source of
// every OMA-DM message). Each enrollment keeps the DIGEST credentials handed to the device in the
// provisioning doc's w7 APPAUTH blocks (docs/protocol-notes.md#provisioning-document, #digest-authentication).
import type { NewCertificate } from './certificates.js';

/** `EnrollmentType` context item (docs/protocol-notes.md#request-security-token): user (`Full`) or device-only enrollment. */
export const ENROLLMENT_TYPES = ['Full', 'Device'] as const;
export type EnrollmentType = (typeof ENROLLMENT_TYPES)[number];

/** How the enrolling user authenticated (MS-MDE2 AuthPolicy). */
export type EnrollmentAuthPolicy = 'OnPremise' | 'Federated';

/**
 * `enrolled`: the device has a live enrollment. `unenrolled`: its last enrollment ended (the user
 * removed the account, the server unenrolled it, or the same hardware enrolled again under a new
 * DeviceID).
 */
export type DeviceStatus = 'enrolled' | 'unenrolled';

/** Why an enrollment ended. */
export const ENROLLMENT_END_REASONS = {
  replaced: 'the same device or hardware enrolled again',
  unenrolled: 'the device or an admin ended the enrollment',
} as const;
export type EnrollmentEndReason = keyof typeof ENROLLMENT_END_REASONS;

/** What one enrollment records about the device and who enrolled it (MS-MDE2 context items). */
export interface EnrollmentFacts {
  /** `EntDMID` in the provisioning doc. */
  readonly enrollmentId: string;
  readonly deviceId: string;
  /** `HWDevID` context item (64 hex chars), when the device sent one. */
  readonly hwDevId: string | null;
  readonly name: string | null;
  /** Decimal PRODUCT_* value (`OSEdition` context item), e.g. `72`. */
  readonly osEdition: string | null;
  readonly osVersion: string | null;
  readonly deviceType: string | null;
  readonly locale: string | null;
  readonly macs: readonly string[];
  readonly enrollmentType: EnrollmentType;
  readonly authPolicy: EnrollmentAuthPolicy;
  /** UPN of the enrolling user. */
  readonly userUpn: string;
  /** ProviderID the device was enrolled with (w7 PROVIDER-ID, DMClient/Provider/{id}). */
  readonly providerId: string;
  /** ISO-8601 UTC. */
  readonly enrolledAt: string;
}

/** A device with the facts of its current (or last) enrollment. */
export interface Device extends EnrollmentFacts {
  readonly status: DeviceStatus;
  readonly unenrolledAt: string | null;
}

/**
 * DIGEST credentials from the provisioning doc (docs/protocol-notes.md#provisioning-document APPAUTH, #digest-authentication). Stored in clear
 * because MD5 digest checking needs the secret itself.
 */
export interface DigestCredentials {
  /** APPSRV block: the device authenticates to the server with these. */
  readonly appSrv: {
    /** AAUTHNAME. */
    readonly name: string;
    /** AAUTHSECRET. */
    readonly secret: string;
    /** Base64 nonce the device must use in its next `Cred`: AAUTHDATA at first, then each NextNonce sent. */
    readonly nonce: string;
  };
  /** CLIENT block: the server authenticates to the device with these. */
  readonly client: {
    /** AAUTHSECRET. */
    readonly secret: string;
    /** AAUTHDATA (base64). */
    readonly nonce: string;
  };
}

/** Everything recorded when a device completes an Issue request (one atomic unit). */
export interface NewEnrollment extends EnrollmentFacts {
  readonly digest: DigestCredentials;
  /** The device certificate issued for this enrollment. */
  readonly certificate: NewCertificate;
}

export interface RecordEnrollmentResult {
  /** DeviceIDs whose live enrollment this one ended (same DeviceID or same HWDevID). */
  readonly replacedDeviceIds: readonly string[];
}

export interface ListDevicesOptions {
  readonly status?: DeviceStatus;
}

/** Sort keys of `queryDevices`. */
export const DEVICE_SORT_KEYS = ['deviceId', 'name', 'lastCheckInAt', 'enrolledAt', 'osVersion'] as const;
export type DeviceSortKey = (typeof DEVICE_SORT_KEYS)[number];

/** Filters, sort and keyset page of a device list (admin API `GET /api/v1/devices`). */
export interface DeviceQuery {
  readonly status?: DeviceStatus;
  /** Evaluated compliance state (`unknown` includes devices never evaluated). */
  readonly compliance?: string;
  /** Enrolling user's UPN, case-insensitive. */
  readonly user?: string;
  /** OS version prefix, e.g. `10.0.22631`. */
  readonly osVersion?: string;
  /** Last check-in strictly before / at or after (ISO-8601); devices never seen match neither. */
  readonly checkedInBefore?: string;
  readonly checkedInAfter?: string;
  /** Case-insensitive substring of the DeviceID, name or SMBIOS serial number. */
  readonly search?: string;
  readonly sort: DeviceSortKey;
  readonly order: 'asc' | 'desc';
  /** Keyset cursor: the sort value (null sorts as '') and DeviceID of the last row of the previous page. */
  readonly after?: { readonly key: string; readonly deviceId: string };
  readonly limit: number;
}

/** A device as a fleet list shows it. */
export interface DeviceListRow extends Device {
  readonly lastCheckInAt: string | null;
  readonly complianceState: string;
  /** `./DevDetail/Ext/Microsoft/SMBIOSSerialNumber` as last reported. */
  readonly serialNumber: string | null;
}

/** A device with no live enrollment, and when its last enrollment ended (data disposition). */
export interface RetiredDevice {
  readonly deviceId: string;
  readonly unenrolledAt: string;
}

/**
 * Rows removed with a retired device, per kind (README "Retention"). SCEP certificates still
 * valid are kept (`scepCertificatesKept`): an admin may still revoke them and a revoked one must
 * stay on the CRL until it expires (RFC 5280 §3.3); they go once expired.
 */
export interface RemovedDeviceData {
  readonly enrollments: number;
  readonly certificates: number;
  readonly commands: number;
  readonly sessions: number;
  readonly inventory: number;
  readonly checkIns: number;
  readonly events: number;
  readonly settings: number;
  readonly complianceFacts: number;
  readonly compliance: number;
  readonly apps: number;
  readonly push: number;
  /** SCEP certificate profile records (device × profile state). */
  readonly certificateProfiles: number;
  readonly scepChallenges: number;
  readonly scepCertificates: number;
  readonly scepCertificatesKept: number;
}

export interface DeviceStore {
  /**
   * Records a completed enrollment in one transaction: upserts the device, ends every live
   * enrollment of the same DeviceID or the same HWDevID (revoking their certificates), inserts the
   * new enrollment with its DIGEST credentials and its certificate.
   */
  recordEnrollment(enrollment: NewEnrollment): Promise<RecordEnrollmentResult>;
  getDevice(deviceId: string): Promise<Device | undefined>;
  /** Devices sorted by DeviceID. */
  listDevices(options?: ListDevicesOptions): Promise<Device[]>;
  /** One page of devices matching the query, in its order. */
  queryDevices(query: DeviceQuery): Promise<DeviceListRow[]>;
  /**
   * Ends the device's live enrollment and revokes its certificates, in one transaction.
   * Returns false when the device has no live enrollment.
   */
  markUnenrolled(deviceId: string, at?: string): Promise<boolean>;
  /**
   * Devices with no live enrollment whose last enrollment ended before `endedBefore` (retired or
   * unenrolled ones past their retention), the longest gone first.
   */
  listRetired(endedBefore: string, limit: number): Promise<RetiredDevice[]>;
  /**
   * Deletes everything stored about the device (its enrollments with their DIGEST credentials,
   * certificate records, commands, sessions, inventory, check-ins, events, settings, compliance,
   * apps, push state, SCEP challenges and expired SCEP certificates), in one transaction, when it
   * still has no live enrollment and its last one ended before `endedBefore`; otherwise (it enrolled
   * again meanwhile) nothing and undefined. The audit log keeps its entries (its own retention).
   */
  removeRetired(deviceId: string, endedBefore: string, now: string): Promise<RemovedDeviceData | undefined>;
  /**
   * SCEP certificate records kept at a device's removal that have expired since (`not_after` before
   * `now`): deletes them for up to `limit` such devices; the DeviceIDs with how many went.
   */
  removeExpiredScepOfRemoved(
    now: string,
    limit: number,
  ): Promise<{ deviceId: string; scepCertificates: number }[]>;
  /** Sets the device's display name (an admin rename); returns false for an unknown device. */
  renameDevice(deviceId: string, name: string, at?: string): Promise<boolean>;
  /** DIGEST credentials of the device's current enrollment. */
  getDigestCredentials(deviceId: string): Promise<DigestCredentials | undefined>;
  /** Stores the nonce sent to the device in a `Chal`/NextNonce (docs/protocol-notes.md#digest-authentication). */
  setNextServerNonce(deviceId: string, nonce: string): Promise<void>;
}
