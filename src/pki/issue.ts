// Device certificates (docs/protocol-notes.md#device-certificates): the CSR's public key, CN = DeviceID, clientAuth EKU,
// critical digitalSignature + keyEncipherment, CA:FALSE, random serial, SHA-256 signature by the
// enrollment CA, notBefore backdated an hour for clock skew.
import { randomBytes, X509Certificate } from 'node:crypto';
import forge from 'node-forge';
import type { EnrollmentCa } from './ca.js';
import { randomSerial, signCertificate, thumbprintOf } from './sign.js';

const CLOCK_SKEW_MS = 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface IssueDeviceCertificate {
  /** Public key from the verified CSR. */
  readonly publicKey: forge.pki.rsa.PublicKey;
  readonly deviceId: string;
  readonly validityDays: number;
  readonly now?: Date;
}

export interface IssuedCertificate {
  readonly der: Buffer;
  readonly pem: string;
  readonly certificate: X509Certificate;
  /** Upper-case hex. */
  readonly serial: string;
  /** SHA-1 of the DER, upper-case hex. */
  readonly thumbprint: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

export function issueDeviceCertificate(ca: EnrollmentCa, request: IssueDeviceCertificate): IssuedCertificate {
  const now = request.now ?? new Date();
  const cert = forge.pki.createCertificate();
  cert.publicKey = request.publicKey;
  cert.serialNumber = randomSerial(randomBytes);
  cert.validity.notBefore = new Date(now.getTime() - CLOCK_SKEW_MS);
  cert.validity.notAfter = new Date(now.getTime() + request.validityDays * DAY_MS);
  cert.setSubject([{ shortName: 'CN', value: request.deviceId }]);
  const extensions: object[] = [
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', clientAuth: true },
    { name: 'subjectKeyIdentifier' },
  ];
  if (ca.subjectKeyId) {
    extensions.push({
      name: 'authorityKeyIdentifier',
      keyIdentifier: forge.util.hexToBytes(ca.subjectKeyId),
    });
  }
  cert.setExtensions(extensions);
  const der = signCertificate(cert, ca.privateKey, ca.subjectName);
  const certificate = new X509Certificate(der);
  return {
    der,
    pem: certificate.toString(),
    certificate,
    serial: cert.serialNumber.toUpperCase(),
    thumbprint: thumbprintOf(der),
    notBefore: cert.validity.notBefore,
    notAfter: cert.validity.notAfter,
  };
}
