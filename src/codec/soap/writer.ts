// A small escaping XML writer for the SOAP responses: element and attribute names are constants
// from this folder, every text and attribute value is escaped. No XML declaration (Windows sends
// none and does not need one).
import { escapeXml } from '../xml.js';

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

/** `<name xsi:nil="true"/>` (the xsi prefix must be declared by an ancestor, gotcha 10). */
export function nil(name: string): XmlOut {
  return el(name, { 'xsi:nil': 'true' });
}

export function renderXml(node: XmlOut): string {
  let out = `<${node.name}`;
  for (const [k, v] of Object.entries(node.attrs)) {
    if (v !== undefined) out += ` ${k}="${escapeXml(v)}"`;
  }
  const kids = node.children.filter(
    (c): c is XmlOut | string => c !== null && c !== undefined && c !== false,
  );
  if (kids.length === 0) return `${out}/>`;
  out += '>';
  for (const c of kids) out += typeof c === 'string' ? escapeXml(c) : renderXml(c);
  return `${out}</${node.name}>`;
}
