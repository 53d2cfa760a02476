// Differential test of the SyncML hot-path reader (src/codec/syncml/scan.ts) against fast-xml-parser:
// every XML file under fixtures/ and generated SyncML messages must read to the same tree through
// `scanXml`, through the hardened general parser `parseXml` (src/codec/xml.ts), and through
// fast-xml-parser used directly (its own output, reduced to names, attributes and text); generated
// messages must also read back to the tree they were written from. A damaged message is accepted
// by the scanner exactly when a conforming XML 1.0 + Namespaces parser (saxes) accepts it; where
// fast-xml-parser is more lenient than that, the scanner must side with saxes.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { SaxesParser } from 'saxes';
import { describe, expect, it } from 'vitest';
import { scanXml } from '../../../src/codec/syncml/scan.js';
import { isElement, parseXml, type XmlElement, XmlError, type XmlNode } from '../../../src/codec/xml.js';

const LIMITS = { maxBytes: 1 << 22, maxDepth: 64 };
const ROOT = join(import.meta.dirname, '..', '..', '..');

function xmlFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(ROOT, path)).isDirectory()) return xmlFiles(path);
    return name.endsWith('.xml') ? [path] : [];
  });
}

/** Names, attributes and text only: what both libraries' trees have in common. */
interface Plain {
  readonly name: string;
  readonly attrs: Record<string, string>;
  readonly children: (Plain | string)[];
}

function merged(children: readonly (Plain | string)[]): (Plain | string)[] {
  const out: (Plain | string)[] = [];
  for (const c of children) {
    if (typeof c === 'string' && typeof out.at(-1) === 'string') out[out.length - 1] += c;
    else out.push(c);
  }
  return out.filter((c) => typeof c !== 'string' || c.trim() !== '');
}

function plainOf(el: XmlElement): Plain {
  return {
    name: el.name,
    attrs: { ...el.attrs },
    children: merged(el.children.map((c: XmlNode) => (isElement(c) ? plainOf(c) : c))),
  };
}

// fast-xml-parser on its own (no wrapper): order kept, nothing coerced, entities and character
// references decoded by the library.
const library = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  processEntities: true,
  htmlEntities: true,
  commentPropName: false,
});

type Raw = Record<string, unknown>;

function plainFromLibrary(xml: string): Plain {
  expect(XMLValidator.validate(xml)).toBe(true);
  const roots = (library.parse(xml) as Raw[]).filter((n) => !('#text' in n));
  expect(roots).toHaveLength(1);
  const convert = (node: Raw): Plain => {
    const name = Object.keys(node).find((k) => k !== ':@')!;
    const attrs = { ...((node[':@'] as Record<string, string> | undefined) ?? {}) };
    const children = (node[name] as Raw[]).map((c) => ('#text' in c ? String(c['#text']) : convert(c)));
    return { name, attrs, children: merged(children) };
  };
  return convert(roots[0]!);
}

const UNBOUND = 'urn:test:unbound-prefix';

/**
 * Well-formed and namespace-well-formed per saxes (no DOCTYPE in what is generated here), with one
 * leniency the scanner has on purpose: attributes are keyed by qualified name and their prefixes
 * are not resolved, so `msft:originalerror` without a declaration of `msft` is still read. An
 * element with an undeclared prefix is refused by both.
 */
function conforming(xml: string): boolean {
  const parser = new SaxesParser({ xmlns: true, resolvePrefix: () => UNBOUND });
  let ok = true;
  parser.on('error', () => {
    ok = false;
  });
  parser.on('opentag', (tag) => {
    if (tag.prefix !== '' && tag.uri === UNBOUND) ok = false;
  });
  try {
    parser.write(xml).close();
  } catch {
    ok = false;
  }
  return ok;
}

function refusedBy(read: () => unknown): string | undefined {
  try {
    read();
    return undefined;
  } catch (err) {
    if (err instanceof XmlError) return err.code;
    throw err;
  }
}

describe('SyncML scanner vs fast-xml-parser: fixtures', () => {
  const files = xmlFiles('fixtures');

  it('finds the fixtures', () => {
    expect(files.length).toBeGreaterThan(40);
  });

  it.each(files)('%s', (file) => {
    const text = readFileSync(join(ROOT, file), 'utf8');
    const general = refusedBy(() => parseXml(text, LIMITS));
    const scanned = refusedBy(() => scanXml(text, LIMITS));
    expect(scanned).toBe(general);
    if (general !== undefined) return;
    const tree = scanXml(text, LIMITS);
    expect(tree).toEqual(parseXml(text, LIMITS));
    expect(plainOf(tree)).toEqual(plainFromLibrary(text.replace(/^\uFEFF/, '')));
  });
});

