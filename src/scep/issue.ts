// The PKCS#10 request inside a SCEP PKCSReq/RenewalReq (RFC 8894 §3.3.1, RFC 2986) and the
// certificate issued for it (RFC 5280 profile: the CSR's subject and key, the extensions the
// certificate profile sets, a CRL distribution point on the SCEP endpoint).
import { createHash, randomBytes } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { parseCertificate, ScepMessageError, type ScepSigner, signingKey } from '../codec/scep/cms.js';
import { formatName, generalNamesSchema, parseDn, UPN_OID } from '../codec/scep/names.js';
import type { ScepIssuance } from '../storage/scep.js';

const OID = {
  challengePassword: '1.2.840.113549.1.9.7',
  extensionRequest: '1.2.840.113549.1.9.14',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  crlDistributionPoints: '2.5.29.31',
} as const;

/** RFC 5280 §4.2.1.3 KeyUsage bit numbers. */
export const KEY_USAGE_BITS: Readonly<Record<string, number>> = {
  digitalSignature: 0,
  nonRepudiation: 1,
  keyEncipherment: 2,
  dataEncipherment: 3,
  keyAgreement: 4,
};

export interface ParsedRequest {
  readonly request: pkijs.CertificationRequest;
  /** RFC 4514 form, attributes in the order of the request. */
  readonly subject: string;
  /** `dns:…`, `email:…`, `uri:…`, `upn:…`, `ip:…`. */
  readonly san: string[];
  readonly challenge: string | undefined;
  readonly keyBits: number;
}

