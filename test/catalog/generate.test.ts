import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Catalog } from '../../src/catalog/catalog.js';
import { DdfError, parseDdf } from '../../src/catalog/ddf-parse.js';
import { parseRange } from '../../src/catalog/ddf-values.js';
import {
  buildCatalog,
  readDdfFolder,
  serializeCatalog,
  writeCatalogDir,
} from '../../src/catalog/generate.js';
import { XmlError } from '../../src/codec/xml.js';

const FIXTURES = join(import.meta.dirname, 'fixtures', 'ddf');
const inputs = readDdfFolder(FIXTURES);
const { catalog, warnings } = buildCatalog(inputs, { repository: 'example/ddf', commit: 'a'.repeat(40) });
const node = (path: string) => catalog.nodes.find((n) => n.path === path);

describe('DDF fixtures → catalog', () => {
  it('reads every file and counts every <Node> element and every non-node leaf', () => {
    expect(inputs.map((i) => i.name)).toEqual([
      'Gadget.xml',
      'Info.xml',
      'Policy.xml',
      'Widgets_AreaDDF.xml',
    ]);
    // like Microsoft's files: UTF-8 BOM, CRLF line ends, a DOCTYPE with an internal subset
    for (const { text } of inputs) {
      expect(text.charCodeAt(0)).toBe(0xfeff);
      expect(text).toContain('\r\n');
      expect(text).toContain('<!DOCTYPE MgmtTree');
    }
    expect(catalog.stats).toEqual({ files: 4, nodes: 21, leaves: 11, csps: 3, policyAreas: 1 });
    expect(catalog.nodes).toHaveLength(21);
    expect(catalog.duplicates).toEqual([]);
    expect(warnings).toEqual([]);
  });

  it('sorts nodes by path (code-unit order)', () => {
    const paths = catalog.nodes.map((n) => n.path);
    expect(paths).toEqual([...paths].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    expect(paths[0]).toBe('./Device/Vendor/MSFT/Gadget');
  });

  it('an ENUM int node: format, access, default, values, applicability, trimmed description', () => {
    expect(node('./Device/Vendor/MSFT/Gadget/Mode')).toEqual({
      path: './Device/Vendor/MSFT/Gadget/Mode',
      aliases: ['./Vendor/MSFT/Gadget/Mode'],
      csp: 'Gadget',
      scope: 'device',
      format: 'int',
      access: ['Get', 'Add', 'Replace', 'Delete'],
      mime: 'text/plain',
      defaultValue: '1',
      description: 'How the gadget runs.\nPick one of the values below.',
      allowed: {
        kind: 'enum',
        values: [
          { value: '0', description: 'Off' },
          { value: '1', description: 'On & watching' },
        ],
      },
      applicability: { minOsBuild: '10.0.19041', cspVersion: '1.0' },
      occurrence: 'ZeroOrOne',
      conflictResolution: 'LastWrite',
      source: 'Gadget.xml',
    });
  });

  it('root applicability: lowest build as minimum, every build kept, editions in decimal', () => {
    expect(node('./Device/Vendor/MSFT/Gadget')?.applicability).toEqual({
      minOsBuild: '10.0.19041.1202',
      cspVersion: '2.0',
      editions: ['4', '48', '136*'],
      osBuilds: ['10.0.22000', '10.0.19043.1202', '10.0.19041.1202'],
    });
  });

  it('Range with a negative bound, and its dependency on another node', () => {
    const timeout = node('./Device/Vendor/MSFT/Gadget/Timeout')!;
    expect(timeout.allowed).toEqual({ kind: 'range', min: -1, max: 1440, raw: '[(-1)-1440]' });
    expect(timeout.access).toEqual(['Get', 'Replace']);
    expect(timeout.dependencies).toEqual([
      {
        type: 'DependsOn',
        path: 'Device/Vendor/MSFT/Gadget/Mode',
        value: '1',
        valueType: 'ENUM',
        changedAllowed: { kind: 'range', min: 1, max: 60, raw: '[1-60]' },
      },
    ]);
  });

  it('Flag values and deprecation', () => {
    const features = node('./Device/Vendor/MSFT/Gadget/Features')!;
    expect(features.allowed).toEqual({
      kind: 'flag',
      values: [
        { value: '1', description: 'Lights' },
        { value: '2', description: 'Sound' },
      ],
    });
    expect(features.applicability).toEqual({ deprecatedIn: '10.0.26100' });
  });

  it('dynamic node named after its DFTitle, its children marked dynamic, RegEx kept verbatim', () => {
    const owner = node('./Device/Vendor/MSFT/Gadget/Owners/{OwnerID}')!;
    expect(owner).toMatchObject({ format: 'node', dynamic: true, occurrence: 'ZeroOrMore' });
    expect(owner.title).toBeUndefined();
    expect(node('./Device/Vendor/MSFT/Gadget/Owners')?.dynamic).toBeUndefined();
    expect(node('./Device/Vendor/MSFT/Gadget/Owners/{OwnerID}/Email')).toMatchObject({
      dynamic: true,
      allowed: { kind: 'regex', pattern: '^[^@\\s]+@[^@\\s]+$' },
    });
  });

  it('Exec node with null format', () => {
    expect(node('./Device/Vendor/MSFT/Gadget/Reset')).toMatchObject({ format: 'null', access: ['Exec'] });
  });

  it('user scope: no alias, CDATA description, ValueType None gives no allowed values', () => {
    const greeting = node('./User/Vendor/MSFT/Gadget/Greeting')!;
    expect(greeting).toMatchObject({ scope: 'user', format: 'chr', description: 'Text shown at <logon>.' });
    expect(greeting.aliases).toBeUndefined();
    expect(greeting.allowed).toBeUndefined();
  });

  it('rootless CSP under Path "." (comment before the DOCTYPE, ENTITY in the subset)', () => {
    expect(node('./Info/SwV')).toMatchObject({
      csp: 'Info',
      scope: 'rootless',
      format: 'chr',
      access: ['Get'],
    });
    expect(node('./Info/SwV')?.aliases).toBeUndefined();
  });

  it('Policy area DDF: device and user roots, area recorded, ADMX-backed values, Group Policy mapping', () => {
    expect(node('./User/Vendor/MSFT/Policy/Config/Widgets/AllowWidgets')).toMatchObject({
      csp: 'Policy',
      area: 'Widgets',
      scope: 'user',
      applicability: { minOsBuild: '10.0.22621', cspVersion: '5.0', editions: ['4', '48'] },
      gpMapping: { name: 'AllowWidgets', areaPath: 'Widgets~AT~WindowsComponents~Widgets' },
    });
    expect(node('./Device/Vendor/MSFT/Policy/Config/Widgets')).toMatchObject({
      area: 'Widgets',
      format: 'node',
      access: ['Get', 'Add', 'Delete'],
    });
    expect(node('./Device/Vendor/MSFT/Policy/Config/Widgets/WidgetFeed')?.allowed).toEqual({
      kind: 'admx',
      admxFile: 'Widgets.admx',
      area: 'Widgets',
      category: 'Widgets~AT~WindowsComponents~Widgets',
      policy: 'WidgetFeed',
    });
  });

  it('Policy skeleton: dynamic area and policy names, no area recorded', () => {
    const generic = node('./Device/Vendor/MSFT/Policy/Config/{AreaName}/{PolicyName}')!;
    expect(generic).toMatchObject({ csp: 'Policy', dynamic: true, format: 'chr' });
    expect(generic.area).toBeUndefined();
  });
});

describe('determinism and output files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'catalog-gen-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('same input in any order gives the same bytes', () => {
    const again = buildCatalog([...inputs].reverse(), { repository: 'example/ddf', commit: 'a'.repeat(40) });
    expect(serializeCatalog(again.catalog)).toBe(serializeCatalog(catalog));
  });

  // After an intentional format change, refresh the golden file with
  //   npx tsx src/catalog/generate-cli.ts test/catalog/fixtures/ddf --out /tmp/golden \
  //     --repository example/ddf --commit aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
  // and copy /tmp/golden/catalog.json to test/catalog/fixtures/catalog.golden.txt (review the diff).
  it('matches the committed golden file (one node per line)', () => {
    const golden = readFileSync(join(import.meta.dirname, 'fixtures', 'catalog.golden.txt'), 'utf8');
    expect(serializeCatalog(catalog)).toBe(golden);
    expect(golden.split('\n').filter((l) => l.startsWith('{"path":'))).toHaveLength(21);
  });

  it('writes catalog.json and ATTRIBUTION.md that the loader reads back', () => {
    const written = writeCatalogDir(dir, catalog);
    expect(written).toEqual(['catalog.json', 'ATTRIBUTION.md']);
    const attribution = readFileSync(join(dir, 'ATTRIBUTION.md'), 'utf8');
    expect(attribution).toContain('https://github.com/example/ddf');
    expect(attribution).toContain(`Commit: ${'a'.repeat(40)}`);
    expect(attribution).toContain('CC-BY-4.0');
    expect(attribution).toContain('© Microsoft Corporation');
    const loaded = Catalog.load(dir);
    expect(loaded.info.stats).toEqual(catalog.stats);
    expect(loaded.get('./Info/SwV')?.format).toBe('chr');
  });
});

