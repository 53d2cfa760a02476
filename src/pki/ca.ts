// The enrollment CA that signs device certificates (docs/protocol-notes.md#device-certificates). Either configured
// (MDM_CA_CERT + MDM_CA_KEY) or, in development, generated on first start into the certs folder
// and reused on every later start.

import {
  createPrivateKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  X509Certificate,
} from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import forge from 'node-forge';
import { forgePublicKey, randomSerial, signCertificate, thumbprintOf } from './sign.js';

export interface EnrollmentCa {
  readonly certificate: X509Certificate;
  readonly der: Buffer;
  readonly pem: string;
  /** SHA-1 of the DER, upper-case hex (docs/protocol-notes.md#device-certificates). */
  readonly thumbprint: string;
  readonly privateKey: KeyObject;
  /** DER of the CA's subject Name: the issuer of every device certificate. */
  readonly subjectName: Buffer;
  /** Subject key identifier (hex), when the CA certificate has one. */
  readonly subjectKeyId: string | undefined;
  /** `generated` = development CA kept in the certs folder; `configured` = MDM_CA_CERT/MDM_CA_KEY. */
  readonly origin: 'generated' | 'configured';
  /** True when this call created the development CA. */
  readonly created: boolean;
  readonly certPath: string;
  readonly keyPath: string;
}

export interface LoadCaOptions {
  certsDir: string;
  caCert?: string;
  caKey?: string;
  /** Subject common name of a generated CA. */
  commonName?: string;
  /** File name (without extension) of a generated CA in `certsDir` (default `ca`). */
  fileName?: string;
  now?: Date;
}

export class CaError extends Error {
  override name = 'CaError';
}

/** Loads the configured CA, or the development CA from `certsDir`, creating it on first use. */
export function loadOrCreateCa(options: LoadCaOptions): EnrollmentCa {
  if (options.caCert && options.caKey) return loadCa(options.caCert, options.caKey, 'configured', false);
  const base = options.fileName ?? 'ca';
  const certPath = join(options.certsDir, `${base}.crt`);
  const keyPath = join(options.certsDir, `${base}.key`);
  if (existsSync(certPath) && existsSync(keyPath)) return loadCa(certPath, keyPath, 'generated', false);
  mkdirSync(options.certsDir, { recursive: true });
  const { certPem, keyPem } = createDevCa(
    options.commonName ?? 'Open Windows MDM Development CA',
    options.now,
  );
  writeFileSync(keyPath, keyPem, { mode: 0o600 });
  writeFileSync(certPath, certPem, { mode: 0o644 });
  return loadCa(certPath, keyPath, 'generated', true);
}

function loadCa(
  certPath: string,
  keyPath: string,
  origin: EnrollmentCa['origin'],
  created: boolean,
): EnrollmentCa {
  let certificate: X509Certificate;
  let privateKey: KeyObject;
  try {
    certificate = new X509Certificate(readFileSync(certPath));
  } catch (err) {
    throw new CaError(`CA certificate ${certPath}: ${(err as Error).message}`);
  }
  try {
    privateKey = createPrivateKey(readFileSync(keyPath));
  } catch (err) {
    throw new CaError(`CA key ${keyPath}: ${(err as Error).message}`);
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new CaError(`CA key ${keyPath} does not belong to the certificate ${certPath}`);
  }
  if (!certificate.ca) throw new CaError(`${certPath} is not a CA certificate (basicConstraints CA:FALSE)`);
  const { subjectName, subjectKeyId } = readNames(certificate.raw);
  return {
    certificate,
    der: certificate.raw,
    pem: certificate.toString(),
    thumbprint: thumbprintOf(certificate.raw),
    privateKey,
    subjectName,
    subjectKeyId,
    origin,
    created,
    certPath,
    keyPath,
  };
}

/** A self-signed RSA-2048 CA, valid 10 years: basicConstraints CA (critical), keyCertSign + cRLSign. */
function createDevCa(commonName: string, now = new Date()): { certPem: string; keyPem: string } {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = forgePublicKey(publicKey);
  cert.serialNumber = randomSerial(randomBytes);
  cert.validity.notBefore = new Date(now.getTime() - 60 * 60 * 1000);
  cert.validity.notAfter = new Date(now.getTime() + 10 * 365 * 24 * 60 * 60 * 1000);
  const name = [
    { shortName: 'CN', value: commonName },
    { shortName: 'O', value: 'Open Windows MDM (development)' },
  ];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  const der = signCertificate(cert, privateKey);
  const certPem = new X509Certificate(der).toString();
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return { certPem, keyPem };
}

const SUBJECT_KEY_IDENTIFIER_OID = '2.5.29.14';

/**
 * Subject Name (DER) and subject key identifier of a certificate, read with forge's generic ASN.1
 * decoder (forge's certificate parser only knows RSA keys; the CA may be EC). RFC 5280 4.1.
 */
function readNames(der: Buffer): { subjectName: Buffer; subjectKeyId: string | undefined } {
  const { asn1 } = forge;
  const kids = (n: forge.asn1.Asn1 | undefined) =>
    Array.isArray(n?.value) ? (n.value as forge.asn1.Asn1[]) : [];
  const tbs = kids(asn1.fromDer(der.toString('binary')))[0];
  const fields = kids(tbs);
  const hasVersion = fields[0]?.tagClass === asn1.Class.CONTEXT_SPECIFIC && fields[0].type === 0;
  const subject = fields[hasVersion ? 5 : 4];
  if (!subject) throw new CaError('CA certificate has no subject');
  const extensions = fields.find((f) => f.tagClass === asn1.Class.CONTEXT_SPECIFIC && f.type === 3);
  let subjectKeyId: string | undefined;
  for (const ext of kids(kids(extensions)[0])) {
    const parts = kids(ext);
    const oid = parts[0];
    const extnValue = parts[parts.length - 1];
    if (!oid || !extnValue || asn1.derToOid(oid.value as string) !== SUBJECT_KEY_IDENTIFIER_OID) continue;
    // extnValue is an OCTET STRING holding KeyIdentifier ::= OCTET STRING (forge may have decoded it).
    const inner = typeof extnValue.value === 'string' ? asn1.fromDer(extnValue.value) : kids(extnValue)[0];
    if (inner && typeof inner.value === 'string') subjectKeyId = forge.util.bytesToHex(inner.value);
  }
  return { subjectName: Buffer.from(asn1.toDer(subject).getBytes(), 'binary'), subjectKeyId };
}
