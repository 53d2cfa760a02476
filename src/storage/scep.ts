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

export interface ScepStore {
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
