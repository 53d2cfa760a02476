// The SyncML hot-path XML reader must agree with the general hardened parser and refuse what it refuses.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { scanXml } from '../../../src/codec/syncml/scan.js';
import { parseXml, XmlError } from '../../../src/codec/xml.js';

const LIMITS = { maxBytes: 1 << 20, maxDepth: 32 };
const fixtures = ['fixtures/windows10-syncml-marcosd4h', 'fixtures/windows10-syncml-fleet-unenroll'].flatMap(
  (dir) =>
    readdirSync(dir)
      .filter((f) => f.endsWith('.xml'))
      .map((f) => `${dir}/${f}`),
);

describe('scanXml', () => {
  it.each(fixtures)('reads %s exactly like parseXml', (file) => {
    const text = readFileSync(file, 'utf8');
    expect(scanXml(text, LIMITS)).toEqual(parseXml(text, LIMITS));
  });

  it('agrees with parseXml on namespaces, prefixes, entities, CDATA, comments and attributes', () => {
    const xml =
      '<?xml version="1.0"?><!-- c --><SyncML xmlns="SYNCML:SYNCML1.2" xmlns:msft="http://schemas.microsoft.com/MobileDevice/MDM">' +
      '<SyncBody><Status><Data msft:originalerror="0x86000002">404</Data></Status>' +
      "<Item><Meta><Format xmlns='syncml:metinf'>chr</Format></Meta><Data>&lt;a b=&quot;1&quot;/&gt; &amp; é</Data></Item>" +
      '<Item><Data><![CDATA[<enabled/>]]></Data></Item><Final/><x:Y xmlns:x="urn:x"/></SyncBody></SyncML>';
    const ours = scanXml(xml, LIMITS);
    expect(ours).toEqual(parseXml(xml, LIMITS));
  });

  it('reads text either side of a comment as one text, white space included', () => {
    for (const [xml, children] of [
      ['<a>x:<!-- c -->é</a>', ['x:é']],
      ['<a> <!-- c -->y</a>', [' y']],
      ['<a>x<!-- c --> </a>', ['x ']],
      ['<a> <!-- c --> </a>', []],
      ['<a>x<!-- c --><b/>y</a>', ['x', { name: 'b' }, 'y']],
      ['<a>x<![CDATA[y]]>z</a>', ['x', 'y', 'z']],
    ] as const) {
      const ours = scanXml(xml, LIMITS);
      expect(ours, xml).toEqual(parseXml(xml, LIMITS));
      expect(ours.children.map((c) => (typeof c === 'string' ? c : { name: c.name }))).toEqual(children);
    }
  });

  it('decodes character references (XML 1.0 §4.1)', () => {
    expect(scanXml('<a>&#65;&#x42;&#x1F600;</a>', LIMITS).children).toEqual(['AB😀']);
    expect(() => scanXml('<a>&#xZZ;</a>', LIMITS)).toThrow(XmlError);
  });

  it.each([
    ['<a><b></a></b>', 'malformed'],
    ['<a>', 'malformed'],
    ['<a>&bogus;</a>', 'malformed'],
    ['<a>AT&T</a>', 'malformed'],
    ['<a x=1/>', 'malformed'],
    ['<a/><b/>', 'malformed'],
    ['<a/>text', 'malformed'],
    ['<p:a/>', 'malformed'],
    ['<a><!-- x</a>', 'malformed'],
    ['<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>', 'doctype'],
    ['<a><!ENTITY e "x"></a>', 'doctype'],
    [`${'<a>'.repeat(40)}${'</a>'.repeat(40)}`, 'too-deep'],
    ['   ', 'empty'],
    ['<1a/>', 'malformed'],
  ])('refuses %j (%s)', (xml, code) => {
    try {
      scanXml(xml, LIMITS);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(XmlError);
      expect((err as XmlError).code).toBe(code);
    }
  });

  it('enforces the byte limit before reading', () => {
    expect(() => scanXml(`<a>${'x'.repeat(100)}</a>`, { maxBytes: 50, maxDepth: 8 })).toThrow(
      /exceeds the limit/,
    );
  });
});