describe('robustness', () => {
  const wrap = (body: string) =>
    `\uFEFF<?xml version="1.0"?>\r\n<!DOCTYPE MgmtTree [<!ENTITY x "boom">]>\r\n<MgmtTree>${body}</MgmtTree>`;

  it('a file whose root is not MgmtTree is a DdfError', () => {
    expect(() => parseDdf('<xs:schema xmlns:xs="x"/>', 'DDFv2.xsd')).toThrow(DdfError);
  });

  it('malformed XML is an XmlError, not a crash', () => {
    expect(() => parseDdf(wrap('<Node><NodeName>A</NodeName>'), 'Bad.xml')).toThrow(XmlError);
  });

  it('the generator names the file that failed', () => {
    const bad = { name: 'Broken.xml', text: wrap('<Node>') };
    expect(() => buildCatalog([...inputs, bad])).toThrow(DdfError);
    expect(() => buildCatalog([...inputs, bad])).toThrow(/^Broken\.xml: malformed XML/);
  });

  it('entities declared in the DOCTYPE are never expanded', () => {
    const text = wrap(
      '<Node><NodeName>A</NodeName><Path>./Vendor/MSFT</Path><DFProperties><AccessType><Get/></AccessType>' +
        '<Description>&x;</Description><DFFormat><chr/></DFFormat></DFProperties></Node>',
    );
    let description: string | undefined;
    try {
      description = parseDdf(text, 'Entity.xml').nodes[0]?.description;
    } catch (err) {
      expect(err).toBeInstanceOf(XmlError);
    }
    expect(description ?? '').not.toContain('boom');
  });

  it('an old DDF v1 shape (no MSFT extensions, unknown format, untitled dynamic node) still parses, with warnings', () => {
    const text = wrap(
      '<Node><NodeName>Old</NodeName><Path>./Vendor/MSFT/</Path><DFProperties><AccessType><Get/></AccessType>' +
        '<DFFormat><node/></DFFormat></DFProperties>' +
        '<Node><NodeName/><DFProperties><AccessType><Get/><Replace/></AccessType><DFFormat><weird/></DFFormat>' +
        '</DFProperties></Node></Node>',
    );
    const result = parseDdf(text, 'Old.xml');
    expect(result.roots).toEqual(['./Vendor/MSFT/Old']);
    expect(result.nodes.map((n) => [n.path, n.format, n.scope])).toEqual([
      ['./Vendor/MSFT/Old', 'node', 'device'],
      ['./Vendor/MSFT/Old/{Name}', 'chr', 'device'],
    ]);
    expect(result.nodes[0]?.aliases).toEqual(['./Device/Vendor/MSFT/Old']);
    expect(result.warnings).toHaveLength(2);
  });

  it('parses DDF range notations', () => {
    expect(parseRange('[0-4294967295]')).toEqual({
      kind: 'range',
      min: 0,
      max: 4294967295,
      raw: '[0-4294967295]',
    });
    expect(parseRange('[1]')).toEqual({ kind: 'range', min: 1, max: 1, raw: '[1]' });
    expect(parseRange('[6,17]')).toEqual({
      kind: 'range',
      min: 6,
      max: 17,
      raw: '[6,17]',
      intervals: [
        [6, 6],
        [17, 17],
      ],
    });
    expect(parseRange('0-5')).toBeUndefined();
    expect(parseRange('[a-b]')).toBeUndefined();
  });
});
