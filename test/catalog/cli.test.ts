import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildCatalog, readDdfFolder, writeCatalogDir } from '../../src/catalog/generate.js';
import { registerCatalog } from '../../src/cli/catalog.js';
import { type CliRun, captureCli } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'catalog-cli-'));

function run(...args: string[]): Promise<CliRun> {
  return captureCli(() => {
    // the group on its own program (as src/cli/index.ts registers it), independent of other groups
    const program = new Command('mdm').exitOverride();
    registerCatalog(program);
    return program.parseAsync(['node', 'mdm', ...args]);
  });
}

describe('mdm catalog', () => {
  beforeAll(() => {
    writeCatalogDir(dir, buildCatalog(readDdfFolder(join(import.meta.dirname, 'fixtures', 'ddf'))).catalog);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(() => vi.restoreAllMocks());

  it('show prints format, access, allowed values and children', async () => {
    // only the scope prefix is case-insensitive (./device); node names are not
    const wrongCase = await run('catalog', 'show', './vendor/MSFT/Gadget/Mode', '--catalog', dir);
    expect(wrongCase).toMatchObject({ code: 1, out: '' });
    expect(wrongCase.err).toContain('./Device/Vendor/MSFT/Gadget/Mode');
    const shown = await run('catalog', 'show', './device/Vendor/MSFT/Gadget/Mode', '--catalog', dir);
    expect(shown.code).toBe(0);
    expect(shown.out).toContain('./Device/Vendor/MSFT/Gadget/Mode');
    expect(shown.out).toMatch(/format\s+int \(text\/plain\)/);
    expect(shown.out).toMatch(/access\s+Get, Add, Replace, Delete/);
    expect(shown.out).toContain('1 = On & watching');
    expect(shown.out).toMatch(/min OS\s+10\.0\.19041/);
    const parent = await run('catalog', 'show', './Vendor/MSFT/Gadget/Owners', '--catalog', dir);
    expect(parent.out).toContain('{OwnerID}  [node]');
  });

  it('show --json of a concrete dynamic path returns the catalog node', async () => {
    const { out, code } = await run(
      'catalog',
      'show',
      './Vendor/MSFT/Gadget/Owners/ann/Email',
      '--json',
      '--catalog',
      dir,
    );
    expect(code).toBe(0);
    const parsed = JSON.parse(out);
    expect(parsed.node.path).toBe('./Device/Vendor/MSFT/Gadget/Owners/{OwnerID}/Email');
    expect(parsed.node.allowed.kind).toBe('regex');
    expect(parsed.children).toEqual([]);
    const human = await run('catalog', 'show', './Vendor/MSFT/Gadget/Owners/ann/Email', '--catalog', dir);
    expect(human.out).toMatch(/dynamic\s+\{OwnerID\}: replace with the instance name when setting it/);
  });

  it('show of an unknown path exits 1 with suggestions', async () => {
    const { err, code } = await run(
      'catalog',
      'show',
      './Device/Vendor/MSFT/Gadget/Timout',
      '--catalog',
      dir,
    );
    expect(code).toBe(1);
    expect(err).toContain('no catalog node at ./Device/Vendor/MSFT/Gadget/Timout');
    expect(err).toContain('./Device/Vendor/MSFT/Gadget/Timeout');
    const json = await run(
      'catalog',
      'show',
      './Device/Vendor/MSFT/Gadget/Timout',
      '--json',
      '--catalog',
      dir,
    );
    expect(JSON.parse(json.out)).toMatchObject({
      error: 'not-found',
      didYouMean: ['./Device/Vendor/MSFT/Gadget/Timeout'],
    });
  });

  it('search ranks path matches, honours --limit and --json', async () => {
    const { out, code } = await run('catalog', 'search', 'allow', 'widgets', '--catalog', dir);
    expect(code).toBe(0);
    expect(out.split('\n')[0]).toMatch(
      /^\.\/Device\/Vendor\/MSFT\/Policy\/Config\/Widgets\/AllowWidgets {2}\[int; Get,Add,Replace,Delete\]/,
    );
    const json = await run('catalog', 'search', 'gadget', '--limit', '2', '--json', '--catalog', dir);
    expect(JSON.parse(json.out)).toHaveLength(2);
    const none = await run('catalog', 'search', 'nothing-like-this', '--catalog', dir);
    expect(none.code).toBe(1);
    const bad = await run('catalog', 'search', 'x', '--limit', 'zero', '--catalog', dir);
    expect(bad.code).toBe(2);
  });

  it('uses the committed catalog by default', async () => {
    const { out, code } = await run('catalog', 'show', './DevDetail/SwV');
    expect(code).toBe(0);
    expect(out).toMatch(/source\s+DevDetail\.xml/);
  });
});
