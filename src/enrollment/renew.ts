// Renewal (MS-MDE2 3.4.5, docs/protocol-notes.md#device-certificates): authenticated by the current
// device certificate on the TLS connection, never by the message body.
import type { X509Certificate } from 'node:crypto';
import { EnrollmentFault } from '../codec/soap/faults.js';
import { VALUE_TYPES } from '../codec/soap/namespaces.js';
import { buildRenewalProvisioningDoc } from '../codec/soap/provisioning.js';
import { contextValue, type RstRequest } from '../codec/soap/wstep.js';
import { Pkcs7Error, parseSignedData } from '../pki/pkcs7.js';
import { verifyDeviceCertificate } from '../pki/verify.js';
import { certificateStatusAccepted } from '../storage/certificates.js';
import { issueForDevice, parseRequestCsr, storedCertificate, unwrapBase64 } from './certificate-request.js';
import type { EnrollmentContext, EnrollmentResult } from './context.js';

export async function renew(
  ctx: EnrollmentContext,
  request: RstRequest,
  clientCertificate: X509Certificate | undefined,
): Promise<EnrollmentResult> {
  const { storage, ca, now, renewal } = ctx;
  const notEligible = (message: string) =>
    new EnrollmentFault('Authorization', message, 'NotEligibleToRenew');
  if (!clientCertificate)
    throw notEligible('renewal requires the current device certificate on the TLS connection');
  const check = verifyDeviceCertificate(ca, clientCertificate, now());
  if (!check.ok) throw notEligible(check.message);
  const record = await storage.certificates.findBySerial(check.serial);
  if (!record || !certificateStatusAccepted(record.status) || record.deviceStatus !== 'enrolled') {
    throw notEligible('the certificate does not belong to a live enrollment');
  }
  const claimed = contextValue(request.context, 'DeviceID');
  if (claimed && claimed.toUpperCase() !== check.deviceId.toUpperCase()) {
    throw notEligible('DeviceID does not match the client certificate');
  }
  let csrDer = request.token;
  if (request.tokenValueType !== VALUE_TYPES.pkcs10) {
    try {
      const signed = parseSignedData(unwrapBase64(request.token));
      if (!signed.verifiedBy(clientCertificate.publicKey)) {
        throw notEligible('the PKCS#7 request is not signed with the current device key');
      }
      csrDer = signed.content;
    } catch (err) {
      if (err instanceof Pkcs7Error) {
        throw new EnrollmentFault('CertificateRequest', 'the PKCS#7 renewal request is invalid', undefined, {
          pkcs7: err.message,
        });
      }
      throw err;
    }
  }
  const certificate = issueForDevice(ctx, parseRequestCsr(csrDer), check.deviceId);
  const device = await storage.devices.getDevice(check.deviceId);
  const recorded = await storage.certificates.recordRenewal({
    deviceId: check.deviceId,
    previousSerial: check.serial,
    certificate: storedCertificate(certificate),
    issuedAt: now().toISOString(),
  });
  if (!recorded || !device) throw notEligible('the enrollment ended during renewal');
  const provisioningDoc = buildRenewalProvisioningDoc({
    client: { thumbprint: certificate.thumbprint, der: certificate.der },
    enrollmentType: device.enrollmentType,
    providerId: device.providerId,
    renewal,
  });
  return { provisioningDoc, deviceId: check.deviceId, certificate };
}
