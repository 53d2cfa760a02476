// Certificates are built with node-forge but signed with node:crypto (docs/architecture.md#performance-choices: forge's
// pure-JS RSA signing is about 100× slower). forge produces the TBSCertificate; we replace its
// signature AlgorithmIdentifier with the one matching the issuer key, sign the DER with
// `crypto.sign`, and assemble Certificate ::= SEQUENCE { tbs, algorithm, BIT STRING signature }.
import { createHash, type KeyObject, sign } from 'node:crypto';
import forge from 'node-forge';

const { asn1 } = forge;

/** Signature algorithms by issuer key type (SHA-256 only, docs/protocol-notes.md#device-certificates). */
const SIGNATURE_ALGORITHMS = {
  rsa: { oid: '1.2.840.113549.1.1.11', nullParams: true }, // sha256WithRSAEncryption
  ec: { oid: '1.2.840.10045.4.3.2', nullParams: false }, // ecdsa-with-SHA256
} as const;

function algorithmIdentifier(issuerKey: KeyObject): forge.asn1.Asn1 {
  const type = issuerKey.asymmetricKeyType;
  if (type !== 'rsa' && type !== 'ec') throw new Error(`unsupported CA key type ${type ?? 'unknown'}`);
  const alg = SIGNATURE_ALGORITHMS[type];
  const parts = [asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(alg.oid).getBytes())];
  if (alg.nullParams) parts.push(asn1.create(asn1.Class.UNIVERSAL, asn1.Type.NULL, false, ''));
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, parts);
}

type ForgeWithTbs = typeof forge.pki & { getTBSCertificate(cert: forge.pki.Certificate): forge.asn1.Asn1 };

/**
 * Signs a forge-built certificate with the issuer's key; returns the certificate DER.
 * `issuerName` (DER of the issuer's subject Name) replaces forge's issuer field byte for byte, so
 * the chain matches whatever string types the CA certificate uses.
 */
export function signCertificate(
  cert: forge.pki.Certificate,
  issuerKey: KeyObject,
  issuerName?: Buffer,
): Buffer {
  // forge needs an algorithm it knows to build the TBS; the element is replaced below.
  cert.siginfo.algorithmOid = forge.pki.oids.sha256WithRSAEncryption!;
  const tbs = (forge.pki as ForgeWithTbs).getTBSCertificate(cert);
  const fields = tbs.value as forge.asn1.Asn1[];
  fields[2] = algorithmIdentifier(issuerKey); // TBSCertificate.signature (RFC 5280 4.1.2.3)
  if (issuerName) fields[3] = asn1.fromDer(issuerName.toString('binary')); // TBSCertificate.issuer
  const tbsDer = Buffer.from(asn1.toDer(tbs).getBytes(), 'binary');
  const signature = sign('sha256', tbsDer, issuerKey);
  const certificate = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    tbs,
    algorithmIdentifier(issuerKey),
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BITSTRING, false, `\u0000${signature.toString('binary')}`),
  ]);
  return Buffer.from(asn1.toDer(certificate).getBytes(), 'binary');
}

/** SHA-1 of the DER, upper-case hex: the thumbprint Windows uses (docs/protocol-notes.md#device-certificates). */
export function thumbprintOf(der: Buffer): string {
  return createHash('sha1').update(der).digest('hex').toUpperCase();
}

/** A random positive serial number (16 bytes), upper-case hex. */
export function randomSerial(randomBytes: (n: number) => Buffer): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x40; // positive, no leading zero byte
  return bytes.toString('hex').toUpperCase();
}

/** node:crypto public key → forge public key (forge writes SubjectPublicKeyInfo for RSA only). */
export function forgePublicKey(key: KeyObject): forge.pki.rsa.PublicKey {
  return forge.pki.publicKeyFromPem(
    key.export({ type: 'spki', format: 'pem' }).toString(),
  ) as forge.pki.rsa.PublicKey;
}