// ---- generated messages -------------------------------------------------------------------------

/** Adjacent texts become one: each text is written as one piece (one CDATA section, say). */
function joinTexts(children: (Gen | string)[]): (Gen | string)[] {
  const out: (Gen | string)[] = [];
  for (const c of children) {
    if (typeof c === 'string' && typeof out.at(-1) === 'string') out[out.length - 1] += c;
    else out.push(c);
  }
  return out;
}

/** A SyncML-like element: names, namespaces and text the Windows client and servers write. */
interface Gen {
  readonly name: string;
  readonly attrs: [string, string][];
  readonly children: (Gen | string)[];
}

const NAMES = [
  'SyncHdr',
  'SyncBody',
  'Status',
  'Alert',
  'Replace',
  'Add',
  'Get',
  'Exec',
  'Atomic',
  'Sequence',
  'Results',
  'Item',
  'Target',
  'Source',
  'LocURI',
  'Meta',
  'Format',
  'Type',
  'Data',
  'CmdID',
  'MsgRef',
  'CmdRef',
  'Cmd',
  'Final',
  'MoreData',
];
const ATTR_NAMES = ['xmlns', 'xmlns:msft', 'msft:originalerror', 'xml:lang', 'a', 'b'];
const NS_VALUES = [
  'syncml:metinf',
  'SYNCML:SYNCML1.2',
  'http://schemas.microsoft.com/MobileDevice/MDM',
  'urn:x',
];

// Text XML 1.0 allows, including markup characters, non-ASCII and astral code points.
const textChar = fc.oneof(
  fc.constantFrom('<', '>', '&', '"', "'", ' ', '\t', '\n', ']', ']]>'),
  fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 6 }),
  fc.constantFrom('é', 'ß', '中', '😀', '\u00a0', '\u2028'),
);
const text = fc.array(textChar, { minLength: 1, maxLength: 8 }).map((parts) => parts.join(''));
// Namespace declarations get namespace names (the scanner does not check that a value is a URI).
const attr = fc.oneof(
  fc.tuple(fc.constantFrom('xmlns', 'xmlns:msft'), fc.constantFrom(...NS_VALUES)),
  fc.tuple(
    fc.constantFrom(...ATTR_NAMES.filter((n) => !n.startsWith('xmlns'))),
    fc.oneof(fc.constantFrom(...NS_VALUES), text),
  ),
);

const element: fc.Arbitrary<Gen> = fc.letrec<{ el: Gen }>((tie) => ({
  el: fc.record({
    name: fc.constantFrom(...NAMES),
    attrs: fc.uniqueArray(attr, { maxLength: 3, selector: ([k]) => k }),
    children: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.constant([] as (Gen | string)[]),
      text.map((t) => [t]),
      fc.array(fc.oneof(tie('el'), text), { maxLength: 4 }).map(joinTexts),
    ),
  }),
})).el;

/** How each piece of text is written: escaped, as character references, or in CDATA. */
type Style = {
  readonly refs: boolean;
  readonly cdata: boolean;
  readonly single: boolean;
  readonly comments: boolean;
};

function escapeText(t: string, style: Style): string {
  if (style.cdata && !t.includes(']]>')) return `<![CDATA[${t}]]>`;
  // A comment inside a text does not split it: the readers must give back the one text.
  const chars = [...t];
  if (style.comments && chars.length > 1) {
    const half = chars.length >> 1;
    const plain = { ...style, comments: false };
    return `${escapeText(chars.slice(0, half).join(''), plain)}<!-- c -->${escapeText(chars.slice(half).join(''), plain)}`;
  }
  return [...t]
    .map((ch) => {
      if (ch === '<') return style.refs ? '&#60;' : '&lt;';
      if (ch === '&') return style.refs ? '&#x26;' : '&amp;';
      if (ch === '>') return '&gt;';
      if (style.refs && ch.codePointAt(0)! > 0x7f) return `&#x${ch.codePointAt(0)!.toString(16)};`;
      return ch;
    })
    .join('');
}

