// PKCS#10 requests from Windows (docs/protocol-notes.md#request-security-token). Parsed with node-forge, which tolerates the
// Windows subject (a PrintableString holding `!` and a trailing NUL, docs/protocol-notes.md#request-security-token); the self-signature
// is checked with node:crypto over the exact CertificationRequestInfo bytes.
import { createPublicKey, type KeyObject, verify } from 'node:crypto';
import forge from 'node-forge';

/** Signature algorithms accepted on a CSR → node:crypto digest name. */
const CSR_SIGNATURE_HASHES: Readonly<Record<string, string>> = {
  '1.2.840.113549.1.1.5': 'sha1', // sha1WithRSAEncryption
  '1.3.14.3.2.29': 'sha1', // sha1WithRSASignature (OIW), sent by Windows
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
};

/** Extension the client adds to carry its DeviceID (docs/protocol-notes.md#request-security-token). */
export const DEVICE_ID_EXTENSION_OID = '1.3.6.1.4.1.311.66.1.0';

export interface ParsedCsr {
  readonly publicKey: KeyObject;
  readonly forgePublicKey: forge.pki.rsa.PublicKey;
  readonly keyBits: number;
  /** Subject CN with NUL bytes removed (informational only; never copied into a certificate). */
  readonly subjectCommonName: string | undefined;
  /** Value of the DeviceID extension request, NULs removed. */
  readonly requestedDeviceId: string | undefined;
}

export class CsrError extends Error {
  override name = 'CsrError';
}

const stripNul = (s: string) => s.replace(/\u0000+/g, '').trim();

/** Parses and verifies a DER PKCS#10 request; throws `CsrError` for anything unusable. */
export function parseCsr(der: Buffer): ParsedCsr {
  if (der.length === 0) throw new CsrError('empty certificate request');
  let csr: forge.pki.CertificateSigningRequest;
  let criDer: Buffer;
  try {
    const obj = forge.asn1.fromDer(der.toString('binary'));
    csr = forge.pki.certificationRequestFromAsn1(obj);
    const cri = (csr as unknown as { certificationRequestInfo: forge.asn1.Asn1 }).certificationRequestInfo;
    criDer = Buffer.from(forge.asn1.toDer(cri).getBytes(), 'binary');
  } catch (err) {
    throw new CsrError(`not a PKCS#10 RSA certificate request: ${(err as Error).message}`);
  }
  const hash = CSR_SIGNATURE_HASHES[csr.signatureOid ?? ''];
  if (!hash) throw new CsrError(`unsupported CSR signature algorithm ${csr.signatureOid}`);
  const forgeKey = csr.publicKey as forge.pki.rsa.PublicKey;
  const publicKey = createPublicKey(forge.pki.publicKeyToPem(forgeKey));
  const signature = Buffer.from(csr.signature as string, 'binary');
  if (!verify(hash, criDer, publicKey, signature)) {
    throw new CsrError('certificate request signature does not verify');
  }
  const cn = csr.subject.getField('CN') as { value?: string } | null;
  return {
    publicKey,
    forgePublicKey: forgeKey,
    keyBits: forgeKey.n.bitLength(),
    subjectCommonName: typeof cn?.value === 'string' ? stripNul(cn.value) : undefined,
    requestedDeviceId: requestedDeviceId(csr),
  };
}

function requestedDeviceId(csr: forge.pki.CertificateSigningRequest): string | undefined {
  const request = csr.getAttribute({ name: 'extensionRequest' }) as {
    extensions?: { id: string; value: string }[];
  } | null;
  const ext = request?.extensions?.find((e) => e.id === DEVICE_ID_EXTENSION_OID);
  return ext ? stripNul(ext.value) : undefined;
}
