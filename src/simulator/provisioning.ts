// Applying the wap-provisioningdoc the way the device does (docs/protocol-notes.md#provisioning-document): install the root and
// the client certificate (checking it carries the device's own key, §5.6), create the w7 OMA-DM
// account (ADDR, ProviderID, APPAUTH credentials) and the DMClient provider nodes.
import { createHash, X509Certificate } from 'node:crypto';
import { attr, childElements, parseXml, type XmlElement } from '../codec/xml.js';

export interface ProvisionedAccount {
  readonly providerId: string;
  /** Management URL (w7 ADDR). */
  readonly addr: string;
  /** Client certificate (PEM) and the CA that issued it (PEM). */
  readonly certPem: string;
  readonly caPem?: string;
  /** SHA-1 thumbprint of the client certificate, upper-case hex (docs/protocol-notes.md#device-certificates). */
  readonly thumbprint: string;
  /** APPSRV credentials for SyncML DIGEST (docs/protocol-notes.md#provisioning-document). */
  readonly appsrv?: {
    readonly authType: string;
    readonly name: string;
    readonly secret: string;
    readonly nonce: string;
  };
  /** DMClient/Provider/{id} parms (EntDMID, Poll/…), as node path suffix → value. */
  readonly dmClient: Readonly<Record<string, string>>;
}

export class ProvisioningError extends Error {
  override name = 'ProvisioningError';
}

const characteristics = (el: XmlElement, type?: string) =>
  childElements(el, 'characteristic').filter((c) => type === undefined || attr(c, 'type') === type);

function parms(el: XmlElement): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of childElements(el, 'parm')) out[attr(p, 'name') ?? ''] = attr(p, 'value') ?? '';
  return out;
}

function toPem(b64: string): string {
  return `-----BEGIN CERTIFICATE-----\n${b64.replace(/\s+/g, '').replace(/.{1,64}/g, '$&\n')}-----END CERTIFICATE-----\n`;
}

/** First certificate under CertificateStore/{store}/{scope}/{thumbprint}, verified against its thumbprint. */
function storeCertificate(doc: XmlElement, store: string, scopes: readonly string[]) {
  for (const cs of characteristics(doc, 'CertificateStore')) {
    for (const st of characteristics(cs, store)) {
      for (const scope of characteristics(st).filter((c) => scopes.includes(attr(c, 'type') ?? ''))) {
        for (const thumb of characteristics(scope)) {
          const encoded = parms(thumb).EncodedCertificate;
          if (!encoded) continue;
          const der = Buffer.from(encoded, 'base64');
          const thumbprint = createHash('sha1').update(der).digest('hex').toUpperCase();
          if (thumbprint !== (attr(thumb, 'type') ?? '').toUpperCase()) {
            throw new ProvisioningError(
              `certificate thumbprint ${attr(thumb, 'type')} does not match its content`,
            );
          }
          return { pem: toPem(encoded), thumbprint };
        }
      }
    }
  }
  return undefined;
}

/** Read a provisioning doc; `spkiDer` is the device's public key, which the issued cert must carry. */
export function applyProvisioningDoc(xml: string, spkiDer: Buffer): ProvisionedAccount {
  const doc = parseXml(xml, { maxBytes: 1024 * 1024 });
  if (doc.local !== 'wap-provisioningdoc')
    throw new ProvisioningError(`not a wap-provisioningdoc: ${doc.name}`);
  const client = storeCertificate(doc, 'My', ['User', 'System']);
  if (!client) throw new ProvisioningError('no client certificate under CertificateStore/My');
  const cert = new X509Certificate(client.pem);
  const certKey = cert.publicKey.export({ type: 'spki', format: 'der' });
  if (!certKey.equals(spkiDer))
    throw new ProvisioningError('issued certificate does not carry the device key');
  const root = storeCertificate(doc, 'Root', ['System']);

  const app = characteristics(doc, 'APPLICATION').find((a) => parms(a).APPID === 'w7');
  if (!app) throw new ProvisioningError('no w7 APPLICATION characteristic');
  const w7 = parms(app);
  if (!w7['PROVIDER-ID'] || !w7.ADDR)
    throw new ProvisioningError('w7 APPLICATION without PROVIDER-ID or ADDR');
  const appsrvBlock = characteristics(app, 'APPAUTH')
    .map(parms)
    .find((p) => p.AAUTHLEVEL === 'APPSRV');

  const dmClient: Record<string, string> = {};
  for (const dm of characteristics(doc, 'DMClient')) {
    for (const provider of characteristics(dm, 'Provider')) {
      for (const mine of characteristics(provider, w7['PROVIDER-ID'])) collect(mine, '', dmClient);
    }
  }
  return {
    providerId: w7['PROVIDER-ID'],
    addr: w7.ADDR,
    certPem: client.pem,
    caPem: root?.pem,
    thumbprint: client.thumbprint,
    appsrv: appsrvBlock
      ? {
          authType: appsrvBlock.AAUTHTYPE ?? 'DIGEST',
          name: appsrvBlock.AAUTHNAME ?? '',
          secret: appsrvBlock.AAUTHSECRET ?? '',
          nonce: appsrvBlock.AAUTHDATA ?? '',
        }
      : undefined,
    dmClient,
  };
}

function collect(el: XmlElement, prefix: string, out: Record<string, string>): void {
  for (const [name, value] of Object.entries(parms(el))) out[`${prefix}${name}`] = value;
  for (const c of characteristics(el)) collect(c, `${prefix}${attr(c, 'type')}/`, out);
}
