// A strict single-pass XML reader for the SyncML hot path (docs/protocol-notes.md#syncml-messages;
// docs/architecture.md#performance-choices: a faster specialised parse inside src/codec). Same hardening as
// `parseXml`: size cap, strict UTF-8, DOCTYPE/ENTITY refused, characters XML 1.0 does not allow
// refused raw or as character references (xml-chars.ts), depth cap, well-formedness (matching tags,
// quoted attributes, only the five predefined entities and character references, one root), namespaces
// resolved to URIs. Produces the same `XmlElement` tree. Comments and processing instructions are
// skipped (text either side of a comment is one text); CDATA becomes text; whitespace-only text is dropped.
import { checkXmlChars, decodeXmlInput, type XmlElement, XmlError, type XmlNode } from '../xml.js';
import { decodeCharRef } from '../xml-chars.js';

export interface ScanOptions {
  readonly maxBytes: number;
  readonly maxDepth: number;
}

const NAME_RE = /^[A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?$/;
const ATTR_RE = /\s*([^\s=/>]+)\s*=\s*(?:"([^"<]*)"|'([^'<]*)')/y;
const ENTITY: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
const XML_NS = 'http://www.w3.org/XML/1998/namespace';
// White space is these four characters only (XML 1.0 §2.3 S), not what String.prototype.trim removes
// (U+00A0, U+2028 … are data).
const PI_TARGET_RE = /[A-Za-z_][\w.-]*(?=[ \t\r\n]|\?>)/y;
const NOT_XML_SPACE = /[^ \t\r\n]/;
const TRAILING_XML_SPACE = /[ \t\r\n]+$/;
const isXmlSpace = (s: string): boolean => !NOT_XML_SPACE.test(s);

interface Open {
  readonly name: string;
  readonly local: string;
  readonly prefix: string;
  readonly attrs: Record<string, string>;
  readonly scope: Record<string, string>;
  readonly children: XmlNode[];
}

export function scanXml(input: string | Buffer, options: ScanOptions): XmlElement {
  let text = decodeXmlInput(input, options.maxBytes);
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const fail = (message: string, at: number): never => {
    const before = text.slice(0, at);
    const line = before.split('\n').length;
    const col = at - before.lastIndexOf('\n');
    throw new XmlError('malformed', `malformed XML at ${line}:${col}: ${message}`, text, line, col);
  };
  if (text.trim() === '') throw new XmlError('empty', 'empty XML document', text);
  checkXmlChars(text);
  const stack: Open[] = [];
  let root: XmlElement | undefined;
  let i = 0;
  const n = text.length;
  // Character data of the open element since the last markup other than a comment: a comment does
  // not split text (`a<!-- c -->b` is the one text "ab", as the general parser reads it).
  let run: string | undefined;
  const flush = (): void => {
    if (run !== undefined && !isXmlSpace(run)) stack[stack.length - 1]!.children.push(run);
    run = undefined;
  };
  while (i < n) {
    const lt = text.indexOf('<', i);
    const end = lt === -1 ? n : lt;
    if (end > i) {
      const raw = text.slice(i, end);
      if (stack.length === 0) {
        if (!isXmlSpace(raw)) fail('text outside the root element', i);
      } else {
        // `]]>` may not occur in character data (XML 1.0 §2.4).
        if (raw.includes(']]>')) fail('"]]>" in text', i);
        const decoded = decode(raw, i, fail);
        run = run === undefined ? decoded : run + decoded;
      }
    }
    if (lt === -1) break;
    const c = text.charCodeAt(lt + 1);
    if (c !== 33 /* ! */ || !text.startsWith('<!--', lt)) flush();
    if (c === 33 /* ! */) {
      if (text.startsWith('<!--', lt)) {
        const close = text.indexOf('-->', lt + 4);
        if (close === -1) fail('unterminated comment', lt);
        // `--` may not occur inside a comment, nor `-` end it (XML 1.0 §2.5).
        const body = text.slice(lt + 4, close);
        if (body.includes('--') || body.endsWith('-')) fail('"--" inside a comment', lt);
        i = close + 3;
      } else if (text.startsWith('<![CDATA[', lt)) {
        const close = text.indexOf(']]>', lt + 9);
        if (close === -1) fail('unterminated CDATA section', lt);
        if (stack.length === 0) fail('CDATA outside the root element', lt);
        const data = text.slice(lt + 9, close);
        if (!isXmlSpace(data)) stack[stack.length - 1]!.children.push(data);
        i = close + 3;
      } else {
        throw new XmlError('doctype', 'DOCTYPE and ENTITY declarations are not accepted', text);
      }
      continue;
    }
    if (c === 63 /* ? */) {
      const close = text.indexOf('?>', lt + 2);
      if (close === -1) fail('unterminated processing instruction', lt);
      // The target is a Name; `xml` is the declaration, allowed only before the root (XML 1.0 §2.6, §2.8).
      PI_TARGET_RE.lastIndex = lt + 2;
      const target = PI_TARGET_RE.exec(text)?.[0];
      if (target === undefined) fail('invalid processing instruction target', lt);
      if (target!.toLowerCase() === 'xml' && (stack.length > 0 || root))
        fail('XML declaration inside the document', lt);
      i = close + 2;
      continue;
    }
    let gt = text.indexOf('>', lt + 1);
    // A `>` inside a quoted attribute value does not end the tag (XML 1.0 §3.1 AttValue).
    if (gt !== -1 && c !== 47 && hasQuote(text, lt, gt)) gt = tagEnd(text, lt);
    if (gt === -1) fail('unterminated tag', lt);
    if (c === 47 /* / */) {
      const name = text.slice(lt + 2, gt).replace(TRAILING_XML_SPACE, '');
      const open = stack.pop();
      if (!open || open.name !== name)
        fail(`closing tag </${name}> does not match <${open?.name ?? ''}>`, lt);
      const el = finish(open!, lt, fail);
      if (stack.length === 0) {
        if (root) fail('more than one root element', lt);
        root = el;
      } else stack[stack.length - 1]!.children.push(el);
      i = gt + 1;
      continue;
    }
    const selfClosing = text.charCodeAt(gt - 1) === 47;
    const inner = text.slice(lt + 1, selfClosing ? gt - 1 : gt);
    const nameEnd = inner.search(/[\s]|$/);
    const name = inner.slice(0, nameEnd);
    if (!NAME_RE.test(name)) fail(`invalid element name "${name}"`, lt);
    if (stack.length === 0 && root) fail('more than one root element', lt);
    const parentScope = stack.length > 0 ? stack[stack.length - 1]!.scope : ROOT_SCOPE;
    let scope = parentScope;
    const attrs: Record<string, string> = {};
    let pos = nameEnd;
    ATTR_RE.lastIndex = pos;
    while (pos < inner.length) {
      if (isXmlSpace(inner.slice(pos))) break;
      ATTR_RE.lastIndex = pos;
      const m = ATTR_RE.exec(inner);
      if (!m) fail(`malformed attribute in <${name}>`, lt);
      const key = m![1]!;
      if (!NAME_RE.test(key) || key in attrs) fail(`invalid or repeated attribute "${key}"`, lt);
      const value = decode(m![2] ?? m![3] ?? '', lt, fail);
      attrs[key] = value;
      if (key === 'xmlns' || key.startsWith('xmlns:')) {
        if (scope === parentScope) scope = { ...parentScope };
        scope[key === 'xmlns' ? '' : key.slice(6)] = value;
      }
      pos = ATTR_RE.lastIndex;
    }
    const colon = name.indexOf(':');
    const open: Open = {
      name,
      local: colon === -1 ? name : name.slice(colon + 1),
      prefix: colon === -1 ? '' : name.slice(0, colon),
      attrs,
      scope,
      children: [],
    };
    if (selfClosing) {
      const el = finish(open, lt, fail);
      if (stack.length === 0) root = el;
      else stack[stack.length - 1]!.children.push(el);
    } else {
      stack.push(open);
      if (stack.length > options.maxDepth) {
        throw new XmlError('too-deep', `XML nesting deeper than ${options.maxDepth} levels`, text);
      }
    }
    i = gt + 1;
  }
  if (stack.length > 0) fail(`<${stack[stack.length - 1]!.name}> is not closed`, n);
  if (!root) fail('no root element', 0);
  return root!;
}

