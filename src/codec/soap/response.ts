// The SOAP 1.2 envelope of every MS-MDE2 response and fault (docs/protocol-notes.md#discovery, #enrollment-policy, #request-security-token, #soap-faults):
// `a:Action` with mustUnderstand, then `a:RelatesTo` echoing the request's MessageID when it had one.
import { NS } from './namespaces.js';
import { el, renderXml, type XmlChild, type XmlOut } from './writer.js';

export interface SoapResponse {
  /** The operation's response action. */
  readonly action: string;
  /** The request's MessageID, when it could be read. */
  readonly relatesTo: string | undefined;
  /** Header entry between `a:Action` and `a:RelatesTo` (the DiscoverResponse ActivityId). */
  readonly headerAfterAction?: XmlChild;
  /** Header entry after `a:RelatesTo` (the WSTEP response's `o:Security` timestamp). */
  readonly headerAfterRelatesTo?: XmlChild;
  /** Namespace declarations on `s:Envelope` besides `s` and `a`. */
  readonly envelopeNs?: Readonly<Record<string, string>>;
  /** Attributes of `s:Body` (XCEP declares `xsi` there, docs/protocol-notes.md#enrollment-policy). */
  readonly bodyAttrs?: Readonly<Record<string, string>>;
  /** The one child of `s:Body`. */
  readonly body: XmlOut;
}

export function renderSoapResponse(r: SoapResponse): string {
  return renderXml(
    el(
      's:Envelope',
      { 'xmlns:s': NS.soap, 'xmlns:a': NS.addressing, ...r.envelopeNs },
      el(
        's:Header',
        {},
        el('a:Action', { 's:mustUnderstand': '1' }, r.action),
        r.headerAfterAction,
        r.relatesTo ? el('a:RelatesTo', {}, r.relatesTo) : null,
        r.headerAfterRelatesTo,
      ),
      el('s:Body', { ...r.bodyAttrs }, r.body),
    ),
  );
}
