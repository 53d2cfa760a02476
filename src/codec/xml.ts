// The one place where untrusted XML is parsed (docs/protocol-notes.md#namespaces, #syncml-messages).
// Hardening: a size cap, any DOCTYPE / ENTITY declaration refused before parsing (no entity
// expansion, no external fetch), strict UTF-8, characters XML 1.0 does not allow refused whether raw
// or written as a character reference (xml-chars.ts), a nesting-depth cap, well-formedness checked,
// values never coerced (`0123` stays a string), and element order preserved. Namespaces are resolved to URIs so callers
// match on URI + local name, never on prefix.
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { codePointLabel, decodeCharRef, decodeUtf8, findIllegalXmlChar, toXmlChars } from './xml-chars.js';

export type XmlErrorCode =
  | 'empty'
  | 'too-large'
  | 'encoding'
  | 'illegal-char'
  | 'doctype'
  | 'too-deep'
  | 'malformed';

/**
 * The single error type for XML input. It keeps the raw text for fixtures and debugging, as a
 * non-enumerable property so a logged error never serialises the message (it may hold credentials).
 */
export class XmlError extends Error {
  override name = 'XmlError';
  declare readonly raw: string;
  constructor(
    readonly code: XmlErrorCode,
    message: string,
    raw: string,
    readonly line?: number,
    readonly col?: number,
  ) {
    super(message);
    Object.defineProperty(this, 'raw', { value: raw, enumerable: false });
  }
}

export interface XmlElement {
  /** Qualified name as written (`s:Envelope`). */
  readonly name: string;
  /** Local part (`Envelope`). */
  readonly local: string;
  /** Namespace URI ('' when none). */
  readonly ns: string;
  /** Attributes by qualified name as written, values unescaped. */
  readonly attrs: Readonly<Record<string, string>>;
  /** Namespace bindings in scope for this element (prefix → URI, '' = default). */
  readonly scope: Readonly<Record<string, string>>;
  readonly children: readonly XmlNode[];
}
export type XmlNode = XmlElement | string;

export interface ParseXmlOptions {
  /** Largest accepted document in bytes (UTF-8). Default 1 MiB. */
  maxBytes?: number;
  /** Deepest accepted element nesting. Default 64. */
  maxDepth?: number;
  /** Keep whitespace-only text nodes. Default false. */
  keepWhitespace?: boolean;
}

const XML_NS = 'http://www.w3.org/XML/1998/namespace';
const ATTR_PREFIX = '@_';
const TEXT_KEY = '#text';

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: ATTR_PREFIX,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  processEntities: true,
  htmlEntities: false,
  removeNSPrefix: false,
  commentPropName: false,
  cdataPropName: false,
  maxNestedTags: 1024,
});

const DOCTYPE_RE = /<!DOCTYPE|<!ENTITY/i;

/** Parse untrusted XML into an order-preserving, namespace-resolved element tree. */
export function parseXml(input: string | Buffer, options: ParseXmlOptions = {}): XmlElement {
  const maxBytes = options.maxBytes ?? 1024 * 1024;
  const maxDepth = options.maxDepth ?? 64;
  let text = decodeXmlInput(input, maxBytes);
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === '') throw new XmlError('empty', 'empty XML document', text);
  if (DOCTYPE_RE.test(text)) {
    throw new XmlError('doctype', 'DOCTYPE and ENTITY declarations are not accepted', text);
  }
  checkXmlChars(text);
  checkDepth(text, maxDepth);
  text = resolveCharRefs(text);
  checkReferences(text);
  const valid = XMLValidator.validate(text, { allowBooleanAttributes: false });
  if (valid !== true) {
    const { msg, line, col } = valid.err;
    throw new XmlError('malformed', `malformed XML at ${line}:${col}: ${msg}`, text, line, col);
  }
  let raw: unknown[];
  try {
    raw = parser.parse(text) as unknown[];
  } catch (err) {
    throw new XmlError('malformed', `malformed XML: ${(err as Error).message}`, text);
  }
  const roots = raw.filter((n) => !(TEXT_KEY in (n as object)));
  if (roots.length !== 1)
    throw new XmlError('malformed', 'XML document must have exactly one root element', text);
  return convert(roots[0] as RawNode, { xml: XML_NS }, options.keepWhitespace ?? false);
}

/**
 * The text of an XML document after the size cap: a Buffer must be valid UTF-8 (XML 1.0 §4.3.3;
 * nothing is silently replaced by U+FFFD). Shared with the SyncML scanner.
 */
