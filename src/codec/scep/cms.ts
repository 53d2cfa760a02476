// SCEP message layer (RFC 8894 §3): a pkiMessage is a CMS SignedData (RFC 5652 §5) whose signed
// attributes carry the SCEP fields and whose content is a CMS EnvelopedData (RFC 5652 §6) holding
// the PKCS#10 request or, in a CertRep, a certificates-only SignedData. The structures are read and
// written with pkijs/asn1js; signatures go through WebCrypto. Key transport is RSAES-PKCS1-v1_5
// (RFC 8894 §3.1: the only one SCEP clients use), which WebCrypto does not offer and node:crypto
// refuses for private decryption: it is done with node-forge, as is single DES / 3DES content
// decryption (old SCEP clients still send DES-CBC; RFC 8894 §3.5.2).
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  type KeyObject,
  randomBytes,
  webcrypto,
} from 'node:crypto';
import * as asn1js from 'asn1js';
import forge from 'node-forge';
import * as pkijs from 'pkijs';

type CryptoKey = webcrypto.CryptoKey;

pkijs.setEngine(
  'node-webcrypto',
  new pkijs.CryptoEngine({
    name: 'node',
    crypto: webcrypto as unknown as ConstructorParameters<typeof pkijs.CryptoEngine>[0]['crypto'],
  }),
);

/** RFC 8894 §3.2.1 attribute OIDs. */
export const SCEP_OIDS = {
  messageType: '2.16.840.1.113733.1.9.2',
  pkiStatus: '2.16.840.1.113733.1.9.3',
  failInfo: '2.16.840.1.113733.1.9.4',
  senderNonce: '2.16.840.1.113733.1.9.5',
  recipientNonce: '2.16.840.1.113733.1.9.6',
  transactionID: '2.16.840.1.113733.1.9.7',
  failInfoText: '1.3.6.1.5.5.7.24.1',
} as const;

const OID = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  envelopedData: '1.2.840.113549.1.7.3',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
  rsaEncryption: '1.2.840.113549.1.1.1',
  sha256: '2.16.840.1.101.3.4.2.1',
} as const;

/** RFC 8894 §3.2.1.2 messageType values. */
export const MESSAGE_TYPES = {
  CertRep: '3',
  RenewalReq: '17',
  PKCSReq: '19',
  CertPoll: '20',
  GetCert: '21',
  GetCRL: '22',
} as const;

/** RFC 8894 §3.2.1.4 failInfo values. */
export const FAIL_INFO = {
  badAlg: '0',
  badMessageCheck: '1',
  badRequest: '2',
  badTime: '3',
  badCertId: '4',
} as const;
export type FailInfo = keyof typeof FAIL_INFO;

export class ScepMessageError extends Error {
  override name = 'ScepMessageError';
  constructor(
    message: string,
    readonly failInfo: FailInfo,
  ) {
    super(message);
  }
}

/** Content encryption algorithms (RFC 8894 §3.5.2 / RFC 3565 / RFC 2630). */
const CIPHERS: Readonly<
  Record<string, { readonly name: string; readonly keyBytes: number; readonly forge?: string }>
> = {
  '1.3.14.3.2.7': { name: 'des-cbc', keyBytes: 8, forge: 'DES-CBC' },
  '1.2.840.113549.3.7': { name: 'des-ede3-cbc', keyBytes: 24, forge: '3DES-CBC' },
  '2.16.840.1.101.3.4.1.2': { name: 'aes-128-cbc', keyBytes: 16 },
  '2.16.840.1.101.3.4.1.22': { name: 'aes-192-cbc', keyBytes: 24 },
  '2.16.840.1.101.3.4.1.42': { name: 'aes-256-cbc', keyBytes: 32 },
};
const AES_256_CBC = '2.16.840.1.101.3.4.1.42';
const DES_EDE3_CBC = '1.2.840.113549.3.7';

