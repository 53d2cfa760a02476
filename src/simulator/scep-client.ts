// A SCEP client (RFC 8894 §3–4), as Windows' ClientCertificateInstall SCEP enrolment does it:
// generate an RSA key, build a PKCS#10 request with the challenge password and the SAN, sign the
// pkiMessage with a transient self-signed certificate (or, for RenewalReq, the current one),
// envelope the request to the CA from GetCACert and read the CertRep. Used by the virtual device.
import { createHash, generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import {
  envelope,
  MESSAGE_TYPES,
  parseCertificate,
  type ReadCertRep,
  readCertRep,
  type ScepSigner,
  signingKey,
  signRequest,
} from '../codec/scep/cms.js';
import { generalNamesSchema, parseDn } from '../codec/scep/names.js';

const NAME_OIDS: Readonly<Record<string, string>> = {
  CN: '2.5.4.3',
  C: '2.5.4.6',
  L: '2.5.4.7',
  ST: '2.5.4.8',
  O: '2.5.4.10',
  OU: '2.5.4.11',
  SERIALNUMBER: '2.5.4.5',
  DC: '0.9.2342.19200300.100.1.25',
  UID: '0.9.2342.19200300.100.1.1',
  E: '1.2.840.113549.1.9.1',
};

/** A Name from an RFC 4514 string; C as PrintableString, E/DC as IA5String, the rest UTF8String. */
export function nameFromDn(dn: string): pkijs.RelativeDistinguishedNames {
  const name = new pkijs.RelativeDistinguishedNames();
  for (const [type, value] of parseDn(dn)) {
    const oid = NAME_OIDS[type] ?? (/^\d+(\.\d+)+$/.test(type) ? type : undefined);
    if (!oid) throw new Error(`unknown attribute type ${type} in subject "${dn}"`);
    const v =
      type === 'C'
        ? new asn1js.PrintableString({ value })
        : type === 'E' || type === 'DC'
          ? new asn1js.IA5String({ value })
          : new asn1js.Utf8String({ value });
    name.typesAndValues.push(new pkijs.AttributeTypeAndValue({ type: oid, value: v }));
  }
  return name;
}

async function publicKeyInfo(key: KeyObject): Promise<pkijs.PublicKeyInfo> {
  const spki = new pkijs.PublicKeyInfo();
  const der = key.export({ type: 'spki', format: 'der' });
  spki.fromSchema(
    asn1js.fromBER(der.buffer.slice(der.byteOffset, der.byteOffset + der.byteLength) as ArrayBuffer).result,
  );
  return spki;
}

/** A PKCS#10 request (RFC 2986) with challengePassword and an extensionRequest for the SAN. */
export async function buildCsr(options: {
  subject: string;
  san?: readonly string[];
  challenge?: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}): Promise<Buffer> {
  const csr = new pkijs.CertificationRequest();
  csr.version = 0;
  csr.subject = nameFromDn(options.subject);
  csr.subjectPublicKeyInfo = await publicKeyInfo(options.publicKey);
  csr.attributes = [];
  if (options.challenge !== undefined) {
    csr.attributes.push(
      new pkijs.Attribute({
        type: '1.2.840.113549.1.9.7',
        values: [new asn1js.PrintableString({ value: options.challenge })],
      }),
    );
  }
  if (options.san?.length) {
    csr.attributes.push(
      new pkijs.Attribute({
        type: '1.2.840.113549.1.9.14',
        values: [
          new pkijs.Extensions({
            extensions: [
              new pkijs.Extension({
                extnID: '2.5.29.17',
                critical: false,
                extnValue: generalNamesSchema(options.san).toBER(false),
              }),
            ],
          }).toSchema(),
        ],
      }),
    );
  }
  await csr.sign(await signingKey(options.privateKey), 'SHA-256');
  return Buffer.from(csr.toSchema().toBER(false));
}

/** The transient self-signed certificate that signs a first PKCSReq (RFC 8894 §2.3). */
export async function selfSigned(
  subject: string,
  privateKey: KeyObject,
  publicKey: KeyObject,
): Promise<pkijs.Certificate> {
  const cert = new pkijs.Certificate();
  cert.version = 2;
  const serial = randomBytes(8);
  serial[0] = serial[0]! & 0x7f;
  cert.serialNumber = new asn1js.Integer({
    valueHex: serial.buffer.slice(serial.byteOffset, serial.byteOffset + 8),
  });
  cert.subject = nameFromDn(subject);
  cert.issuer = nameFromDn(subject);
  cert.notBefore.value = new Date(Date.now() - 3_600_000);
  cert.notAfter.value = new Date(Date.now() + 86_400_000);
  cert.subjectPublicKeyInfo = await publicKeyInfo(publicKey);
  await cert.sign(await signingKey(privateKey), 'SHA-256');
  return cert;
}

export interface ScepHttpResponse {
  readonly status: number;
  readonly contentType: string;
  readonly body: Buffer;
}

/** GET/POST against the SCEP URL over node http(s), trusting `tlsCa` for the server certificate. */
export function scepHttp(
  url: string,
  tlsCa?: string,
): (operation: string, body?: Buffer) => Promise<ScepHttpResponse> {
  return (operation, body) =>
    new Promise((resolve, reject) => {
      const target = new URL(url);
      target.searchParams.set('operation', operation);
      const lib = target.protocol === 'https:' ? https : http;
      const req = lib.request(
        target,
        {
          method: body ? 'POST' : 'GET',
          ...(target.protocol === 'https:' && tlsCa ? { ca: tlsCa } : {}),
          headers: body ? { 'content-type': 'application/x-pki-message', 'content-length': body.length } : {},
          timeout: 30_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              contentType: String(res.headers['content-type'] ?? ''),
              body: Buffer.concat(chunks),
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error('SCEP request timed out')));
      req.on('error', reject);
      req.end(body);
    });
}

export interface EnrolOptions {
  /** The SCEP URL (ServerURL of the profile). */
  readonly url: string;
  /** Server TLS trust (PEM). */
  readonly tlsCa?: string;
  readonly subject: string;
  readonly san?: readonly string[];
  readonly challenge?: string;
  readonly keyBits?: number;
  /** SHA-1 thumbprint (hex) the CA certificate must have (CAThumbprint of the profile). */
  readonly caThumbprint?: string;
  /** RenewalReq: the current certificate (DER) and its key. */
  readonly renew?: {
    readonly certificate: Buffer;
    readonly privateKey: KeyObject;
    readonly publicKey: KeyObject;
  };
  /** Use an existing key pair instead of generating one. */
  readonly keyPair?: { readonly privateKey: KeyObject; readonly publicKey: KeyObject };
}

export interface EnrolResult extends ReadCertRep {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** The issued certificate (DER) on SUCCESS. */
  readonly certificate: Buffer | undefined;
  /** SHA-1 of the issued certificate, upper-case hex. */
  readonly thumbprint: string | undefined;
}

export class ScepClientError extends Error {
  override name = 'ScepClientError';
}

/** GetCACert + PKIOperation (PKCSReq, or RenewalReq with `renew`). */
export async function scepEnrol(options: EnrolOptions): Promise<EnrolResult> {
  const send = scepHttp(options.url, options.tlsCa);
  const caResponse = await send('GetCACert');
  if (caResponse.status !== 200) throw new ScepClientError(`GetCACert: HTTP ${caResponse.status}`);
  const caDer = caResponse.body;
  const caThumbprint = createHash('sha1').update(caDer).digest('hex').toUpperCase();
  if (options.caThumbprint && options.caThumbprint.replace(/[\s:]/g, '').toUpperCase() !== caThumbprint) {
    throw new ScepClientError(
      `the SCEP CA's thumbprint ${caThumbprint} is not the expected ${options.caThumbprint}`,
    );
  }
  const ca = parseCertificate(caDer);
  const keys = options.keyPair ?? generateKeyPairSync('rsa', { modulusLength: options.keyBits ?? 2048 });
  const csr = await buildCsr({
    subject: options.subject,
    san: options.san,
    challenge: options.challenge,
    privateKey: keys.privateKey,
    publicKey: keys.publicKey,
  });
  const signer: ScepSigner = options.renew
    ? {
        certificate: parseCertificate(options.renew.certificate),
        der: options.renew.certificate,
        privateKey: options.renew.privateKey,
      }
    : await (async () => {
        const cert = await selfSigned(options.subject, keys.privateKey, keys.publicKey);
        return {
          certificate: cert,
          der: Buffer.from(cert.toSchema().toBER(false)),
          privateKey: keys.privateKey,
        };
      })();
  // RFC 8894 §3.2.1.1: a hash of the public key is the recommended transactionID.
  const transactionId = createHash('sha256')
    .update(keys.publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex');
  const senderNonce = randomBytes(16);
  const message = await signRequest(
    {
      messageType: options.renew ? MESSAGE_TYPES.RenewalReq : MESSAGE_TYPES.PKCSReq,
      transactionId,
      senderNonce,
      envelope: envelope(csr, ca, '2.16.840.1.101.3.4.1.42'),
    },
    signer,
  );
  const response = await send('PKIOperation', message);
  if (response.status !== 200) throw new ScepClientError(`PKIOperation: HTTP ${response.status}`);
  const rep = await readCertRep(response.body, caDer, signer);
  if (rep.transactionId !== transactionId || !rep.recipientNonce?.equals(senderNonce)) {
    throw new ScepClientError('the CertRep does not answer this request (transactionID/recipientNonce)');
  }
  const certificate = rep.certificates[0];
  return {
    ...rep,
    privateKey: keys.privateKey,
    publicKey: keys.publicKey,
    certificate,
    thumbprint: certificate ? createHash('sha1').update(certificate).digest('hex').toUpperCase() : undefined,
  };
}
