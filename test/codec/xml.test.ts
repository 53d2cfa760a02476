import { describe, expect, it } from 'vitest';
import { el, renderXml } from '../../src/codec/soap/writer.js';
import { attr, childElements, escapeXml, parseXml, path, textOf, XmlError } from '../../src/codec/xml.js';

function xmlError(fn: () => unknown): XmlError {
  try {
    fn();
  } catch (err) {
    if (err instanceof XmlError) return err;
    throw err;
  }
  throw new Error('expected an XmlError');
}

describe('parseXml (hardened)', () => {
  it('resolves namespaces by URI and keeps order and raw text', () => {
    const doc = parseXml(
      '<s:Envelope xmlns:s="urn:soap" xmlns:a="urn:addr"><s:Body><a:X a:n="1">0123</a:X><Y/><a:X>b</a:X></s:Body></s:Envelope>',
    );
    expect(doc.ns).toBe('urn:soap');
    const body = path(doc, 'Body')!;
    expect(body.children.map((c) => (typeof c === 'string' ? c : c.local))).toEqual(['X', 'Y', 'X']);
    const xs = childElements(body, 'X', 'urn:addr');
    expect(xs.map(textOf)).toEqual(['0123', 'b']);
    expect(attr(xs[0]!, 'n', 'urn:addr')).toBe('1');
  });

  it('accepts a UTF-8 BOM and an XML declaration', () => {
    expect(parseXml('\ufeff<?xml version="1.0"?><a>1</a>').local).toBe('a');
  });

  it('refuses a DOCTYPE (entity expansion, external entities)', () => {
    const billion = '<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><x>&b;</x>';
    expect(xmlError(() => parseXml(billion)).code).toBe('doctype');
    const xxe = '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>';
    expect(xmlError(() => parseXml(xxe)).code).toBe('doctype');
  });

  it('refuses deep nesting, oversized input and malformed XML', () => {
    const deep = '<a>'.repeat(100) + '</a>'.repeat(100);
    expect(xmlError(() => parseXml(deep)).code).toBe('too-deep');
    expect(xmlError(() => parseXml(`<a>${'x'.repeat(2000)}</a>`, { maxBytes: 1000 })).code).toBe('too-large');
    const bad = xmlError(() => parseXml('<a><b></a>'));
    expect(bad.code).toBe('malformed');
    expect(bad.message).toMatch(/malformed XML at 1:/);
    expect(xmlError(() => parseXml('   ')).code).toBe('empty');
  });

  it('refuses an undeclared entity, a bare "&" and "]]>" in text, as XML 1.0 does', () => {
    for (const doc of ['<a>&unknown;</a>', '<a>x & y</a>', '<a b="&nbsp;"/>', '<a>]]></a>']) {
      const err = xmlError(() => parseXml(doc));
      expect(err.code, doc).toBe('malformed');
      expect(err.message, doc).toMatch(/^malformed XML at 1:\d+: /);
    }
    expect(xmlError(() => parseXml('<a>\n x&copy;</a>')).message).toMatch(/at 2:3:/);
    const ok = parseXml(
      '<a b="]]> &amp;">&lt;&amp;&#38;&#x26;<![CDATA[&raw; ]]]]><![CDATA[>]]><!-- &c; --></a>',
    );
    expect(textOf(ok)).toBe('<&&&&raw; ]]>');
    expect(attr(ok, 'b')).toBe(']]> &');
  });

  it('escapes text for writing', () => {
    expect(escapeXml('a<b & "c"')).toBe('a&lt;b &amp; &quot;c&quot;');
    expect(escapeXml('plain')).toBe('plain');
  });
});

describe('XmlError', () => {
  it('keeps the raw text without serialising it', () => {
    const err = xmlError(() => parseXml('<a><Password>hunter2</Password>'));
    expect(err.raw).toContain('hunter2');
    expect(JSON.stringify(err)).not.toContain('hunter2');
  });
});

describe('renderXml', () => {
  it('writes every "&" as "&amp;", also before something shaped like a reference', () => {
    const out = renderXml(el('a', { x: '&foo; &#65;' }, '&unknown;]]> &amp; <'));
    expect(out).toBe('<a x="&amp;foo; &amp;#65;">&amp;unknown;]]&gt; &amp;amp; &lt;</a>');
    const back = parseXml(out);
    expect(textOf(back)).toBe('&unknown;]]> &amp; <');
    expect(attr(back, 'x')).toBe('&foo; &#65;');
  });
});