function escapeAttr(v: string, style: Style): string {
  const q = style.single ? "'" : '"';
  return (
    q +
    v
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/"/g, style.single ? '"' : '&quot;')
      .replace(/'/g, style.single ? '&apos;' : "'")
      // Attribute-value normalisation (XML 1.0 §3.3.3) would turn these into spaces: keep them.
      .replace(/\t/g, '&#9;')
      .replace(/\n/g, '&#10;')
      .replace(/\r/g, '&#13;') +
    q
  );
}

function write(el: Gen, style: Style): string {
  const attrs = el.attrs.map(([k, v]) => ` ${k}=${escapeAttr(v, style)}`).join('');
  if (el.children.length === 0) return `<${el.name}${attrs}/>`;
  const inner = el.children
    .map((c) =>
      typeof c === 'string' ? escapeText(c, style) : write(c, style) + (style.comments ? '<!-- c -->' : ''),
    )
    .join('');
  return `<${el.name}${attrs}>${inner}</${el.name}>`;
}

function plainOfGen(el: Gen): Plain {
  return {
    name: el.name,
    attrs: Object.fromEntries(el.attrs),
    children: merged(el.children.map((c) => (typeof c === 'string' ? c : plainOfGen(c)))),
  };
}

const style = fc.record({
  refs: fc.boolean(),
  cdata: fc.boolean(),
  single: fc.boolean(),
  comments: fc.boolean(),
});
const message = fc
  .tuple(fc.array(element, { minLength: 1, maxLength: 4 }), style, fc.boolean())
  .map(([body, st, declaration]) => {
    const root: Gen = { name: 'SyncML', attrs: [['xmlns', 'SYNCML:SYNCML1.2']], children: body };
    const xml = `${declaration ? '<?xml version="1.0" encoding="UTF-8"?>\n' : ''}${write(root, st)}`;
    return { root, xml };
  });

describe('SyncML scanner vs fast-xml-parser: generated messages', () => {
  it('read back to the tree they were written from, through all three readers', () => {
    fc.assert(
      fc.property(message, ({ root, xml }) => {
        const tree = scanXml(xml, LIMITS);
        expect(tree).toEqual(parseXml(xml, LIMITS));
        const plain = plainOf(tree);
        expect(plain).toEqual(plainOfGen(root));
        expect(plain).toEqual(plainFromLibrary(xml));
      }),
      { numRuns: 300 },
    );
  });

  it('checks processing instruction targets and refuses a declaration inside the document', () => {
    for (const bad of [
      '<?<x?><a/>',
      '<?x:y z?><a/>',
      '<a><?xml version="1.0"?></a>',
      '<a/><?XML?>',
      '<? x?><a/>',
    ]) {
      expect(
        refusedBy(() => scanXml(bad, LIMITS)),
        bad,
      ).toBe('malformed');
      expect(conforming(bad), bad).toBe(false);
    }
    for (const good of ['<?xml version="1.0"?><a/>', '<?pi data?><a><?x-y?></a>', '<a/><?after?>']) {
      expect(scanXml(good, LIMITS).name, good).toBe('a');
      expect(conforming(good), good).toBe(true);
    }
  });

  it('accepted by the scanner exactly when a conforming parser accepts them, damaged or not', () => {
    const damage = fc.tuple(
      message,
      fc.nat(),
      fc.constantFrom('<', '&', '>', '</x>', '"', "'", '', '<!--', ']]>', '<a', '&#0;', '&amp', 'x:'),
    );
    let refused = 0;
    fc.assert(
      fc.property(damage, ([{ xml }, at, insert]) => {
        // Anywhere from the root element on: the scanner skips the XML declaration and processing
        // instructions without reading their content (their targets are checked below).
        const from = xml.indexOf('<SyncML');
        const i = from + (at % (xml.length - from + 1));
        // Either insert something at `i` or cut the message there.
        const bad = insert === '' ? xml.slice(0, i) : xml.slice(0, i) + insert + xml.slice(i);
        const scanned = refusedBy(() => scanXml(bad, LIMITS));
        const general = refusedBy(() => parseXml(bad, LIMITS));
        const wellFormed = conforming(bad);
        if (!wellFormed) refused++;
        expect(scanned === undefined, `scan: ${scanned ?? 'accepted'}, saxes: ${wellFormed}: ${bad}`).toBe(
          wellFormed,
        );
        if (scanned === undefined && general === undefined)
          expect(scanXml(bad, LIMITS)).toEqual(parseXml(bad, LIMITS));
      }),
      { numRuns: 1000 },
    );
    // The damage really damages most messages (a test that never sees a refusal proves little).
    expect(refused).toBeGreaterThan(500);
  });
});
