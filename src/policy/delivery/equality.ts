// Format-aware comparison of a desired setting value with the value a device reads back
// (docs/protocol-notes.md#meta-format-and-locuri Meta Format, #policy-csp Policy CSP). A correct device must never be reported as
// failed because it spelled the same value differently: `01` vs `1` for int, `True` vs `true` vs `1`
// for bool, attribute order or whitespace in ADMX payloads and XML documents.

import type { CatalogNode } from '../../catalog/types.js';
import { isElement, parseXml, type XmlElement } from '../../codec/xml.js';
import type { DmFormat } from '../../shared/dm-command.js';

export interface CompareOptions {
  /** The catalog node, when known: ADMX-backed nodes compare as ADMX payloads. */
  readonly node?: Pick<CatalogNode, 'allowed' | 'format'>;
}

/** Largest value canonicalised as XML; longer payloads compare as exact strings. */
const MAX_XML_BYTES = 256 * 1024;

const INT_RE = /^[+-]?\d+$/;
const TRUE_FORMS = new Set(['true', '1']);
const FALSE_FORMS = new Set(['false', '0']);
const ADMX_START_RE = /^\s*<\s*(enabled|disabled)\s*\/?>/i;

/**
 * Canonical form of a value for its format, or undefined when the value is not valid in that
 * format (an invalid value only ever equals the identical string).
 */
export function canonicalValue(
  value: string,
  format: DmFormat,
  options: CompareOptions = {},
): string | undefined {
  switch (format) {
    case 'int': {
      const t = value.trim();
      return INT_RE.test(t) ? BigInt(t).toString() : undefined;
    }
    case 'bool': {
      const t = value.trim().toLowerCase();
      if (TRUE_FORMS.has(t)) return 'true';
      if (FALSE_FORMS.has(t)) return 'false';
      return undefined;
    }
    case 'float': {
      const t = value.trim();
      const n = t === '' ? Number.NaN : Number(t);
      return Number.isFinite(n) ? String(n) : undefined;
    }
    case 'b64':
    case 'bin':
      return value.replace(/\s+/g, '');
    case 'null':
    case 'node':
      return '';
    case 'xml':
      return canonicalXml(value);
    case 'chr':
      if (isAdmxNode(options.node) || ADMX_START_RE.test(value)) {
        return canonicalAdmx(value) ?? value;
      }
      return value;
    default:
      return value.trim();
  }
}

/** True when the device's value means the same as the desired value for this format. */
export function valuesEqual(
  desired: string,
  reported: string,
  format: DmFormat,
  options: CompareOptions = {},
): boolean {
  if (desired === reported) return true;
  const a = canonicalValue(desired, format, options);
  const b = canonicalValue(reported, format, options);
  return a !== undefined && a === b;
}

function isAdmxNode(node: CompareOptions['node']): boolean {
  return node?.allowed?.kind === 'admx';
}

/**
 * ADMX-backed policy payload (docs/protocol-notes.md#policy-csp): `<enabled/>` or `<disabled/>` followed by
 * `<data id="…" value="…"/>` entries in any order and with any whitespace. Canonical form:
 * the state, then the data entries sorted by id. Undefined when the text is not such a payload.
 */
export function canonicalAdmx(value: string): string | undefined {
  const root = parseFragment(value);
  if (!root) return undefined;
  let state: 'enabled' | 'disabled' | undefined;
  const data: [string, string][] = [];
  for (const child of root.children) {
    if (!isElement(child)) return undefined; // stray text is not part of the payload grammar
    const name = child.local.toLowerCase();
    if (name === 'enabled' || name === 'disabled') {
      if (state) return undefined;
      state = name;
    } else if (name === 'data') {
      const id = child.attrs.id;
      if (id === undefined) return undefined;
      data.push([id, child.attrs.value ?? '']);
    } else {
      return undefined;
    }
  }
  if (!state) return undefined;
  // A disabled policy carries no meaningful data elements.
  if (state === 'disabled') return '<disabled/>';
  data.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `<enabled/>${data.map(([id, v]) => `<data id=${JSON.stringify(id)} value=${JSON.stringify(v)}/>`).join('')}`;
}

/**
 * XML canonical form for comparison: namespace URI + local names, attributes sorted (namespace
 * declarations dropped, prefixes ignored), whitespace-only text dropped, other text trimmed.
 * Element order is kept: it is significant in XML documents. Undefined when not well-formed.
 */
export function canonicalXml(value: string): string | undefined {
  if (Buffer.byteLength(value) > MAX_XML_BYTES) return undefined;
  try {
    return serialise(parseXml(value, { maxBytes: MAX_XML_BYTES }));
  } catch {
    return undefined;
  }
}

function parseFragment(value: string): XmlElement | undefined {
  if (Buffer.byteLength(value) > MAX_XML_BYTES) return undefined;
  try {
    return parseXml(`<fragment>${value}</fragment>`, { maxBytes: MAX_XML_BYTES + 32 });
  } catch {
    return undefined;
  }
}

function serialise(el: XmlElement): string {
  const attrs = Object.entries(el.attrs)
    .filter(([name]) => name !== 'xmlns' && !name.startsWith('xmlns:'))
    .map(([name, v]) => {
      const colon = name.indexOf(':');
      const local = colon === -1 ? name : name.slice(colon + 1);
      const ns = colon === -1 ? '' : (el.scope[name.slice(0, colon)] ?? '');
      return `${ns ? `{${ns}}` : ''}${local}=${JSON.stringify(v)}`;
    })
    .sort();
  let body = '';
  for (const child of el.children) {
    if (isElement(child)) body += serialise(child);
    else {
      const t = child.trim();
      if (t) body += JSON.stringify(t);
    }
  }
  const name = `${el.ns ? `{${el.ns}}` : ''}${el.local}`;
  return `<${name}${attrs.length ? ` ${attrs.join(' ')}` : ''}>${body}</>`;
}
