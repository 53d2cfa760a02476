// The XML writer of the SOAP responses and the provisioning doc: element trees built with `el()`,
// serialised by xmlbuilder2 with `wellFormed: true`, so a document the server builds is always
// well-formed. Element and attribute names are constants from this folder; text and attribute
// values are passed through `toXmlChars` first (xml-chars.ts), so a character XML 1.0 does not
// allow becomes U+FFFD instead of failing the response. No XML declaration unless asked for
// (Windows sends none and does not need one).
import { create } from 'xmlbuilder2';
import type { XMLBuilder } from 'xmlbuilder2/lib/interfaces.js';
import { toXmlChars } from '../xml-chars.js';

export interface XmlOut {
  readonly name: string;
  readonly attrs: Readonly<Record<string, string | undefined>>;
  readonly children: readonly XmlChild[];
}
/** Strings are text; `null`/`undefined`/`false` are skipped (optional elements). */
export type XmlChild = XmlOut | string | null | undefined | false;

/** An element; attributes with an `undefined` value are left out. */
export function el(
  name: string,
  attrs: Record<string, string | undefined> = {},
  ...children: XmlChild[]
): XmlOut {
  return { name, attrs, children };
}

/** `<name xsi:nil="true"/>` (the xsi prefix must be declared by an ancestor, docs/protocol-notes.md#enrollment-policy). */
export function nil(name: string): XmlOut {
  return el(name, { 'xsi:nil': 'true' });
}

/**
 * xmlbuilder2 leaves an `&` that starts something shaped like a reference (`&unknown;`, `&#65;`)
 * unescaped, so echoed text could write an undeclared entity. Every `&` is written as `&amp;`
 * here; xmlbuilder2 then keeps that reference as it is.
 */
const writable = (value: string) => toXmlChars(value).replace(/&/g, '&amp;');

const XML_NS = 'http://www.w3.org/XML/1998/namespace';
const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';

export interface RenderOptions {
  /** Start with `<?xml version="1.0" encoding="UTF-8"?>` (the provisioning doc). */
  readonly declaration?: boolean;
}

export function renderXml(node: XmlOut, options: RenderOptions = {}): string {
  const doc = options.declaration ? create({ version: '1.0', encoding: 'UTF-8' }) : create();
  append(doc, node, { xml: XML_NS });
  return doc.end({ headless: !options.declaration, prettyPrint: false, wellFormed: true });
}

const prefixOf = (qname: string) => {
  const colon = qname.indexOf(':');
  return colon === -1 ? '' : qname.slice(0, colon);
};

/**
 * xmlbuilder2 serialises namespaces from the DOM, so every prefixed element and attribute is
 * created in the namespace its prefix is bound to here (names stay exactly as written).
 */
function append(parent: XMLBuilder, node: XmlOut, parentScope: Record<string, string>): void {
  let scope = parentScope;
  const attrs = Object.entries(node.attrs).filter((a): a is [string, string] => a[1] !== undefined);
  for (const [name, value] of attrs) {
    if (name === 'xmlns' || name.startsWith('xmlns:')) {
      if (scope === parentScope) scope = { ...parentScope };
      scope[name === 'xmlns' ? '' : name.slice(6)] = value;
    }
  }
  const element = parent.ele(scope[prefixOf(node.name)] ?? null, node.name);
  for (const [name, value] of attrs) {
    const prefix = prefixOf(name);
    if (name === 'xmlns' || prefix === 'xmlns') element.att(XMLNS_NS, name, value);
    else if (prefix !== '') element.att(scope[prefix] ?? null, name, writable(value));
    else element.att(name, writable(value));
  }
  for (const child of node.children) {
    if (child === null || child === undefined || child === false) continue;
    if (typeof child === 'string') element.txt(writable(child));
    else append(element, child, scope);
  }
}
