// The XML 1.0 character rule (src/codec/xml-chars.ts) and how every reader and writer in
// src/codec applies it: readers refuse forbidden characters raw or as character references,
// writers can never emit one.
import { describe, expect, it } from 'vitest';
import { buildDiscoverResponse } from '../../src/codec/soap/discovery.js';
import { parseSoapRequest } from '../../src/codec/soap/envelope.js';
import { EnrollmentFault, renderFault } from '../../src/codec/soap/faults.js';
import { buildProvisioningDoc, parseProvisioningDoc } from '../../src/codec/soap/provisioning.js';
import { encodeSyncMl, parseSyncMl, SyncMlError } from '../../src/codec/syncml/index.js';
import { scanXml } from '../../src/codec/syncml/scan.js';
import { escapeXml, parseXml, textOf, XmlError } from '../../src/codec/xml.js';
import {
  decodeCharRef,
  decodeUtf8,
  findIllegalXmlChar,
  isXmlChar,
  toXmlChars,
} from '../../src/codec/xml-chars.js';
import { wellFormedError } from '../support/strict-xml.js';

const FORBIDDEN_RAW = [
  '\u0000',
  '\u0001',
  '\u0008',
  '\u000b',
  '\u000c',
  '\u001b',
  '\u001f',
  '\uD800',
  '\uDFFF',
  '\uFFFE',
  '\uFFFF',
];
const FORBIDDEN_REFS = [
  '&#0;',
  '&#x0;',
  '&#1;',
  '&#x1F;',
  '&#xD800;',
  '&#56320;',
  '&#xFFFE;',
  '&#65535;',
  '&#x110000;',
  '&#99999999;',
  '&#x;',
  '&#;',
  '&#xZZ;',
];
const LEGAL = [
  '\t',
  '\n',
  '\r',
  ' ',
  '\u007f',
  '\u0085',
  '\uD7FF',
  '\uE000',
  '\uFFFD',
  '\u{10000}',
  '\u{1F600}',
  '\u{10FFFF}',
];

describe('the XML 1.0 Char production', () => {
  it('allows TAB, LF, CR, U+0020–U+D7FF, U+E000–U+FFFD and U+10000–U+10FFFF only', () => {
    for (const cp of [0x9, 0xa, 0xd, 0x20, 0x7f, 0x85, 0xd7ff, 0xe000, 0xfffd, 0x10000, 0x10ffff])
      expect(isXmlChar(cp), cp.toString(16)).toBe(true);
    for (const cp of [0x0, 0x1, 0x8, 0xb, 0xc, 0x1f, 0xd800, 0xdfff, 0xfffe, 0xffff, 0x110000])
      expect(isXmlChar(cp), cp.toString(16)).toBe(false);
  });

  it('finds forbidden characters, lone surrogates included, and leaves pairs alone', () => {
    for (const c of FORBIDDEN_RAW)
      expect(findIllegalXmlChar(`ab${c}`)).toEqual({ index: 2, codePoint: c.codePointAt(0) });
    for (const c of LEGAL) expect(findIllegalXmlChar(`ab${c}`)).toBeUndefined();
    expect(toXmlChars('a\u0000b\uD800c\u{1F600}')).toBe('a\uFFFDb\uFFFDc\u{1F600}');
  });

  it('decodes character references to legal characters only', () => {
    expect(decodeCharRef('#x41')).toBe(0x41);
    expect(decodeCharRef('#65')).toBe(65);
    expect(decodeCharRef('#x0001F600')).toBe(0x1f600);
    for (const ref of FORBIDDEN_REFS) expect(decodeCharRef(ref.slice(1, -1)), ref).toBeUndefined();
  });

  it('decodes UTF-8 strictly', () => {
    expect(decodeUtf8(Buffer.from('grüß'))).toBe('grüß');
    for (const bytes of [[0xc3, 0x28], [0xed, 0xa0, 0x80], [0xc0, 0x80], [0xff]])
      expect(decodeUtf8(Buffer.from(bytes))).toBeUndefined();
  });
});

