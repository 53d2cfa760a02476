// Regenerates the catalog from a DDF drop (CATALOG_DDF_DIR) and compares with what is committed. Runs only
// where CATALOG_DDF_DIR names a drop with INDEX.tsv (the project builds and tests without it).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CATALOG_FILE_NAME, defaultCatalogDir } from '../../src/catalog/catalog-file.js';
import { parseDdf } from '../../src/catalog/ddf-parse.js';
import { buildCatalog, readDdfFolder, readSourceNote, serializeCatalog } from '../../src/catalog/generate.js';

const DDF = process.env.CATALOG_DDF_DIR ?? '';
const present = DDF !== '' && existsSync(join(DDF, 'INDEX.tsv'));

describe.skipIf(!present)('DDF drop at CATALOG_DDF_DIR', () => {
  const inputs = present ? readDdfFolder(DDF) : [];
  const generated = present ? buildCatalog(inputs, readSourceNote(DDF)) : undefined;

  it('regenerating gives the committed catalog.json byte for byte', () => {
    const { catalog, warnings } = generated!;
    expect(warnings).toEqual([]);
    expect(catalog.stats).toMatchObject({ files: 309, nodes: 5815, leaves: 5025 });
    const committed = readFileSync(join(defaultCatalogDir(), CATALOG_FILE_NAME), 'utf8');
    expect(serializeCatalog(catalog) === committed).toBe(true);
  });

  it('per-file node and leaf counts and root paths match INDEX.tsv', () => {
    const rows = readFileSync(join(DDF, 'INDEX.tsv'), 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => line.split('\t'))
      .filter(([file]) => file!.endsWith('.xml'));
    expect(rows).toHaveLength(309);
    const census = new Map(generated!.files.map((f) => [f.name, f]));
    for (const [file, , , nodes, leaves, roots] of rows) {
      const parsed = census.get(file!)!;
      expect([file, parsed.nodes, parsed.leaves], file).toEqual([file, Number(nodes), Number(leaves)]);
      // INDEX.tsv keeps SUPL's `./Vendor/MSFT/` path verbatim; the catalog drops the trailing slash.
      expect(parsed.roots.join(';'), file).toBe(roots!.replaceAll('//', '/'));
    }
  });

  it('the legacy DDF v1 Policy file parses as robustness input (not part of the catalog)', () => {
    const file = join(DDF, 'legacy-20H2', 'PolicyDDF_all.xml');
    if (!existsSync(file)) return;
    const parsed = parseDdf(readFileSync(file, 'utf8'), 'PolicyDDF_all.xml');
    expect(parsed.roots).toEqual(['./User/Vendor/MSFT/Policy', './Device/Vendor/MSFT/Policy']);
    expect(parsed.nodeCount).toBeGreaterThan(3000);
    expect(parsed.nodes.some((n) => n.applicability !== undefined)).toBe(false);
    expect(inputs.some((i) => i.name === 'PolicyDDF_all.xml')).toBe(false);
  });
});
