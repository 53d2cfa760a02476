// Turns a message body into a canonical, line-per-element text in which everything that legitimately
// changes between runs is replaced by a numbered placeholder: nonces, timestamps, UUIDs / message
// IDs, certificates and other base64 blobs, thumbprints, generated secrets, the server's own URL.
// Numbering keeps relationships visible (`{uuid#1}` twice means the same value twice). Base64 that
// decodes to XML (the provisioning doc inside an RSTR) is decoded and normalised in place, so a
// change inside it shows up as a readable line.
import { isElement, parseXml, type XmlElement, type XmlNode } from '../codec/xml.js';

export interface NormaliseOptions {
  /** Base URLs of the server (recorded and current) to replace with `{server}`. */
  readonly serverBases?: readonly string[];
}

/** Elements whose text is volatile whatever it looks like. */
const VOLATILE_ELEMENTS: Readonly<Record<string, string>> = {
  NextNonce: 'nonce',
  MessageID: 'message-id',
  RelatesTo: 'message-id',
  ActivityId: 'activity-id',
  TraceId: 'trace-id',
  Created: 'timestamp',
  Expires: 'timestamp',
  policyID: 'policy-id',
};

/** `parm` names in a provisioning doc whose values are generated per enrollment. Unnumbered:
 *  fixtures hold them redacted, so equal-or-not between two of them carries no meaning. */
const VOLATILE_PARMS: Readonly<Record<string, string>> = {
  AAUTHSECRET: 'secret',
  AAUTHDATA: 'nonce',
  EntDMID: 'ent-dmid',
  EncodedCertificate: 'certificate',
};

const UUID_RE = /[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}/g;
const TIMESTAMP_RE = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?/g;
const THUMBPRINT_RE = /^[0-9A-F]{40}$/;
const BASE64_RE = /^[A-Za-z0-9+/]{40,}={0,2}$/;

class Placeholders {
  private readonly seen = new Map<string, string>();
  private readonly counters = new Map<string, number>();

  for(kind: string, value: string): string {
    const key = `${kind}\u0000${value}`;
    let p = this.seen.get(key);
    if (!p) {
      const n = (this.counters.get(kind) ?? 0) + 1;
      this.counters.set(kind, n);
      p = `{${kind}#${n}}`;
      this.seen.set(key, p);
    }
    return p;
  }
}

/** Canonical text of a body; non-XML bodies get the text-level replacements only. */
export function normaliseBody(body: string, options: NormaliseOptions = {}): string {
  const trimmed = body.trim();
  if (trimmed === '') return '';
  const ph = new Placeholders();
  let root: XmlElement;
  try {
    root = parseXml(trimmed, { maxBytes: 16 * 1024 * 1024, maxDepth: 128 });
  } catch {
    return normaliseText(trimmed, ph, options);
  }
  const lines: string[] = [];
  writeElement(root, 0, lines, ph, options);
  return lines.join('\n');
}

function normaliseText(text: string, ph: Placeholders, options: NormaliseOptions): string {
  let t = text;
  for (const base of options.serverBases ?? [])
    if (base) t = t.split(base.replace(/\/+$/, '')).join('{server}');
  if (BASE64_RE.test(t) && t.length >= 40) return ph.for('base64', t);
  if (THUMBPRINT_RE.test(t)) return ph.for('thumbprint', t);
  return t
    .replace(UUID_RE, (m) => ph.for('uuid', m.toLowerCase()))
    .replace(TIMESTAMP_RE, (m) => ph.for('timestamp', m));
}

function writeElement(
  el: XmlElement,
  depth: number,
  out: string[],
  ph: Placeholders,
  options: NormaliseOptions,
): void {
  const indent = '  '.repeat(depth);
  const volatileParm = el.local === 'parm' ? VOLATILE_PARMS[el.attrs.name ?? ''] : undefined;
  const attrs = Object.keys(el.attrs)
    .sort()
    .map((k) => {
      const v = el.attrs[k]!;
      const value =
        volatileParm && k === 'value' && v !== '' ? `{${volatileParm}}` : normaliseAttr(k, v, ph, options);
      return ` ${k}="${value}"`;
    })
    .join('');
  const children = el.children;
  if (children.length === 0) {
    out.push(`${indent}<${el.name}${attrs}/>`);
    return;
  }
  if (children.every((c) => !isElement(c))) {
    const text = children.join('').trim();
    const volatile = VOLATILE_ELEMENTS[el.local];
    const decoded = volatile ? undefined : decodeEmbeddedXml(text);
    if (decoded) {
      out.push(`${indent}<${el.name}${attrs}> (base64 of:)`);
      writeElement(decoded, depth + 1, out, ph, options);
      out.push(`${indent}</${el.name}>`);
      return;
    }
    // A RespURI carries a per-session token in its query (DIGEST sessions).
    const plain = el.local === 'RespURI' ? text.replace(/\?.*$/, '?{session-token}') : text;
    const value = volatile && text !== '' ? ph.for(volatile, text) : normaliseText(plain, ph, options);
    out.push(`${indent}<${el.name}${attrs}>${escapeLine(value)}</${el.name}>`);
    return;
  }
  out.push(`${indent}<${el.name}${attrs}>`);
  for (const c of children as XmlNode[]) {
    if (isElement(c)) writeElement(c, depth + 1, out, ph, options);
    else if (c.trim() !== '') out.push(`${indent}  ${escapeLine(normaliseText(c.trim(), ph, options))}`);
  }
  out.push(`${indent}</${el.name}>`);
}

function normaliseAttr(name: string, value: string, ph: Placeholders, options: NormaliseOptions): string {
  if (name === 'CorrelationId') return ph.for('activity-id', value);
  if (name === 'type' && THUMBPRINT_RE.test(value)) return ph.for('thumbprint', value);
  if (name === 'u:Id' || name.endsWith(':Id')) return ph.for('token-id', value);
  return escapeLine(normaliseText(value, ph, options));
}

/** Base64 that decodes to an XML document (a provisioning doc), parsed; otherwise undefined. */
function decodeEmbeddedXml(text: string): XmlElement | undefined {
  if (text.length < 40 || !BASE64_RE.test(text)) return undefined;
  const decoded = Buffer.from(text, 'base64')
    .toString('utf8')
    .replace(/^\uFEFF/, '')
    .trimStart();
  if (!decoded.startsWith('<')) return undefined;
  try {
    return parseXml(decoded, { maxBytes: 4 * 1024 * 1024 });
  } catch {
    return undefined;
  }
}

function escapeLine(s: string): string {
  return s.replace(/\r?\n/g, '\\n');
}

/** Media type without parameters, lower case (`application/soap+xml`). */
export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}