const toArrayBuffer = (b: Buffer | Uint8Array): ArrayBuffer =>
  b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;

/** Parses DER/BER into a pkijs object; anything unreadable is badMessageCheck. */
function parseAsn1(der: Uint8Array, what: string): asn1js.AsnType {
  const parsed = asn1js.fromBER(toArrayBuffer(Buffer.from(der)));
  if (parsed.offset === -1) throw new ScepMessageError(`${what} is not valid ASN.1`, 'badMessageCheck');
  return parsed.result;
}

export function parseCertificate(der: Uint8Array): pkijs.Certificate {
  return new pkijs.Certificate({ schema: parseAsn1(der, 'certificate') });
}

/** The CA that signs CertReps and decrypts requests. */
export interface ScepSigner {
  readonly certificate: pkijs.Certificate;
  readonly der: Buffer;
  readonly privateKey: KeyObject;
}

/** WebCrypto and node-forge forms of the signer key, built once per key. */
const keyCache = new WeakMap<KeyObject, { sign: Promise<CryptoKey>; forge: forge.pki.rsa.PrivateKey }>();
function keysOf(key: KeyObject) {
  let keys = keyCache.get(key);
  if (!keys) {
    keys = {
      sign: webcrypto.subtle.importKey(
        'pkcs8',
        key.export({ type: 'pkcs8', format: 'der' }),
        { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
        false,
        ['sign'],
      ),
      forge: forge.pki.privateKeyFromPem(key.export({ type: 'pkcs1', format: 'pem' }).toString()),
    };
    keyCache.set(key, keys);
  }
  return keys;
}

export function signingKey(key: KeyObject): Promise<CryptoKey> {
  return keysOf(key).sign;
}

/** A request pkiMessage, signature checked and envelope opened. */
export interface PkiRequest {
  readonly messageType: string;
  readonly transactionId: string;
  readonly senderNonce: Buffer;
  /** The certificate the request was signed with (self-signed, or the current one for RenewalReq). */
  readonly signerCertificate: pkijs.Certificate;
  readonly signerCertificateDer: Buffer;
  /** Decrypted pkcsPKIEnvelope content (the PKCS#10 DER for PKCSReq/RenewalReq). */
  readonly content: Buffer | undefined;
  /** Content encryption algorithm OID of the request (the reply uses a compatible one). */
  readonly contentEncryption: string | undefined;
}

/** What a failed parse still knows, so the reply can name the transaction (RFC 8894 §3.3.2). */
export interface RequestHeader {
  readonly messageType: string | undefined;
  readonly transactionId: string | undefined;
  readonly senderNonce: Buffer | undefined;
  readonly signerCertificate: pkijs.Certificate | undefined;
  readonly signerCertificateDer: Buffer | undefined;
}

export class ScepRequestError extends ScepMessageError {
  constructor(
    message: string,
    failInfo: FailInfo,
    readonly header: RequestHeader,
  ) {
    super(message, failInfo);
  }
}

function attributeValue(signer: pkijs.SignerInfo, oid: string): asn1js.AsnType | undefined {
  return signer.signedAttrs?.attributes.find((a) => a.type === oid)?.values[0] as asn1js.AsnType | undefined;
}

function stringOf(value: asn1js.AsnType | undefined): string | undefined {
  if (!value) return undefined;
  if ('getValue' in value && typeof value.getValue === 'function') {
    const v = (value as { getValue(): unknown }).getValue();
    if (typeof v === 'string') return v;
  }
  return undefined;
}

function octetsOf(value: asn1js.AsnType | undefined): Buffer | undefined {
  return value instanceof asn1js.OctetString ? Buffer.from(value.getValue()) : undefined;
}

/** Bytes of an OCTET STRING read under an implicit tag: primitive, or constructed of chunks (BER). */
function taggedOctets(node: unknown): Buffer {
  if (node instanceof asn1js.OctetString) return Buffer.from(node.getValue());
  const block = (node as { valueBlock?: { value?: unknown[]; valueHexView?: Uint8Array } }).valueBlock;
  if (Array.isArray(block?.value) && block.value.length > 0)
    return Buffer.concat(block.value.map(taggedOctets));
  return Buffer.from(block?.valueHexView ?? new Uint8Array());
}

/**
 * Checks the first signer's signature (RFC 5652 §5.6). Without content (a failure CertRep) the
 * message digest is over the empty string; pkijs would ask for detached data, so it gets an empty
 * OCTET STRING to digest.
 */
async function verifySigned(signed: pkijs.SignedData) {
  const detached = !signed.encapContentInfo.eContent;
  if (detached) signed.encapContentInfo.eContent = new asn1js.OctetString({ valueHex: new ArrayBuffer(0) });
  try {
    return await signed.verify({ signer: 0, checkChain: false, extendedMode: true });
  } catch {
    return undefined;
  } finally {
    if (detached) delete signed.encapContentInfo.eContent;
  }
}

function sameIssuerSerial(cert: pkijs.Certificate, sid: pkijs.IssuerAndSerialNumber): boolean {
  return cert.issuer.isEqual(sid.issuer) && cert.serialNumber.isEqual(sid.serialNumber);
}

/**
 * Reads a PKIOperation body (RFC 8894 §3.3): checks the signer's signature over the signed
 * attributes and the content, and decrypts the envelope with the CA key.
 */
export async function readPkiRequest(der: Buffer, recipient: ScepSigner): Promise<PkiRequest> {
  let header: RequestHeader = {
    messageType: undefined,
    transactionId: undefined,
    senderNonce: undefined,
    signerCertificate: undefined,
    signerCertificateDer: undefined,
  };
  const fail = (message: string, failInfo: FailInfo): never => {
    throw new ScepRequestError(message, failInfo, header);
  };
  let signed: pkijs.SignedData;
  try {
    const info = new pkijs.ContentInfo({ schema: parseAsn1(der, 'pkiMessage') });
    if (info.contentType !== OID.signedData) fail('pkiMessage is not a CMS SignedData', 'badMessageCheck');
    signed = new pkijs.SignedData({ schema: info.content });
  } catch (err) {
    if (err instanceof ScepRequestError) throw err;
    return fail(`pkiMessage is not a CMS SignedData: ${(err as Error).message}`, 'badMessageCheck');
  }
  const signer = signed.signerInfos[0];
  if (!signer || signed.signerInfos.length !== 1)
    fail('pkiMessage must have exactly one signer', 'badMessageCheck');
  const sid = signer!.sid;
  const signerCert = (signed.certificates ?? []).find(
    (c): c is pkijs.Certificate =>
      c instanceof pkijs.Certificate &&
      sid instanceof pkijs.IssuerAndSerialNumber &&
      sameIssuerSerial(c, sid),
  );
  header = {
    messageType: stringOf(attributeValue(signer!, SCEP_OIDS.messageType)),
    transactionId: stringOf(attributeValue(signer!, SCEP_OIDS.transactionID)),
    senderNonce: octetsOf(attributeValue(signer!, SCEP_OIDS.senderNonce)),
    signerCertificate: signerCert,
    signerCertificateDer: signerCert ? Buffer.from(signerCert.toSchema().toBER(false)) : undefined,
  };
  if (!signerCert) fail('the signer certificate is not in the pkiMessage', 'badCertId');
  if (!header.messageType || !header.transactionId || !header.senderNonce) {
    fail('pkiMessage lacks messageType, transactionID or senderNonce', 'badRequest');
  }
  const verified = (await verifySigned(signed))?.signatureVerified === true;
  if (!verified) fail('the pkiMessage signature does not verify', 'badMessageCheck');

  const eContent = signed.encapContentInfo.eContent;
  if (!eContent) return { ...requestOf(header), content: undefined, contentEncryption: undefined };
  try {
    const { content, algorithm } = openEnvelope(taggedOctets(eContent), recipient, fail);
    return { ...requestOf(header), content, contentEncryption: algorithm };
  } catch (err) {
    if (err instanceof ScepRequestError) throw err;
    return fail(`unreadable pkcsPKIEnvelope: ${(err as Error).message}`, 'badMessageCheck');
  }
}

function requestOf(h: RequestHeader): Omit<PkiRequest, 'content' | 'contentEncryption'> {
  return {
    messageType: h.messageType!,
    transactionId: h.transactionId!,
    senderNonce: h.senderNonce!,
    signerCertificate: h.signerCertificate!,
    signerCertificateDer: h.signerCertificateDer!,
  };
}

function openEnvelope(
  der: Buffer,
  recipient: ScepSigner,
  fail: (message: string, failInfo: FailInfo) => never,
): { content: Buffer; algorithm: string } {
  let enveloped: pkijs.EnvelopedData;
  try {
    const info = new pkijs.ContentInfo({ schema: parseAsn1(der, 'pkcsPKIEnvelope') });
    if (info.contentType !== OID.envelopedData) throw new Error('not an EnvelopedData');
    enveloped = new pkijs.EnvelopedData({ schema: info.content });
  } catch (err) {
    return fail(`pkcsPKIEnvelope is not a CMS EnvelopedData: ${(err as Error).message}`, 'badMessageCheck');
  }
  const ours = enveloped.recipientInfos.find(
    (r) =>
      r.variant === 1 &&
      r.value instanceof pkijs.KeyTransRecipientInfo &&
      r.value.rid instanceof pkijs.IssuerAndSerialNumber &&
      sameIssuerSerial(recipient.certificate, r.value.rid),
  )?.value as pkijs.KeyTransRecipientInfo | undefined;
  if (!ours) return fail('the envelope is not encrypted to this CA', 'badCertId');
  if (ours.keyEncryptionAlgorithm.algorithmId !== OID.rsaEncryption) {
    return fail(`key transport ${ours.keyEncryptionAlgorithm.algorithmId} is not supported`, 'badAlg');
  }
  const info = enveloped.encryptedContentInfo;
  const algorithm = info.contentEncryptionAlgorithm.algorithmId;
  const cipher = CIPHERS[algorithm];
  if (!cipher) return fail(`content encryption ${algorithm} is not supported`, 'badAlg');
  const ivNode = info.contentEncryptionAlgorithm.algorithmParams as asn1js.AsnType | undefined;
  const iv = octetsOf(ivNode);
  const encrypted = info.encryptedContent ? taggedOctets(info.encryptedContent) : undefined;
  if (!iv || !encrypted) return fail('the envelope has no IV or no encrypted content', 'badMessageCheck');
  let key: Buffer;
  try {
    const forgeKey = keysOf(recipient.privateKey).forge;
    key = Buffer.from(
      forgeKey.decrypt(Buffer.from(ours.encryptedKey.getValue()).toString('binary'), 'RSAES-PKCS1-V1_5'),
      'binary',
    );
  } catch {
    return fail('the envelope key does not decrypt', 'badMessageCheck');
  }
  if (key.length !== cipher.keyBytes) return fail('the envelope key does not decrypt', 'badMessageCheck');
  try {
    if (cipher.forge) {
      const decipher = forge.cipher.createDecipher(
        cipher.forge as forge.cipher.Algorithm,
        key.toString('binary'),
      );
      decipher.start({ iv: iv.toString('binary') });
      decipher.update(forge.util.createBuffer(encrypted.toString('binary')));
      if (!decipher.finish()) throw new Error('bad padding');
      return { content: Buffer.from(decipher.output.getBytes(), 'binary'), algorithm };
    }
    const decipher = createDecipheriv(cipher.name, key, iv);
    return { content: Buffer.concat([decipher.update(encrypted), decipher.final()]), algorithm };
  } catch {
    return fail('the envelope content does not decrypt', 'badMessageCheck');
  }
}

/**
 * EnvelopedData (RFC 5652 §6) of `content` for the holder of `recipient` (RSAES-PKCS1-v1_5 key
 * transport, CBC content encryption).
 */
export function envelope(content: Buffer, recipient: pkijs.Certificate, algorithm: string): Buffer {
  const cipher = CIPHERS[algorithm]!;
  const key = randomBytes(cipher.keyBytes);
  const iv = randomBytes(cipher.forge ? 8 : 16);
  let encrypted: Buffer;
  if (cipher.forge) {
    const c = forge.cipher.createCipher(cipher.forge as forge.cipher.Algorithm, key.toString('binary'));
    c.start({ iv: iv.toString('binary') });
    c.update(forge.util.createBuffer(content.toString('binary')));
    c.finish();
    encrypted = Buffer.from(c.output.getBytes(), 'binary');
  } else {
    const c = createCipheriv(cipher.name, key, iv);
    encrypted = Buffer.concat([c.update(content), c.final()]);
  }
  const spki = Buffer.from(recipient.subjectPublicKeyInfo.toSchema().toBER(false));
  const publicKey = forge.pki.publicKeyFromAsn1(
    forge.asn1.fromDer(spki.toString('binary')),
  ) as forge.pki.rsa.PublicKey;
  const encryptedKey = Buffer.from(publicKey.encrypt(key.toString('binary'), 'RSAES-PKCS1-V1_5'), 'binary');
  const enveloped = new pkijs.EnvelopedData({
    version: 0,
    recipientInfos: [
      new pkijs.RecipientInfo({
        variant: 1,
        value: new pkijs.KeyTransRecipientInfo({
          version: 0,
          rid: new pkijs.IssuerAndSerialNumber({
            issuer: recipient.issuer,
            serialNumber: recipient.serialNumber,
          }),
          keyEncryptionAlgorithm: new pkijs.AlgorithmIdentifier({
            algorithmId: OID.rsaEncryption,
            algorithmParams: new asn1js.Null(),
          }),
          encryptedKey: new asn1js.OctetString({ valueHex: toArrayBuffer(encryptedKey) }),
        }),
      }),
    ],
    encryptedContentInfo: new pkijs.EncryptedContentInfo({
      contentType: OID.data,
      contentEncryptionAlgorithm: new pkijs.AlgorithmIdentifier({
        algorithmId: algorithm,
        algorithmParams: new asn1js.OctetString({ valueHex: toArrayBuffer(iv) }),
      }),
      encryptedContent: new asn1js.OctetString({ valueHex: toArrayBuffer(encrypted) }),
    }),
  });
  const info = new pkijs.ContentInfo({ contentType: OID.envelopedData, content: enveloped.toSchema() });
  return Buffer.from(info.toSchema().toBER(false));
}

/** A certificates-only ("degenerate") SignedData (RFC 8894 §3.4, GetCACert RA form; CertRep content). */
export function certificatesOnly(certificates: readonly Buffer[]): Buffer {
  const signed = new pkijs.SignedData({
    version: 1,
    encapContentInfo: new pkijs.EncapsulatedContentInfo({ eContentType: OID.data }),
    certificates: certificates.map(parseCertificate),
    signerInfos: [],
  });
  const info = new pkijs.ContentInfo({ contentType: OID.signedData, content: signed.toSchema(true) });
  return Buffer.from(info.toSchema().toBER(false));
}

/** Reply encryption: AES-256-CBC, or 3DES to a client that sent (3)DES (it may not know AES). */
export function replyEncryption(requestAlgorithm: string | undefined): string {
  const cipher = requestAlgorithm ? CIPHERS[requestAlgorithm] : undefined;
  return cipher?.forge ? DES_EDE3_CBC : AES_256_CBC;
}

export interface CertRep {
  readonly transactionId: string;
  readonly recipientNonce: Buffer;
  readonly status: 'SUCCESS' | 'FAILURE';
  readonly failInfo?: FailInfo;
  readonly failInfoText?: string;
  /** SUCCESS: the pkcsPKIEnvelope (EnvelopedData DER). */
  readonly envelope?: Buffer;
}

const PKI_STATUS = { SUCCESS: '0', FAILURE: '2' } as const;

const attr = (type: string, value: asn1js.AsnType) => new pkijs.Attribute({ type, values: [value] });
const printable = (value: string) => new asn1js.PrintableString({ value });
const octetString = (b: Buffer) => new asn1js.OctetString({ valueHex: toArrayBuffer(b) });

/**
 * A pkiMessage (RFC 8894 §3.2): SignedData over `content` (a pkcsPKIEnvelope, or none in a
 * failure CertRep) with the SCEP attributes, signed by `signer`, its certificate included.
 */
export async function signPkiMessage(
  content: Buffer | undefined,
  scepAttributes: readonly pkijs.Attribute[],
  signer: ScepSigner,
  now = new Date(),
): Promise<Buffer> {
  const digest = createHash('sha256')
    .update(content ?? Buffer.alloc(0))
    .digest();
  const attributes = [
    attr(OID.contentType, new asn1js.ObjectIdentifier({ value: OID.data })),
    attr(OID.signingTime, new asn1js.UTCTime({ valueDate: now })),
    attr(OID.messageDigest, octetString(digest)),
    ...scepAttributes,
  ];
  // DER orders a SET OF by the encodings of its members (X.690 §11.6); verifiers re-encode it so.
  const der = (a: pkijs.Attribute) => Buffer.from(a.toSchema().toBER(false));
  attributes.sort((a, b) => Buffer.compare(der(a), der(b)));
  const signed = new pkijs.SignedData({
    version: 1,
    encapContentInfo: new pkijs.EncapsulatedContentInfo({
      eContentType: OID.data,
      ...(content ? { eContent: octetString(content) } : {}),
    }),
    certificates: [signer.certificate],
    signerInfos: [
      new pkijs.SignerInfo({
        version: 1,
        sid: new pkijs.IssuerAndSerialNumber({
          issuer: signer.certificate.issuer,
          serialNumber: signer.certificate.serialNumber,
        }),
        signedAttrs: new pkijs.SignedAndUnsignedAttributes({ type: 0, attributes }),
      }),
    ],
  });
  await signed.sign(await signingKey(signer.privateKey), 0, 'SHA-256');
  const info = new pkijs.ContentInfo({ contentType: OID.signedData, content: signed.toSchema(true) });
  return Buffer.from(info.toSchema().toBER(false));
}

/** Signs a CertRep (RFC 8894 §3.3.2) with the CA key; the CA certificate travels with it. */
export function signCertRep(rep: CertRep, signer: ScepSigner, now = new Date()): Promise<Buffer> {
  const attributes = [
    attr(SCEP_OIDS.messageType, printable(MESSAGE_TYPES.CertRep)),
    attr(SCEP_OIDS.pkiStatus, printable(PKI_STATUS[rep.status])),
    attr(SCEP_OIDS.transactionID, printable(rep.transactionId)),
    attr(SCEP_OIDS.senderNonce, octetString(randomBytes(16))),
    attr(SCEP_OIDS.recipientNonce, octetString(rep.recipientNonce)),
  ];
  if (rep.status === 'FAILURE') {
    attributes.push(attr(SCEP_OIDS.failInfo, printable(FAIL_INFO[rep.failInfo ?? 'badRequest'])));
    if (rep.failInfoText)
      attributes.push(attr(SCEP_OIDS.failInfoText, new asn1js.Utf8String({ value: rep.failInfoText })));
  }
  return signPkiMessage(rep.envelope, attributes, signer, now);
}

/** A PKCSReq/RenewalReq/CertPoll (RFC 8894 §3.3.1) from a client holding `signer`. */
export function signRequest(
  request: { messageType: string; transactionId: string; senderNonce: Buffer; envelope?: Buffer },
  signer: ScepSigner,
  now = new Date(),
): Promise<Buffer> {
  return signPkiMessage(
    request.envelope,
    [
      attr(SCEP_OIDS.messageType, printable(request.messageType)),
      attr(SCEP_OIDS.transactionID, printable(request.transactionId)),
      attr(SCEP_OIDS.senderNonce, octetString(request.senderNonce)),
    ],
    signer,
    now,
  );
}

export interface ReadCertRep {
  readonly status: 'SUCCESS' | 'FAILURE' | 'PENDING';
  readonly failInfo: FailInfo | undefined;
  readonly failInfoText: string | undefined;
  readonly transactionId: string | undefined;
  readonly recipientNonce: Buffer | undefined;
  /** SUCCESS: the certificates in the decrypted envelope (DER). */
  readonly certificates: Buffer[];
}

/**
 * Client side of a CertRep: checks it is signed by `caDer`, reads the status and, on success,
 * opens the envelope with the requester's key (`recipient`).
 */
export async function readCertRep(der: Buffer, caDer: Buffer, recipient: ScepSigner): Promise<ReadCertRep> {
  const info = new pkijs.ContentInfo({ schema: parseAsn1(der, 'CertRep') });
  if (info.contentType !== OID.signedData)
    throw new ScepMessageError('CertRep is not a SignedData', 'badMessageCheck');
  const signed = new pkijs.SignedData({ schema: info.content });
  const signer = signed.signerInfos[0];
  const sid = signer?.sid;
  const ca = parseCertificate(caDer);
  const signerCert = (signed.certificates ?? []).find(
    (c): c is pkijs.Certificate =>
      c instanceof pkijs.Certificate &&
      sid instanceof pkijs.IssuerAndSerialNumber &&
      sameIssuerSerial(c, sid),
  );
  if (!signer || !signerCert || !Buffer.from(signerCert.toSchema().toBER(false)).equals(caDer)) {
    throw new ScepMessageError('CertRep is not signed by the CA', 'badCertId');
  }
  const result = await verifySigned(signed);
  if (result?.signatureVerified !== true || !ca)
    throw new ScepMessageError('CertRep signature does not verify', 'badMessageCheck');
  const status = stringOf(attributeValue(signer, SCEP_OIDS.pkiStatus));
  const failCode = stringOf(attributeValue(signer, SCEP_OIDS.failInfo));
  const failInfo =
    (Object.entries(FAIL_INFO).find(([, v]) => v === failCode)?.[0] as FailInfo | undefined) ?? undefined;
  const common = {
    failInfo,
    failInfoText: stringOf(attributeValue(signer, SCEP_OIDS.failInfoText)),
    transactionId: stringOf(attributeValue(signer, SCEP_OIDS.transactionID)),
    recipientNonce: octetsOf(attributeValue(signer, SCEP_OIDS.recipientNonce)),
  };
  if (status !== PKI_STATUS.SUCCESS) {
    return { ...common, status: status === PKI_STATUS.FAILURE ? 'FAILURE' : 'PENDING', certificates: [] };
  }
  const eContent = signed.encapContentInfo.eContent;
  if (!eContent) throw new ScepMessageError('CertRep SUCCESS without content', 'badMessageCheck');
  const fail = (message: string, f: FailInfo): never => {
    throw new ScepMessageError(message, f);
  };
  const { content } = openEnvelope(taggedOctets(eContent), recipient, fail);
  const inner = new pkijs.ContentInfo({ schema: parseAsn1(content, 'certificates') });
  const certs = new pkijs.SignedData({ schema: inner.content }).certificates ?? [];
  return {
    ...common,
    status: 'SUCCESS',
    certificates: certs
      .filter((c): c is pkijs.Certificate => c instanceof pkijs.Certificate)
      .map((c) => Buffer.from(c.toSchema().toBER(false))),
  };
}