/** True when both name the same attributes with the same values (order of RDNs ignored; values case-sensitive). */
export function sameSubject(a: string, b: string): boolean {
  const norm = (dn: string) =>
    parseDn(dn)
      .map(([t, v]) => `${t}=${v}`)
      .sort();
  const x = norm(a);
  const y = norm(b);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

export const normaliseSan = (san: readonly string[]) => [...new Set(san.map((s) => s.trim()))].sort();

function generalNameString(g: pkijs.GeneralName): string {
  switch (g.type) {
    case 1:
      return `email:${g.value}`;
    case 2:
      return `dns:${g.value}`;
    case 6:
      return `uri:${g.value}`;
    case 7: {
      const bytes = Buffer.from((g.value as asn1js.OctetString).valueBlock.valueHexView);
      return `ip:${bytes.length === 4 ? [...bytes].join('.') : bytes.toString('hex')}`;
    }
    case 0: {
      const other = g.value as { type?: string; value?: asn1js.AsnType };
      const seq = g.value as asn1js.Sequence;
      // OtherName ::= SEQUENCE { type-id OID, value [0] EXPLICIT ANY }; UPN is a UTF8String.
      const items = seq.valueBlock?.value ?? [];
      const oid = items[0] instanceof asn1js.ObjectIdentifier ? items[0].valueBlock.toString() : other.type;
      const inner = (items[1] as asn1js.Constructed | undefined)?.valueBlock?.value?.[0] as
        | asn1js.Utf8String
        | undefined;
      if (oid === UPN_OID && inner) return `upn:${inner.valueBlock.value}`;
      return `othername:${oid}`;
    }
    default:
      return `type${g.type}`;
  }
}

/** Parses and verifies the PKCS#10 request (its self-signature); a bad one is badRequest. */
export async function parseRequest(der: Buffer): Promise<ParsedRequest> {
  let request: pkijs.CertificationRequest;
  try {
    const parsed = asn1js.fromBER(
      der.buffer.slice(der.byteOffset, der.byteOffset + der.byteLength) as ArrayBuffer,
    );
    if (parsed.offset === -1) throw new Error('not ASN.1');
    request = new pkijs.CertificationRequest({ schema: parsed.result });
  } catch (err) {
    throw new ScepMessageError(`not a PKCS#10 request: ${(err as Error).message}`, 'badRequest');
  }
  let verified = false;
  try {
    verified = await request.verify();
  } catch {
    verified = false;
  }
  if (!verified) throw new ScepMessageError('the PKCS#10 self-signature does not verify', 'badMessageCheck');
  const attributes = request.attributes ?? [];
  const challengeValue = attributes.find((a) => a.type === OID.challengePassword)?.values[0] as
    | { valueBlock?: { value?: unknown } }
    | undefined;
  const challenge =
    typeof challengeValue?.valueBlock?.value === 'string' ? challengeValue.valueBlock.value : undefined;
  const san: string[] = [];
  const extAttr = attributes.find((a) => a.type === OID.extensionRequest)?.values[0];
  if (extAttr) {
    try {
      const extensions = new pkijs.Extensions({ schema: extAttr });
      for (const ext of extensions.extensions) {
        if (ext.extnID !== OID.subjectAltName) continue;
        const parsed = asn1js.fromBER(ext.extnValue.getValue());
        if (parsed.offset === -1) throw new Error('subjectAltName is not ASN.1');
        const alt = new pkijs.AltName({ schema: parsed.result });
        san.push(...alt.altNames.map(generalNameString));
      }
    } catch (err) {
      throw new ScepMessageError(`unreadable extension request: ${(err as Error).message}`, 'badRequest');
    }
  }
  const key = request.subjectPublicKeyInfo;
  if (key.algorithm.algorithmId !== '1.2.840.113549.1.1.1') {
    throw new ScepMessageError('only RSA keys are issued over SCEP', 'badAlg');
  }
  const rsa = key.parsedKey as pkijs.RSAPublicKey | undefined;
  const modulus = rsa ? Buffer.from(rsa.modulus.valueBlock.valueHexView) : Buffer.alloc(0);
  const keyBits = (modulus[0] === 0 ? modulus.length - 1 : modulus.length) * 8;
  return { request, subject: formatName(request.subject), san, challenge, keyBits };
}

export interface IssueScepCertificate {
  readonly request: ParsedRequest;
  readonly issuance: ScepIssuance;
  /** CRL distribution point URL. */
  readonly crlUrl: string;
  readonly now: Date;
}

export interface IssuedScepCertificate {
  readonly der: Buffer;
  readonly serial: string;
  readonly thumbprint: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

const ext = (extnID: string, critical: boolean, value: asn1js.AsnType) =>
  new pkijs.Extension({ extnID, critical, extnValue: value.toBER(false) });

/** Issues the certificate: the request's subject, key and SAN; the profile's key usage, EKUs and validity. */
export async function issueScepCertificate(
  ca: ScepSigner,
  input: IssueScepCertificate,
): Promise<IssuedScepCertificate> {
  const { request, issuance, now } = input;
  const cert = new pkijs.Certificate();
  cert.version = 2;
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x10; // positive, 16 bytes (RFC 5280 §4.1.2.2)
  cert.serialNumber = new asn1js.Integer({
    valueHex: serial.buffer.slice(serial.byteOffset, serial.byteOffset + 16),
  });
  cert.issuer = ca.certificate.subject;
  cert.subject = request.request.subject;
  const notBefore = new Date(now.getTime() - 60 * 60 * 1000);
  const notAfter = new Date(now.getTime() + issuance.validityDays * 86_400_000);
  cert.notBefore.value = notBefore;
  cert.notAfter.value = notAfter;
  cert.subjectPublicKeyInfo = request.request.subjectPublicKeyInfo;
  const spkBits = Buffer.from(cert.subjectPublicKeyInfo.subjectPublicKey.valueBlock.valueHexView);
  const caSpkBits = Buffer.from(ca.certificate.subjectPublicKeyInfo.subjectPublicKey.valueBlock.valueHexView);
  const keyId = (b: Buffer) => {
    const h = createHash('sha1').update(b).digest();
    return h.buffer.slice(h.byteOffset, h.byteOffset + h.byteLength);
  };
  let bits = 0;
  for (const name of issuance.keyUsage) {
    const bit = KEY_USAGE_BITS[name];
    if (bit !== undefined) bits |= 0x80 >> bit;
  }
  const extensions = [
    ext(OID.basicConstraints, true, new pkijs.BasicConstraints({ cA: false }).toSchema()),
    ext(OID.subjectKeyIdentifier, false, new asn1js.OctetString({ valueHex: keyId(spkBits) })),
    ext(
      OID.authorityKeyIdentifier,
      false,
      new pkijs.AuthorityKeyIdentifier({
        keyIdentifier: new asn1js.OctetString({ valueHex: keyId(caSpkBits) }),
      }).toSchema(),
    ),
    ext(
      OID.crlDistributionPoints,
      false,
      new pkijs.CRLDistributionPoints({
        distributionPoints: [
          new pkijs.DistributionPoint({
            distributionPoint: [new pkijs.GeneralName({ type: 6, value: input.crlUrl })],
          }),
        ],
      }).toSchema(),
    ),
  ];
  if (bits) {
    const unused = bits === 0 ? 0 : Math.log2(bits & -bits);
    extensions.push(
      ext(
        OID.keyUsage,
        true,
        new asn1js.BitString({ valueHex: new Uint8Array([bits]).buffer, unusedBits: unused }),
      ),
    );
  }
  if (issuance.ekus.length > 0) {
    extensions.push(
      ext(OID.extKeyUsage, false, new pkijs.ExtKeyUsage({ keyPurposes: [...issuance.ekus] }).toSchema()),
    );
  }
  if (request.san.length > 0) {
    extensions.push(ext(OID.subjectAltName, false, generalNamesSchema(request.san)));
  }
  cert.extensions = extensions;
  await cert.sign(await signingKey(ca.privateKey), 'SHA-256');
  const der = Buffer.from(cert.toSchema(true).toBER(false));
  parseCertificate(der);
  return {
    der,
    serial: serial.toString('hex').toUpperCase(),
    thumbprint: createHash('sha1').update(der).digest('hex').toUpperCase(),
    notBefore,
    notAfter,
  };
}

/** A CRL of the revoked certificates (RFC 5280 §5), valid for `validHours`. */
export async function buildCrl(
  ca: ScepSigner,
  revoked: readonly { serial: string; revokedAt: string }[],
  now: Date,
  validHours = 24,
): Promise<Buffer> {
  const crl = new pkijs.CertificateRevocationList();
  crl.version = 1;
  crl.issuer = ca.certificate.subject;
  crl.thisUpdate = new pkijs.Time({ type: 0, value: now });
  crl.nextUpdate = new pkijs.Time({ type: 0, value: new Date(now.getTime() + validHours * 3_600_000) });
  if (revoked.length > 0) {
    crl.revokedCertificates = revoked.map((r) => {
      const serial = Buffer.from(r.serial, 'hex');
      return new pkijs.RevokedCertificate({
        userCertificate: new asn1js.Integer({
          valueHex: serial.buffer.slice(serial.byteOffset, serial.byteOffset + serial.byteLength),
        }),
        revocationDate: new pkijs.Time({ type: 0, value: new Date(r.revokedAt) }),
      });
    });
  }
  const caSpkBits = Buffer.from(ca.certificate.subjectPublicKeyInfo.subjectPublicKey.valueBlock.valueHexView);
  const kid = createHash('sha1').update(caSpkBits).digest();
  // CRL number: seconds since the epoch, so it grows with every CRL (RFC 5280 §5.2.3).
  const crlNumber = Buffer.alloc(6);
  crlNumber.writeUIntBE(Math.floor(now.getTime() / 1000), 0, 6);
  crl.crlExtensions = new pkijs.Extensions({
    extensions: [
      ext(
        OID.authorityKeyIdentifier,
        false,
        new pkijs.AuthorityKeyIdentifier({
          keyIdentifier: new asn1js.OctetString({
            valueHex: kid.buffer.slice(kid.byteOffset, kid.byteOffset + 20),
          }),
        }).toSchema(),
      ),
      ext(
        '2.5.29.20',
        false,
        new asn1js.Integer({
          valueHex: crlNumber.buffer.slice(crlNumber.byteOffset, crlNumber.byteOffset + 6),
        }),
      ),
    ],
  });
  await crl.sign(await signingKey(ca.privateKey), 'SHA-256');
  return Buffer.from(crl.toSchema(true).toBER(false));
}