const ROOT_SCOPE: Record<string, string> = { xml: XML_NS };

function hasQuote(text: string, from: number, to: number): boolean {
  for (let k = from; k < to; k++) {
    const ch = text.charCodeAt(k);
    if (ch === 34 || ch === 39) return true;
  }
  return false;
}

/** The `>` that ends the tag opened at `from`, outside quoted attribute values; -1 when none. */
function tagEnd(text: string, from: number): number {
  let quote = 0;
  for (let k = from; k < text.length; k++) {
    const ch = text.charCodeAt(k);
    if (quote !== 0) {
      if (ch === quote) quote = 0;
    } else if (ch === 34 || ch === 39) quote = ch;
    else if (ch === 62) return k;
  }
  return -1;
}

function finish(open: Open, at: number, fail: (m: string, at: number) => never): XmlElement {
  const ns = open.scope[open.prefix];
  if (open.prefix !== '' && ns === undefined) fail(`undeclared namespace prefix "${open.prefix}"`, at);
  return {
    name: open.name,
    local: open.local,
    ns: ns ?? '',
    attrs: open.attrs,
    scope: open.scope,
    children: open.children,
  };
}

/** Replace entity and character references; any other `&` is an error. */
function decode(raw: string, at: number, fail: (m: string, at: number) => never): string {
  if (raw.indexOf('&') === -1) return raw;
  return raw.replace(/&([^;&\s]{0,10});?/g, (whole, ref: string) => {
    if (!whole.endsWith(';')) return fail('unescaped & in text', at);
    if (ref.startsWith('#')) {
      // WFC: Legal Character (XML 1.0 §4.1): `&#1;`, `&#x0;`, `&#xD800;` are not well-formed.
      const code = decodeCharRef(ref);
      return code === undefined ? fail('invalid character reference', at) : String.fromCodePoint(code);
    }
    const v = ENTITY[ref];
    return v ?? fail(`unknown entity &${ref};`, at);
  });
}
