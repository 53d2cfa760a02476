// A strict single-pass XML reader for the SyncML hot path (docs/protocol-notes.md#syncml-messages;
// docs/architecture.md#performance-choices: a faster specialised parse inside src/codec). Same hardening as
// `parseXml`: size cap, strict UTF-8, DOCTYPE/ENTITY refused, characters XML 1.0 does not allow
// refused raw or as character references (xml-chars.ts), depth cap, well-formedness (matching tags,
// quoted attributes, only the five predefined entities and character references, one root), namespaces
// resolved to URIs. Produces the same `XmlElement` tree. Comments and processing instructions are
// skipped; CDATA becomes text; whitespace-only text is dropped.
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
  while (i < n) {
    const lt = text.indexOf('<', i);
    const end = lt === -1 ? n : lt;
    if (end > i) {
      const raw = text.slice(i, end);
      if (stack.length === 0) {
        if (raw.trim() !== '') fail('text outside the root element', i);
      } else if (raw.trim() !== '') stack[stack.length - 1]!.children.push(decode(raw, i, fail));
    }
    if (lt === -1) break;
    const c = text.charCodeAt(lt + 1);
    if (c === 33 /* ! */) {
      if (text.startsWith('<!--', lt)) {
        const close = text.indexOf('-->', lt + 4);
        if (close === -1) fail('unterminated comment', lt);
        i = close + 3;
      } else if (text.startsWith('<![CDATA[', lt)) {
        const close = text.indexOf(']]>', lt + 9);
        if (close === -1) fail('unterminated CDATA section', lt);
        if (stack.length === 0) fail('CDATA outside the root element', lt);
        const data = text.slice(lt + 9, close);
        if (data.trim() !== '') stack[stack.length - 1]!.children.push(data);
        i = close + 3;
      } else {
        throw new XmlError('doctype', 'DOCTYPE and ENTITY declarations are not accepted', text);
      }
      continue;
    }
    if (c === 63 /* ? */) {
      const close = text.indexOf('?>', lt + 2);
      if (close === -1) fail('unterminated processing instruction', lt);
      i = close + 2;
      continue;
    }
    const gt = text.indexOf('>', lt + 1);
    if (gt === -1) fail('unterminated tag', lt);
    if (c === 47 /* / */) {
      const name = text.slice(lt + 2, gt).trim();
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
      if (inner.slice(pos).trim() === '') break;
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
