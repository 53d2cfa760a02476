// The device's certificate request (MS-WSTEP 3.1.4.1: a PKCS#10, or for renewal a PKCS#7 signed
// with the current device key) and the certificate the CA issues for it.
import { decodeBase64 } from '../codec/soap/envelope.js';
import { EnrollmentFault } from '../codec/soap/faults.js';
import { CsrError, type ParsedCsr, parseCsr } from '../pki/csr.js';
import { type IssuedCertificate, issueDeviceCertificate } from '../pki/issue.js';
import type { EnrollmentContext } from './context.js';

export const MIN_KEY_BITS = 2048;

export function parseRequestCsr(der: Buffer): ParsedCsr {
  try {
    const csr = parseCsr(der);
    if (csr.keyBits < MIN_KEY_BITS)
      throw new CsrError(`RSA key of ${csr.keyBits} bits; at least ${MIN_KEY_BITS} required`);
    return csr;
  } catch (err) {
    // The CSR parser's message is logged, not reflected.
    if (err instanceof CsrError) {
      throw new EnrollmentFault('CertificateRequest', 'the certificate request is invalid', undefined, {
        csr: err.message,
      });
    }
    throw err;
  }
}

/** Signs the CSR for `deviceId`; a CSR naming another DeviceID is refused. */
export function issueForDevice(ctx: EnrollmentContext, csr: ParsedCsr, deviceId: string): IssuedCertificate {
  if (csr.requestedDeviceId && csr.requestedDeviceId.toUpperCase() !== deviceId.toUpperCase()) {
    throw new EnrollmentFault('CertificateRequest', 'the CSR names a different DeviceID');
  }
  return issueDeviceCertificate(ctx.ca, {
    publicKey: csr.forgePublicKey,
    deviceId,
    validityDays: ctx.config.certValidityDays,
    now: ctx.now(),
  });
}

/**
 * Manual renewal base64-encodes the PKCS#7 a second time inside the token (docs/protocol-notes.md#device-certificates):
 * DER starts with a SEQUENCE byte (0x30), base64 text of one with "MI".
 */
export function unwrapBase64(token: Buffer): Buffer {
  if (token[0] === 0x30) return token;
  return decodeBase64(token.toString('latin1')) ?? token;
}

export function storedCertificate(c: IssuedCertificate) {
  return {
    serial: c.serial,
    thumbprint: c.thumbprint,
    notBefore: c.notBefore.toISOString(),
    notAfter: c.notAfter.toISOString(),
    der: c.der,
  };
}
