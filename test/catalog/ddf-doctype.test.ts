import { describe, expect, it } from 'vitest';
import { DoctypeError, stripDoctype } from '../../src/catalog/ddf-doctype.js';
import { parseXml, XmlError } from '../../src/codec/xml.js';

const DDF_HEADER =
  '\uFEFF<?xml version="1.0" encoding="UTF-8"?>\r\n' +
  '<!DOCTYPE MgmtTree PUBLIC " -//OMA//DTD-DM-DDF 1.2//EN"\r\n' +
  '  "http://www.openmobilealliance.org/tech/DTD/DM_DDF-V1_2.dtd"\r\n' +
  '  [<?oma-dm-ddf-ver supported-versions="1.2"?>]>\r\n';

describe('stripDoctype', () => {
  it('removes the BOM and the DDF DOCTYPE with its internal subset, keeping the rest byte for byte', () => {
    const body = '<MgmtTree><VerDTD>1.2</VerDTD></MgmtTree>\r\n';
    const out = stripDoctype(DDF_HEADER + body);
    expect(out).toBe('<?xml version="1.0" encoding="UTF-8"?>\r\n\r\n' + body);
    expect(parseXml(out).local).toBe('MgmtTree');
  });

  it('leaves a document without DOCTYPE unchanged (apart from the BOM)', () => {
    expect(stripDoctype('\uFEFF<a/>')).toBe('<a/>');
    expect(stripDoctype('<?xml version="1.0"?><!-- c --><a>[x]></a>')).toBe(
      '<?xml version="1.0"?><!-- c --><a>[x]></a>',
    );
  });

  it('skips quoted strings, comments and PIs containing ] and > inside the subset', () => {
    const text =
      '<?xml version="1.0"?><!-- lead --><!DOCTYPE r SYSTEM "a>b.dtd" [\n' +
      '  <!-- ] > -->\n  <?pi ] > ?>\n  <!ENTITY e "x]>y">\n  <!ATTLIST r a CDATA \'q]>\'>\n]><r>&amp;</r>';
    expect(stripDoctype(text)).toBe('<?xml version="1.0"?><!-- lead --><r>&amp;</r>');
  });

  it('drops entity declarations so nothing expands: a billion-laughs body stays an unresolved reference', () => {
    const laughs =
      '<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">' +
      '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><r>&c;</r>';
    const stripped = stripDoctype(laughs);
    expect(stripped).toBe('<r>&c;</r>');
    let text = '';
    try {
      text = JSON.stringify(parseXml(stripped));
    } catch (err) {
      expect(err).toBeInstanceOf(XmlError);
    }
    expect(text).not.toContain('aaaa');
  });

  it('does not touch a DOCTYPE after the root element starts (the XML parser rejects it)', () => {
    const text = '<r><!DOCTYPE x></r>';
    expect(stripDoctype(text)).toBe(text);
    expect(() => parseXml(text)).toThrow(XmlError);
  });

  it('a second DOCTYPE is still refused by parseXml', () => {
    const text = '<!DOCTYPE a><!DOCTYPE b [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>';
    expect(() => parseXml(stripDoctype(text))).toThrow(/DOCTYPE/);
  });

  it('reports an unterminated declaration', () => {
    expect(() => stripDoctype('<!DOCTYPE r [ <!ENTITY a "x"> <r/>')).toThrow(DoctypeError);
    expect(() => stripDoctype('<!DOCTYPE r "unclosed>')).toThrow(DoctypeError);
    expect(() => stripDoctype('<!-- never closed <!DOCTYPE r>')).toThrow(DoctypeError);
  });
});