export function decodeXmlInput(input: string | Buffer, maxBytes: number): string {
  const byteLength = typeof input === 'string' ? Buffer.byteLength(input) : input.length;
  if (byteLength > maxBytes) {
    throw new XmlError(
      'too-large',
      `XML document of ${byteLength} bytes exceeds the limit of ${maxBytes}`,
      '',
    );
  }
  if (typeof input === 'string') return input;
  const text = decodeUtf8(input);
  if (text === undefined) throw new XmlError('encoding', 'XML document is not valid UTF-8', '');
  return text;
}

/** Refuses a document holding a raw character XML 1.0 does not allow (XML 1.0 §2.2). */
export function checkXmlChars(text: string): void {
  const bad = findIllegalXmlChar(text);
  if (!bad) return;
  const before = text.slice(0, bad.index);
  const line = before.split('\n').length;
  const col = bad.index - before.lastIndexOf('\n');
  throw new XmlError(
    'illegal-char',
    `character ${codePointLabel(bad.codePoint)} at ${line}:${col} is not allowed in XML 1.0`,
    text,
    line,
    col,
  );
}

/** Character references outside CDATA sections, comments and processing instructions. */
const CHAR_REF_RE = /<!\[CDATA\[[\s\S]*?\]\]>|<!--[\s\S]*?-->|<\?[\s\S]*?\?>|&(#[^;&<\s]{0,12});/g;
const PREDEFINED: Readonly<Record<number, string>> = {
  38: '&amp;',
  60: '&lt;',
  62: '&gt;',
  34: '&quot;',
  39: '&apos;',
};

/**
 * fast-xml-parser (without its HTML entity table) leaves numeric character references as they are.
 * Every reference must name an XML 1.0 character (WFC: Legal Character, §4.1); each is replaced by
 * its character, or by the predefined entity for the markup characters, before parsing.
 */
function resolveCharRefs(text: string): string {
  if (!text.includes('&#')) return text;
  return text.replace(CHAR_REF_RE, (whole, ref: string | undefined) => {
    if (ref === undefined) return whole;
    const code = decodeCharRef(ref);
    if (code === undefined) {
      throw new XmlError('illegal-char', 'character reference to a character XML 1.0 does not allow', text);
    }
    return PREDEFINED[code] ?? String.fromCodePoint(code);
  });
}

/**
 * fast-xml-parser keeps an undeclared entity (`&unknown;`), a bare `&` and `]]>` in text as data,
 * which a writer may then echo into a response. XML 1.0 refuses all three (WFC: Entity Declared
 * §4.1, §2.4 CharData), and so does this parser: with no DTD only the five predefined entities
 * exist, and character references are already resolved. CDATA sections, comments and processing
 * instructions are skipped; inside a tag only `&` is checked (`]]>` is legal in an attribute value).
 */
const MARKUP_RE =
  /<!\[CDATA\[[\s\S]*?\]\]>|<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<[^"'>]*(?:(?:"[^"]*"|'[^']*')[^"'>]*)*>|&(?!(?:amp|lt|gt|quot|apos);)|\]\]>/g;
const BAD_AMP_RE = /&(?!(?:amp|lt|gt|quot|apos);)/;

function checkReferences(text: string): void {
  if (!text.includes('&') && !text.includes(']]>')) return;
  for (const m of text.matchAll(MARKUP_RE)) {
    const found = m[0];
    if (found.startsWith('<')) {
      if (found.startsWith('<!') || found.startsWith('<?') || !BAD_AMP_RE.test(found)) continue;
    }
    const at = m.index + (found.startsWith('<') ? found.search(BAD_AMP_RE) : 0);
    const before = text.slice(0, at);
    const line = before.split('\n').length;
    const col = at - before.lastIndexOf('\n');
    const what = found === ']]>' ? '"]]>" in text' : 'reference to an undeclared entity or a bare "&"';
    throw new XmlError('malformed', `malformed XML at ${line}:${col}: ${what}`, text, line, col);
  }
}

/** Cheap scan for nesting depth before the parser sees the text (deep-nesting attacks). */
function checkDepth(text: string, maxDepth: number): void {
  let depth = 0;
  let i = text.indexOf('<');
  while (i !== -1) {
    const next = text.charCodeAt(i + 1);
    if (next === 47 /* / */) depth--;
    else if (next !== 33 /* ! */ && next !== 63 /* ? */) {
      const end = text.indexOf('>', i);
      if (end === -1) break;
      if (text.charCodeAt(end - 1) !== 47) {
        depth++;
        if (depth > maxDepth) {
          throw new XmlError('too-deep', `XML nesting deeper than ${maxDepth} levels`, text);
        }
      }
      i = end;
    }
    i = text.indexOf('<', i + 1);
  }
}

