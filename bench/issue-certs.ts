// Child process: issues the pool's device certificates with the server's enrollment CA (the same
// `issueDeviceCertificate` the enrollment service uses), in parallel with the database pre-load.
// Parent → child: { type: 'issue', certsDir, publicKeyPem, deviceIds }; child → parent:
// { type: 'issued', certs }.
import { createPublicKey } from 'node:crypto';
import { loadOrCreateCa } from '../src/pki/ca.js';
import { issueDeviceCertificate } from '../src/pki/issue.js';
import { forgePublicKey } from '../src/pki/sign.js';
import { isEntryPoint } from './process.js';

export interface IssuedPoolCertificate {
  readonly deviceId: string;
  readonly serial: string;
  readonly thumbprint: string;
  /** Base64 DER. */
  readonly der: string;
  readonly pem: string;
  readonly notBefore: string;
  readonly notAfter: string;
}

export interface IssueRequest {
  readonly certsDir: string;
  /** SPKI PEM of the key every pool certificate certifies. */
  readonly publicKeyPem: string;
  readonly deviceIds: readonly string[];
}

export function issuePoolCertificates(request: IssueRequest): IssuedPoolCertificate[] {
  const ca = loadOrCreateCa({ certsDir: request.certsDir });
  const publicKey = forgePublicKey(createPublicKey(request.publicKeyPem));
  return request.deviceIds.map((deviceId) => {
    const c = issueDeviceCertificate(ca, { publicKey, deviceId, validityDays: 30 });
    return {
      deviceId,
      serial: c.serial,
      thumbprint: c.thumbprint,
      der: c.der.toString('base64'),
      pem: c.pem,
      notBefore: c.notBefore.toISOString(),
      notAfter: c.notAfter.toISOString(),
    };
  });
}

/** Entry of the issuing child process. */
export function startChild(): void {
  process.on('message', (msg: { type: string } & Partial<IssueRequest>) => {
    if (msg.type === 'issue') {
      try {
        const certs = issuePoolCertificates(msg as IssueRequest);
        process.send?.({ type: 'issued', certs }, () => process.exit(0));
      } catch (err) {
        process.send?.({ type: 'error', message: err instanceof Error ? err.stack : String(err) }, () =>
          process.exit(1),
        );
      }
    }
  });
  process.send?.({ type: 'ready' });
}

if (isEntryPoint(import.meta.url)) startChild();
