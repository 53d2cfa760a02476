import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Catalog } from '../../src/catalog/catalog.js';
import { CatalogLoadError } from '../../src/catalog/catalog-file.js';
import { buildCatalog, readDdfFolder } from '../../src/catalog/generate.js';
import type { CatalogNode } from '../../src/catalog/types.js';

const { catalog: file } = buildCatalog(readDdfFolder(join(import.meta.dirname, 'fixtures', 'ddf')));
const catalog = Catalog.fromFile(file);

describe('Catalog lookups', () => {
  it('get: exact canonical path or alias, O(1) map, nothing else', () => {
    const mode = catalog.get('./Device/Vendor/MSFT/Gadget/Mode');
    expect(mode?.format).toBe('int');
    expect(catalog.get('./Vendor/MSFT/Gadget/Mode')).toBe(mode);
    expect(catalog.get('./device/Vendor/MSFT/Gadget/Mode')).toBeUndefined();
    expect(catalog.get('./Device/Vendor/MSFT/Gadget/Owners/me/Email')).toBeUndefined();
  });

  it('resolve: scope spellings (./Device, ./device, no prefix), trailing slash, percent-encoding', () => {
    const mode = catalog.get('./Device/Vendor/MSFT/Gadget/Mode')!;
    for (const p of [
      './Device/Vendor/MSFT/Gadget/Mode',
      './device/Vendor/MSFT/Gadget/Mode',
      './DEVICE/Vendor/MSFT/Gadget/Mode/',
      './Vendor/MSFT/Gadget/Mode',
      './Vendor/MSFT/Gadget/%4Dode',
    ]) {
      expect(catalog.resolve(p), p).toBe(mode);
    }
    expect(catalog.resolve('./user/Vendor/MSFT/Gadget/Greeting')?.path).toBe(
      './User/Vendor/MSFT/Gadget/Greeting',
    );
    // user-scope nodes are not reachable through the device spellings, nor the reverse
    expect(catalog.resolve('./Vendor/MSFT/Gadget/Greeting')).toBeUndefined();
    expect(catalog.resolve('./User/Vendor/MSFT/Gadget/Mode')).toBeUndefined();
  });

  it('resolve: concrete values for dynamic segments, but a misspelt static name stays unknown', () => {
    expect(catalog.resolve('./Vendor/MSFT/Gadget/Owners/alice/Email')?.path).toBe(
      './Device/Vendor/MSFT/Gadget/Owners/{OwnerID}/Email',
    );
    expect(catalog.resolve('./Device/Vendor/MSFT/Gadget/Owners/%7BOwnerID%7D')?.path).toBe(
      './Device/Vendor/MSFT/Gadget/Owners/{OwnerID}',
    );
    expect(catalog.resolve('./Device/Vendor/MSFT/Gadget/Owners/alice/Phone')).toBeUndefined();
    expect(catalog.resolve('./Device/Vendor/MSFT/Gadget/Mood')).toBeUndefined();
    expect(catalog.resolve('./Device/Vendor/MSFT/Gadget/Owners//Email')).toBeUndefined();
  });

  it('garbage paths are unknown, never an exception', () => {
    for (const p of [
      '',
      '.',
      './',
      '/',
      '%',
      './%E0%A4%A',
      '{x}',
      './{x}/{y}',
      `./${'a/'.repeat(5000)}`,
      '\u0000',
    ]) {
      expect(catalog.resolve(p), JSON.stringify(p)).toBeUndefined();
      expect(Array.isArray(catalog.closest(p))).toBe(true);
      expect(catalog.children(p)).toEqual([]);
    }
    // DDF dependency URIs are written without `./`
    expect(catalog.resolve('Device/Vendor/MSFT/Gadget/Mode')?.path).toBe('./Device/Vendor/MSFT/Gadget/Mode');
  });

  it('rootless paths resolve as written only', () => {
    expect(catalog.resolve('./Info/SwV')?.scope).toBe('rootless');
    expect(catalog.resolve('./Device/Info/SwV')).toBeUndefined();
  });

  it('Policy: Config nodes are writable settings; Result twins are derived read-only', () => {
    const config = catalog.resolve('./Vendor/MSFT/Policy/Config/Widgets/AllowWidgets')!;
    expect(config.access).toEqual(['Get', 'Add', 'Replace', 'Delete']);
    const result = catalog.resolve('./Vendor/MSFT/Policy/Result/Widgets/AllowWidgets')!;
    expect(result).toMatchObject({
      path: './Device/Vendor/MSFT/Policy/Result/Widgets/AllowWidgets',
      access: ['Get'],
      derivedFrom: './Device/Vendor/MSFT/Policy/Config/Widgets/AllowWidgets',
      format: 'int',
      allowed: config.allowed,
    });
    expect(catalog.get('./User/Vendor/MSFT/Policy/Result/Widgets/AllowWidgets')?.scope).toBe('user');
    expect(catalog.get('./User/Vendor/MSFT/Policy/Result/Widgets/WidgetFeed')).toBeUndefined();
    expect(catalog.policy('Widgets', 'AllowWidgets', 'user')?.path).toBe(
      './User/Vendor/MSFT/Policy/Config/Widgets/AllowWidgets',
    );
  });

  it('Policy: a misspelt policy in a known area is unknown, an ingested ADMX area matches the skeleton', () => {
    expect(catalog.resolve('./Device/Vendor/MSFT/Policy/Config/Widgets/AllowWidget')).toBeUndefined();
    expect(catalog.resolve('./Device/Vendor/MSFT/Policy/Config/Widgetz/AllowWidgets')).toBeUndefined();
    expect(catalog.resolve('./Device/Vendor/MSFT/Policy/Config/Contoso~Policy~Apps/Setting')?.path).toBe(
      './Device/Vendor/MSFT/Policy/Config/{AreaName}/{PolicyName}',
    );
  });

  it('all(): DDF nodes plus derived Result nodes, sorted, each once', () => {
    const all = catalog.all();
    expect(all).toHaveLength(21 + 5);
    const paths = all.map((n) => n.path);
    expect(new Set(paths).size).toBe(paths.length);
    expect(paths).toEqual([...paths].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    expect(all.filter((n) => n.derivedFrom).map((n) => n.path)).toEqual([
      './Device/Vendor/MSFT/Policy/Result/Widgets',
      './Device/Vendor/MSFT/Policy/Result/Widgets/AllowWidgets',
      './Device/Vendor/MSFT/Policy/Result/Widgets/WidgetFeed',
      './User/Vendor/MSFT/Policy/Result/Widgets',
      './User/Vendor/MSFT/Policy/Result/Widgets/AllowWidgets',
    ]);
  });

  it('children(): named children then the dynamic one, through any spelling', () => {
    expect(catalog.children('./Vendor/MSFT/Gadget').map((n) => n.path)).toEqual(
      [
        './Device/Vendor/MSFT/Gadget/Mode',
        './Device/Vendor/MSFT/Gadget/Timeout',
        './Device/Vendor/MSFT/Gadget/Features',
        './Device/Vendor/MSFT/Gadget/Owners',
        './Device/Vendor/MSFT/Gadget/Reset',
      ].sort(),
    );
    expect(catalog.children('./device/Vendor/MSFT/Gadget/Owners').map((n) => n.path)).toEqual([
      './Device/Vendor/MSFT/Gadget/Owners/{OwnerID}',
    ]);
    expect(catalog.children('./Vendor/MSFT/Gadget/Owners/bob').map((n) => n.path)).toEqual([
      './Device/Vendor/MSFT/Gadget/Owners/{OwnerID}/Email',
    ]);
    expect(catalog.children('./Nope')).toEqual([]);
  });

  it('search(): every word must match; leaf names rank above descriptions; Result twins left out', () => {
    expect(catalog.search('widgets allow').map((n) => n.path)).toEqual([
      './Device/Vendor/MSFT/Policy/Config/Widgets/AllowWidgets',
      './User/Vendor/MSFT/Policy/Config/Widgets/AllowWidgets',
    ]);
    const timeout = catalog.search('sleeps');
    expect(timeout.map((n) => n.path)).toEqual(['./Device/Vendor/MSFT/Gadget/Timeout']);
    const gadget = catalog.search('gadget', 3).map((n) => n.path);
    expect(gadget).toHaveLength(3);
    expect(gadget[0]).toBe('./Device/Vendor/MSFT/Gadget');
    expect(catalog.search('gadget zebra')).toEqual([]);
    expect(catalog.search('  ')).toEqual([]);
  });

  it('closest(): siblings first for a typo in the last segment, then similar paths anywhere', () => {
    // only names within a few edits are offered: "Reset" or "Owners" are not "Mood"
    expect(catalog.closest('./Device/Vendor/MSFT/Gadget/Mood', 3)).toEqual([
      './Device/Vendor/MSFT/Gadget/Mode',
    ]);
    expect(catalog.closest('./Device/Vendor/MSFT/Gadget/Timout')[0]).toBe(
      './Device/Vendor/MSFT/Gadget/Timeout',
    );
    expect(catalog.closest('./Device/Vendor/MSFT/Gadget/Owners/x/Emial')[0]).toBe(
      './Device/Vendor/MSFT/Gadget/Owners/{OwnerID}/Email',
    );
    expect(catalog.closest('./Vendor/MSFT/Policy/Config/Widgetz/AllowWidgets', 1)).toEqual([
      './Device/Vendor/MSFT/Policy/Config/Widgets/AllowWidgets',
    ]);
    expect(catalog.closest('./User/Vendor/MSFT/Gadget/Greting', 1)).toEqual([
      './User/Vendor/MSFT/Gadget/Greeting',
    ]);
    expect(catalog.closest('./Device/Vendor/MSFT/Policy/Result/Widgets/AllowWidget', 1)).toEqual([
      './Device/Vendor/MSFT/Policy/Result/Widgets/AllowWidgets',
    ]);
  });
});

describe('Catalog.fromNodes / load', () => {
  const dir = mkdtempSync(join(tmpdir(), 'catalog-load-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('fromNodes accepts unsorted hand-written nodes', () => {
    const nodes: CatalogNode[] = [
      { path: './Vendor/MSFT/Z/B', csp: 'Z', scope: 'device', format: 'int', access: ['Get'], source: 't' },
      { path: './Vendor/MSFT/Z', csp: 'Z', scope: 'device', format: 'node', access: ['Get'], source: 't' },
    ];
    const small = Catalog.fromNodes(nodes);
    expect(small.all().map((n) => n.path)).toEqual(['./Vendor/MSFT/Z', './Vendor/MSFT/Z/B']);
    expect(small.resolve('./Device/Vendor/MSFT/Z/B')?.path).toBe('./Vendor/MSFT/Z/B');
    expect(small.children('./Device/Vendor/MSFT/Z')).toHaveLength(1);
  });

  it('fromNodes derives Result twins for hand-written Policy Config nodes', () => {
    const small = Catalog.fromNodes([
      {
        path: './Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera',
        csp: 'Policy',
        scope: 'device',
        format: 'int',
        access: ['Get', 'Add', 'Replace', 'Delete'],
        source: 't',
      },
    ]);
    expect(small.all().map((n) => [n.path, n.access.join()])).toEqual([
      ['./Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera', 'Get,Add,Replace,Delete'],
      ['./Device/Vendor/MSFT/Policy/Result/Camera/AllowCamera', 'Get'],
    ]);
    expect(small.resolve('./Vendor/MSFT/Policy/Result/Camera/AllowCamera')?.derivedFrom).toBe(
      './Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera',
    );
  });

  it('load() explains a missing or foreign catalog', () => {
    expect(() => Catalog.load(join(dir, 'missing'))).toThrow(CatalogLoadError);
    expect(() => Catalog.load(join(dir, 'missing'))).toThrow(/catalog:generate/);
    writeFileSync(join(dir, 'catalog.json'), '{"format": 99, "nodes": []}');
    expect(() => Catalog.load(dir)).toThrow(/not a version 1/);
    writeFileSync(join(dir, 'catalog.json'), '{"format": 1, "nodes": [');
    expect(() => Catalog.load(dir)).toThrow(/not valid JSON/);
  });
});
