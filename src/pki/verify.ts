// Checks a device's TLS client certificate against the enrollment CA (docs/protocol-notes.md#device-certificates):
// signed by the CA, inside its validity period, clientAuth EKU, and a CN naming the device.
// Revocation and "belongs to a live enrollment" are storage questions for the caller
// (`storage.certificates.findBySerial`).
import { X509Certificate } from 'node:crypto';
import type { EnrollmentCa } from './ca.js';
import { thumbprintOf } from './sign.js';

const CLIENT_AUTH_OID = '1.3.6.1.5.5.7.3.2';

export interface DeviceCertificateIdentity {
  /** Subject CN: the MS-MDE2 DeviceID. */
  readonly deviceId: string;
  /** Upper-case hex serial (matches `CertificateRecord.serial`). */
  readonly serial: string;
  /** Upper-case hex SHA-1 of the DER. */
  readonly thumbprint: string;
  readonly notAfter: Date;
  readonly certificate: X509Certificate;
}

export const CERTIFICATE_REJECTIONS = {
  malformed: 'not a parsable X.509 certificate',
  untrusted: 'not issued by the enrollment CA',
  'not-yet-valid': 'before its validity period',
  expired: 'after its validity period',
  'not-client-auth': 'no clientAuth extended key usage',
  'no-device-id': 'no subject CN',
} as const;
export type CertificateRejection = keyof typeof CERTIFICATE_REJECTIONS;

export type DeviceCertificateCheck =
  | ({ readonly ok: true } & DeviceCertificateIdentity)
  | { readonly ok: false; readonly reason: CertificateRejection; readonly message: string };

/** Accepts a DER buffer, a PEM string or an `X509Certificate`. Never throws. */
export function verifyDeviceCertificate(
  ca: EnrollmentCa,
  input: X509Certificate | Buffer | string,
  now: Date = new Date(),
): DeviceCertificateCheck {
  const reject = (reason: CertificateRejection): DeviceCertificateCheck => ({
    ok: false,
    reason,
    message: `client certificate rejected: ${CERTIFICATE_REJECTIONS[reason]}`,
  });
  let cert: X509Certificate;
  try {
    cert = input instanceof X509Certificate ? input : new X509Certificate(input);
  } catch {
    return reject('malformed');
  }
  if (!cert.checkIssued(ca.certificate) || !cert.verify(ca.certificate.publicKey)) return reject('untrusted');
  const notBefore = Date.parse(cert.validFrom);
  const notAfter = Date.parse(cert.validTo);
  const outside = validityProblem(notBefore, notAfter, now);
  if (outside) return reject(outside);
  if (!(cert.keyUsage ?? []).includes(CLIENT_AUTH_OID)) return reject('not-client-auth');
  const deviceId = commonName(cert.subject);
  if (!deviceId) return reject('no-device-id');
  return {
    ok: true,
    deviceId,
    serial: cert.serialNumber.toUpperCase(),
    thumbprint: thumbprintOf(cert.raw),
    notAfter: new Date(notAfter),
    certificate: cert,
  };
}

/** Why `now` is outside a certificate's validity period (epoch milliseconds), if it is. */
export function validityProblem(
  notBefore: number,
  notAfter: number,
  now: Date,
): 'not-yet-valid' | 'expired' | undefined {
  if (now.getTime() < notBefore) return 'not-yet-valid';
  if (now.getTime() > notAfter) return 'expired';
  return undefined;
}

/** The CN value of an `X509Certificate.subject` string (one `KEY=value` per line). */
export function commonName(subject: string): string | undefined {
  for (const line of subject.split('\n')) {
    if (line.startsWith('CN=')) return line.slice(3).trim() || undefined;
  }
  return undefined;
}
