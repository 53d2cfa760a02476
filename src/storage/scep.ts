// SCEP (RFC 8894) state: the one-time challenges the server hands out for a device and a
// certificate profile, and the certificates the SCEP endpoint issued.

/** `issued`: current. `superseded`: replaced by a renewal (RFC 8894 §3.3.1.2). `revoked`: on the CRL. */
export const SCEP_CERTIFICATE_STATUSES = ['issued', 'superseded', 'revoked'] as const;
export type ScepCertificateStatus = (typeof SCEP_CERTIFICATE_STATUSES)[number];

export interface ScepIssuance {
  readonly validityDays: number;
  /** RFC 5280 §4.2.1.3 names: digitalSignature, keyEncipherment, … */
  readonly keyUsage: readonly string[];
  /** Extended key usage OIDs (RFC 5280 §4.2.1.12). */
  readonly ekus: readonly string[];
}

export interface NewScepChallenge {
  /** SHA-256 (hex) of the challenge password; the password itself is never stored. */
  readonly challengeHash: string;
  readonly deviceId: string;
  readonly profile: string;
  /** Subject the request must ask for, as an RFC 4514 string (`CN=…,O=…`). */
  readonly subject: string;
  /** Subject alternative names the request may ask for (`dns:…`, `upn:…`, `email:…`, `uri:…`). */
  readonly san: readonly string[];
  /** What the issued certificate carries: set by the certificate profile, not by the request. */
  readonly issuance: ScepIssuance;
  readonly createdAt: string;
  readonly expiresAt: string;
}

export interface ScepChallengeRecord extends NewScepChallenge {
  readonly usedAt: string | undefined;
  /** Serial of the certificate issued with it. */
  readonly serial: string | undefined;
}

export interface NewScepCertificate {
  /** Upper-case hex. */
  readonly serial: string;
  /** SHA-1 of the DER, upper-case hex (the thumbprint Windows reports). */
  readonly thumbprint: string;
  readonly deviceId: string;
  readonly profile: string;
  readonly subject: string;
  readonly notBefore: string;
  readonly notAfter: string;
  readonly issuedAt: string;
  /** Serial of the certificate this one renews (RenewalReq). */
  readonly renewedFrom?: string;
  readonly der: Buffer;
}

export interface ScepCertificateRecord extends NewScepCertificate {
  readonly status: ScepCertificateStatus;
  readonly revokedAt: string | undefined;
  readonly revocationReason: string | undefined;
}

export interface ScepCertificateFilter {
  readonly deviceId?: string;
  readonly profile?: string;
  readonly status?: ScepCertificateStatus;
}

export interface ScepStore extends CertificateProfileStore {
  createChallenge(challenge: NewScepChallenge): Promise<void>;
  findChallenge(challengeHash: string): Promise<ScepChallengeRecord | undefined>;
  /**
   * Marks the challenge used by `serial`, only when it is unused and not expired at `now`; false
   * when another request used it first (the one-time rule holds across server instances).
   */
  consumeChallenge(challengeHash: string, serial: string, now: string): Promise<boolean>;
  /** Records an issued certificate; with `renewedFrom`, that certificate becomes `superseded`. */
  recordCertificate(certificate: NewScepCertificate): Promise<void>;
  findCertificate(serial: string): Promise<ScepCertificateRecord | undefined>;
  findCertificateByThumbprint(thumbprint: string): Promise<ScepCertificateRecord | undefined>;
  /** Newest first. */
  listCertificates(filter?: ScepCertificateFilter): Promise<ScepCertificateRecord[]>;
  /** Revokes an issued or superseded certificate; false when there is none or it is already revoked. */
  revokeCertificate(serial: string, at: string, reason: string): Promise<boolean>;
  /** Revoked certificates (for the CRL), oldest revocation first. */
  listRevoked(): Promise<ScepCertificateRecord[]>;
}

/**
 * State of one certificate profile on one device (README "Certificate profiles over SCEP"):
 * `pending` (Install nodes queued), `requested` (the Enroll Exec was sent), `issued` (the SCEP
 * request for this device and profile was signed), `installed` (the device reports the
 * certificate's thumbprint), `failed` (with the CSP's Status/ErrorCode), `renewing` (a new
 * certificate is being enrolled before the current one expires), `revoked` (the profile was
 * unassigned: its node deleted and its certificates revoked).
 */
export const CERTIFICATE_PROFILE_STATES = [
  'pending',
  'requested',
  'issued',
  'installed',
  'failed',
  'renewing',
  'revoked',
] as const;
export type CertificateProfileState = (typeof CERTIFICATE_PROFILE_STATES)[number];

export interface DeviceCertificateProfileRecord {
  readonly deviceId: string;
  /** Profile name: the {UniqueID} under ClientCertificateInstall/SCEP. */
  readonly profile: string;
  /** Policy that assigns it (the last one once revoked). */
  readonly policy: string | null;
  /** `./Device/Vendor/MSFT/ClientCertificateInstall/SCEP/<name>` (or ./User/…). */
  readonly root: string;
  readonly state: CertificateProfileState;
  /** Subject and subject alternative names resolved for this device (what the challenge binds). */
  readonly subject: string | null;
  readonly san: readonly string[];
  /** Expiry of the newest challenge handed out (the challenge itself is never stored). */
  readonly challengeExpiresAt: string | null;
  /** Delivery attempt; tags of the commands carry it so answers to older attempts are ignored. */
  readonly attempts: number;
  /** The newest certificate issued for this device and profile. */
  readonly serial: string | null;
  readonly thumbprint: string | null;
  readonly notBefore: string | null;
  readonly notAfter: string | null;
  /** The certificate thumbprint the device reports installed (CertThumbprint node). */
  readonly installedThumbprint: string | null;
  /** The CSP's Status node (1 done, 2 pending, 16 failed, 32 unknown) and ErrorCode (HRESULT). */
  readonly cspStatus: number | null;
  readonly errorCode: number | null;
  /** SyncML status of the last command about this profile that failed. */
  readonly statusCode: number | null;
  readonly reason: string | null;
  readonly nextRetryAt: string | null;
  readonly requestedAt: string | null;
  readonly issuedAt: string | null;
  readonly installedAt: string | null;
  readonly updatedAt: string;
}

export interface DeviceCertificateProfileFilter {
  readonly deviceId?: string;
  readonly profile?: string;
  readonly state?: CertificateProfileState;
}

export interface CertificateProfileStore {
  listDeviceProfiles(deviceId: string): Promise<DeviceCertificateProfileRecord[]>;
  /** Inserts or replaces each record (key: device and profile). */
  saveDeviceProfiles(records: readonly DeviceCertificateProfileRecord[]): Promise<void>;
  /** Every record matching the filter, by device then profile. */
  queryDeviceProfiles(filter?: DeviceCertificateProfileFilter): Promise<DeviceCertificateProfileRecord[]>;
}