type RawNode = Record<string, unknown> & { ':@'?: Record<string, string> };

function convert(node: RawNode, parentScope: Record<string, string>, keepWs: boolean): XmlElement {
  const name = Object.keys(node).find((k) => k !== ':@')!;
  const rawAttrs = node[':@'] ?? {};
  let scope = parentScope;
  const attrs: Record<string, string> = {};
  for (const [key, value] of Object.entries(rawAttrs)) {
    const attrName = key.slice(ATTR_PREFIX.length);
    attrs[attrName] = value;
    if (attrName === 'xmlns' || attrName.startsWith('xmlns:')) {
      if (scope === parentScope) scope = { ...parentScope };
      scope[attrName === 'xmlns' ? '' : attrName.slice(6)] = value;
    }
  }
  const colon = name.indexOf(':');
  const prefix = colon === -1 ? '' : name.slice(0, colon);
  const local = colon === -1 ? name : name.slice(colon + 1);
  const children: XmlNode[] = [];
  for (const child of (node[name] as RawNode[]) ?? []) {
    if (TEXT_KEY in child) {
      const t = String(child[TEXT_KEY]);
      // Only XML white space (XML 1.0 §2.3 S) makes a text node droppable; U+00A0 or U+2028 is data.
      if (keepWs || /[^ \t\r\n]/.test(t)) children.push(t);
    } else {
      children.push(convert(child, scope, keepWs));
    }
  }
  return { name, local, ns: scope[prefix] ?? '', attrs, scope, children };
}

// ---- Navigation helpers (match on namespace URI + local name) -------------------------------

export function isElement(node: XmlNode | undefined): node is XmlElement {
  return typeof node === 'object' && node !== null;
}

/** Child elements, optionally filtered by local name and namespace URI. */
export function childElements(el: XmlElement, local?: string, ns?: string): XmlElement[] {
  const out: XmlElement[] = [];
  for (const c of el.children) {
    if (isElement(c) && (local === undefined || c.local === local) && (ns === undefined || c.ns === ns))
      out.push(c);
  }
  return out;
}

export function childElement(el: XmlElement, local: string, ns?: string): XmlElement | undefined {
  for (const c of el.children) {
    if (isElement(c) && c.local === local && (ns === undefined || c.ns === ns)) return c;
  }
  return undefined;
}

/** Follow a path of local names (namespace-agnostic), e.g. `path(env, 'Body', 'Discover')`. */
export function path(el: XmlElement | undefined, ...locals: string[]): XmlElement | undefined {
  let cur = el;
  for (const l of locals) {
    if (!cur) return undefined;
    cur = childElement(cur, l);
  }
  return cur;
}

/** Concatenated text content (direct and nested). */
export function textOf(el: XmlElement | undefined): string {
  if (!el) return '';
  let s = '';
  for (const c of el.children) s += typeof c === 'string' ? c : textOf(c);
  return s;
}

/** Attribute by local name, optionally in a namespace (unprefixed attributes have no namespace). */
export function attr(el: XmlElement, local: string, ns?: string): string | undefined {
  for (const [qname, value] of Object.entries(el.attrs)) {
    const colon = qname.indexOf(':');
    const aLocal = colon === -1 ? qname : qname.slice(colon + 1);
    if (aLocal !== local || qname.startsWith('xmlns')) continue;
    if (ns === undefined) return value;
    const aNs = colon === -1 ? '' : (el.scope[qname.slice(0, colon)] ?? '');
    if (aNs === ns) return value;
  }
  return undefined;
}

/** Find the first descendant (depth-first) with this local name (and namespace). */
export function findDescendant(el: XmlElement, local: string, ns?: string): XmlElement | undefined {
  for (const c of el.children) {
    if (!isElement(c)) continue;
    if (c.local === local && (ns === undefined || c.ns === ns)) return c;
    const found = findDescendant(c, local, ns);
    if (found) return found;
  }
  return undefined;
}

// ---- Writing ---------------------------------------------------------------------------------

const ESCAPE_RE = /[&<>"']/;
const ESCAPE_MAP: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};

/**
 * Escape text or attribute content; characters XML 1.0 does not allow become U+FFFD, so the
 * result is always well-formed. Fast path for strings with nothing to escape.
 */
export function escapeXml(value: string): string {
  const clean = toXmlChars(value);
  if (!ESCAPE_RE.test(clean)) return clean;
  return clean.replace(/[&<>"']/g, (c) => ESCAPE_MAP[c]!);
}