describe('the readers refuse forbidden characters', () => {
  const readers: [string, (xml: string | Buffer) => unknown][] = [
    ['parseXml', (xml) => parseXml(xml)],
    ['scanXml', (xml) => scanXml(xml, { maxBytes: 1 << 20, maxDepth: 16 })],
  ];
  for (const [name, read] of readers) {
    it(`${name}: raw, in text and in attributes`, () => {
      for (const c of FORBIDDEN_RAW) {
        for (const xml of [`<a>x${c}y</a>`, `<a b="x${c}"/>`, `<a><!-- ${c} --></a>`]) {
          expect(() => read(xml), JSON.stringify(xml)).toThrow(XmlError);
        }
      }
    });

    it(`${name}: as character references, in text and in attributes`, () => {
      for (const ref of FORBIDDEN_REFS) {
        for (const xml of [`<a>x${ref}y</a>`, `<a b="${ref}"/>`]) {
          expect(() => read(xml), xml).toThrow(XmlError);
        }
      }
    });

    it(`${name}: bytes that are not UTF-8`, () => {
      expect(() => read(Buffer.from([0x3c, 0x61, 0x3e, 0xed, 0xa0, 0x80, 0x3c, 0x2f, 0x61, 0x3e]))).toThrow(
        XmlError,
      );
    });

    it(`${name}: decodes legal references, markup characters included`, () => {
      const el = read('<a b="&#x22;&#60;">&#x41;&#66;&#x1F600;&#38;amp;&#60;b&#62;&#9;</a>') as ReturnType<
        typeof parseXml
      >;
      expect(textOf(el)).toBe('AB\u{1F600}&amp;<b>\t');
      expect(el.attrs.b).toBe('"<');
    });
  }

  it('parseXml keeps a reference inside CDATA as text', () => {
    expect(textOf(parseXml('<a><![CDATA[&#1;]]></a>'))).toBe('&#1;');
  });

  it('the SOAP and SyncML parsers turn it into their own error, without the input in the message', () => {
    let fault: unknown;
    try {
      parseSoapRequest(
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope">secret&#1;</s:Envelope>',
        {
          maxBytes: 1 << 20,
        },
      );
    } catch (err) {
      fault = err;
    }
    expect(fault).toBeInstanceOf(EnrollmentFault);
    expect((fault as EnrollmentFault).message).toBe(
      'invalid XML: the request holds characters XML 1.0 does not allow',
    );
    expect((fault as EnrollmentFault).logDetail).toMatchObject({ xmlError: 'illegal-char' });
    expect(() => parseSyncMl('<SyncML xmlns="SYNCML:SYNCML1.2">&#0;</SyncML>')).toThrow(SyncMlError);
  });
});

describe('the writers never emit a forbidden character', () => {
  const dirty = `x${FORBIDDEN_RAW.join('')}<&>"'y`;

  it('escapeXml', () => {
    expect(wellFormedError(`<a b="${escapeXml(dirty)}">${escapeXml(dirty)}</a>`)).toBeUndefined();
  });

  it('the SOAP writer (faults, DiscoverResponse)', () => {
    const fault = renderFault(new EnrollmentFault('MessageFormat', dirty), {
      action: 'urn:a',
      relatesTo: dirty,
      traceId: dirty,
    });
    expect(wellFormedError(fault)).toBeUndefined();
    const discover = buildDiscoverResponse({
      relatesTo: dirty,
      activityId: dirty,
      authPolicy: dirty,
      enrollmentVersion: '5.0',
      enrollmentPolicyServiceUrl: dirty,
      enrollmentServiceUrl: dirty,
    });
    expect(wellFormedError(discover)).toBeUndefined();
    expect(discover).toContain('<a:RelatesTo>x\uFFFD');
  });

  it('the provisioning doc (xmlbuilder2, wellFormed)', () => {
    const entry = { thumbprint: 'AA'.repeat(20), der: Buffer.alloc(4, 1) };
    const doc = buildProvisioningDoc({
      ca: entry,
      client: entry,
      enrollmentType: 'Full',
      deviceId: 'D1',
      providerId: 'P',
      accountName: dirty,
      managementUrl: dirty,
      digest: { appSrvName: dirty, appSrvSecret: 's', appSrvNonce: 'n', clientSecret: 's', clientNonce: 'n' },
      entDmId: 'e',
      deviceName: dirty,
      poll: { firstCount: 1, firstIntervalMinutes: 1, intervalMinutes: 1 },
      renewal: { renewPeriodDays: 1, retryIntervalDays: 1, serverUrl: dirty },
    });
    expect(doc.startsWith('<?xml version="1.0" encoding="UTF-8"?><wap-provisioningdoc version="1.1">')).toBe(
      true,
    );
    expect(wellFormedError(doc)).toBeUndefined();
    expect(parseProvisioningDoc(doc).type).toBe('wap-provisioningdoc');
  });

  it('the SyncML writer (header and commands)', () => {
    const xml = encodeSyncMl({
      header: { sessionId: dirty, msgId: 1, target: dirty, source: dirty, respUri: dirty },
      commands: [
        {
          kind: 'Status',
          cmdId: 1,
          msgRef: 1,
          cmdRef: 0,
          cmd: 'SyncHdr',
          data: dirty,
          targetRefs: [dirty],
          sourceRefs: [dirty],
        },
        {
          kind: 'Replace',
          cmdId: 2,
          meta: { format: dirty, type: dirty },
          items: [{ target: dirty, data: dirty }],
        },
        { kind: 'Results', cmdId: 3, msgRef: 1, cmdRef: 2, items: [{ source: dirty, data: dirty }] },
      ],
      final: true,
    });
    expect(wellFormedError(xml)).toBeUndefined();
    expect(parseSyncMl(xml).header.sessionId).toBe(toXmlChars(dirty));
  });
});
