// The device's key and PKCS#10 request, built the way the Windows enrollment client builds them
// (docs/protocol-notes.md#request-security-token): subject CN = `{GUID, cut}!{DeviceID}` + NUL as a PrintableString, an extension
// request 1.3.6.1.4.1.311.66.1.0 carrying the NUL-terminated DeviceID, SHA-1 (OIW OID) unless the
// policy names SHA-256. ASN.1 is assembled with node-forge; the key is generated and the request
// signed with node:crypto (forge's RSA is far slower, docs/architecture.md#performance-choices).
import { generateKeyPair, randomUUID, sign } from 'node:crypto';
import { promisify } from 'node:util';
import forge from 'node-forge';

const generateKeyPairAsync = promisify(generateKeyPair);
const { asn1 } = forge;

export interface DeviceKey {
  /** PKCS#8 PEM. */
  readonly privateKeyPem: string;
  /** SubjectPublicKeyInfo DER. */
  readonly spkiDer: Buffer;
}

export async function generateDeviceKey(bits = 2048): Promise<DeviceKey> {
  const { privateKey, publicKey } = await generateKeyPairAsync('rsa', { modulusLength: bits });
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    spkiDer: publicKey.export({ type: 'spki', format: 'der' }),
  };
}

const SIGNATURE_OIDS = {
  /** sha1WithRSASignature (OIW), what Windows writes for SHA-1. */
  sha1: '1.3.14.3.2.29',
  sha256: '1.2.840.113549.1.1.11',
} as const;
export type CsrHash = keyof typeof SIGNATURE_OIDS;

const oid = (value: string) =>
  asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(value).getBytes());
const seq = (...items: forge.asn1.Asn1[]) =>
  asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, items);
const set = (...items: forge.asn1.Asn1[]) => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SET, true, items);

/** Base64 DER PKCS#10 for `deviceId`, signed with the device key. */
export function buildCsr(key: DeviceKey, deviceId: string, hash: CsrHash = 'sha1'): string {
  // Windows cuts the GUID so the CN is exactly 64 characters (X.520 ub-common-name), e.g.
  // `BA405A5D-B1C7-4737-81C8-8F379A!1E08C6E95D8BB843B1278FF45BC60CC6` + NUL.
  const prefix = randomUUID()
    .toUpperCase()
    .slice(0, Math.max(0, 64 - deviceId.length - 2));
  const cn = `${prefix}!${deviceId}\u0000`;
  const subject = seq(
    set(seq(oid('2.5.4.3'), asn1.create(asn1.Class.UNIVERSAL, asn1.Type.PRINTABLESTRING, false, cn))),
  );
  const spki = asn1.fromDer(key.spkiDer.toString('binary'));
  const deviceIdExtension = seq(
    oid('1.3.6.1.4.1.311.66.1.0'),
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, `${deviceId}\u0000`),
  );
  const extensionRequest = seq(oid('1.2.840.113549.1.9.14'), set(seq(deviceIdExtension)));
  const info = seq(
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.INTEGER, false, String.fromCharCode(0)),
    subject,
    spki,
    asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, [extensionRequest]),
  );
  const infoDer = Buffer.from(asn1.toDer(info).getBytes(), 'binary');
  const signature = sign(hash, infoDer, key.privateKeyPem);
  const request = seq(
    info,
    seq(oid(SIGNATURE_OIDS[hash]), asn1.create(asn1.Class.UNIVERSAL, asn1.Type.NULL, false, '')),
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BITSTRING, false, `\u0000${signature.toString('binary')}`),
  );
  return Buffer.from(asn1.toDer(request).getBytes(), 'binary').toString('base64');
}
