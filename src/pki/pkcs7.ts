// Renewal requests carry a PKCS#7 (CMS) SignedData wrapping the new PKCS#10, signed with the
// device's current key (docs/protocol-notes.md#device-certificates). This reads the wrapped content and checks the signer's
// signature with node:crypto against the public key the caller trusts (the TLS client certificate).
import { createHash, type KeyObject, verify } from 'node:crypto';
import forge from 'node-forge';

const { asn1 } = forge;
type Asn1 = forge.asn1.Asn1;

const OIDS = {
  signedData: '1.2.840.113549.1.7.2',
  messageDigest: '1.2.840.113549.1.9.4',
} as const;

const DIGESTS: Readonly<Record<string, string>> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

export class Pkcs7Error extends Error {
  override name = 'Pkcs7Error';
}

export interface SignedContent {
  /** The encapsulated content (the PKCS#10 DER for renewals). */
  readonly content: Buffer;
  /** True when a signer's signature verifies with `signerKey`. */
  verifiedBy(signerKey: KeyObject): boolean;
}

const children = (node: Asn1 | undefined): Asn1[] =>
  Array.isArray(node?.value) ? (node.value as Asn1[]) : [];
const bytes = (node: Asn1): Buffer => Buffer.from(asn1.toDer(node).getBytes(), 'binary');

/** OCTET STRING content, primitive or constructed (BER chunks). */
function octets(node: Asn1 | undefined): Buffer {
  if (!node) return Buffer.alloc(0);
  if (typeof node.value === 'string') return Buffer.from(node.value, 'binary');
  return Buffer.concat(children(node).map(octets));
}

export function parseSignedData(der: Buffer): SignedContent {
  try {
    return readSignedData(asn1.fromDer(der.toString('binary')));
  } catch (err) {
    if (err instanceof Pkcs7Error) throw err;
    throw new Pkcs7Error(`not a PKCS#7 SignedData: ${(err as Error).message}`);
  }
}

function readSignedData(root: Asn1): SignedContent {
  const [typeOid, wrapped] = children(root);
  if (typeOid?.type !== asn1.Type.OID || asn1.derToOid(typeOid.value as string) !== OIDS.signedData) {
    throw new Pkcs7Error('not a PKCS#7 SignedData');
  }
  const signedData = children(wrapped)[0];
  const parts = children(signedData);
  const encap = parts[2];
  const contentWrapper = children(encap)[1];
  const content = octets(children(contentWrapper)[0]);
  if (content.length === 0) throw new Pkcs7Error('SignedData has no content');
  const signerInfos = parts[parts.length - 1];
  if (!signerInfos || signerInfos.type !== asn1.Type.SET)
    throw new Pkcs7Error('SignedData has no signerInfos');
  const signers = children(signerInfos);
  return {
    content,
    verifiedBy: (key) => signers.some((s) => signerVerifies(s, content, key)),
  };
}

function signerVerifies(signer: Asn1, content: Buffer, key: KeyObject): boolean {
  try {
    const parts = children(signer);
    const digestOid = asn1.derToOid(children(parts[2])[0]!.value as string);
    const digest = DIGESTS[digestOid];
    if (!digest) return false;
    const signedAttrs = parts.find((p) => p.tagClass === asn1.Class.CONTEXT_SPECIFIC && p.type === 0);
    const signature = octets(parts[parts.length - 1]);
    if (!signedAttrs) return verify(digest, content, key, signature);
    // RFC 5652 5.4: the message digest attribute must match, and the signature covers the
    // attributes DER-encoded as a SET.
    const expected = createHash(digest).update(content).digest();
    const digestAttr = children(signedAttrs).find(
      (a) => asn1.derToOid(children(a)[0]!.value as string) === OIDS.messageDigest,
    );
    const actual = octets(children(children(digestAttr)[1])[0]);
    if (!actual.equals(expected)) return false;
    const encoded = bytes(signedAttrs);
    encoded[0] = 0x31;
    return verify(digest, encoded, key, signature);
  } catch {
    return false;
  }
}
