// Device certificates issued by the enrollment CA (docs/protocol-notes.md#device-certificates). Looked up by serial or SHA-1
// thumbprint whenever a device presents a TLS client certificate.

/**
 * `active`: the device's current certificate. `superseded`: replaced by a renewal; still accepted
 * until it expires, because the device keeps using it until the new one is installed.
 * `revoked`: the enrollment ended; never accepted.
 */
export const CERTIFICATE_STATUSES = ['active', 'superseded', 'revoked'] as const;
export type CertificateStatus = (typeof CERTIFICATE_STATUSES)[number];

/** Whether a certificate with this status may authenticate a device. */
export function certificateStatusAccepted(status: CertificateStatus): boolean {
  return status === 'active' || status === 'superseded';
}

export interface NewCertificate {
  /** Upper-case hex serial number. */
  readonly serial: string;
  /** Upper-case hex SHA-1 of the DER (docs/protocol-notes.md#device-certificates). */
  readonly thumbprint: string;
  /** ISO-8601 UTC. */
  readonly notBefore: string;
  readonly notAfter: string;
  readonly der: Buffer;
}

export interface CertificateRecord extends NewCertificate {
  readonly deviceId: string;
  readonly enrollmentId: string;
  readonly status: CertificateStatus;
  readonly issuedAt: string;
  /** `enrolled` while the enrollment the certificate was issued for is live. */
  readonly deviceStatus: 'enrolled' | 'unenrolled';
}

export interface RecordRenewal {
  readonly deviceId: string;
  /** Serial of the certificate the device authenticated with; it becomes `superseded`. */
  readonly previousSerial: string;
  readonly certificate: NewCertificate;
  readonly issuedAt: string;
}

export interface CertificateStore {
  findBySerial(serial: string): Promise<CertificateRecord | undefined>;
  findByThumbprint(thumbprint: string): Promise<CertificateRecord | undefined>;
  /** Certificates of a device, newest first. */
  listForDevice(deviceId: string): Promise<CertificateRecord[]>;
  /**
   * Records a renewed certificate (docs/protocol-notes.md#device-certificates) in one transaction: the new certificate
   * becomes `active` on the device's live enrollment and the previous one `superseded`.
   * Returns false (and changes nothing) when the device has no live enrollment or the previous
   * certificate is not one of its accepted certificates.
   */
  recordRenewal(renewal: RecordRenewal): Promise<boolean>;
}
