// The on-disk catalog: `csp-catalog/catalog.json`, written by the generator (one node per line,
// sorted by path, fixed key order, no timestamps) and read by the loader.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CatalogNode } from './types.js';

export const CATALOG_FILE_NAME = 'catalog.json';
export const CATALOG_FORMAT = 1;

export interface CatalogSource {
  /** Repository the DDF files were taken from, e.g. `pl4nty/windows-ddf`. */
  readonly repository?: string;
  readonly commit?: string;
  /** Human label of the drop (`Windows Feb 2025`). */
  readonly drop?: string;
  readonly license?: string;
}

export interface CatalogStats {
  /** DDF files read. */
  readonly files: number;
  /** `<Node>` elements read (the DDF census). */
  readonly nodes: number;
  /** Nodes whose format is not `node`. */
  readonly leaves: number;
  /** Distinct CSPs (Policy areas count once, as `Policy`). */
  readonly csps: number;
  /** Policy areas (`*_AreaDDF.xml` roots). */
  readonly policyAreas: number;
}

export interface CatalogFile {
  readonly format: typeof CATALOG_FORMAT;
  readonly source: CatalogSource;
  readonly stats: CatalogStats;
  /** Same path written by two files: kept from the first file (alphabetical), listed here. */
  readonly duplicates: readonly { readonly path: string; readonly sources: readonly string[] }[];
  readonly nodes: readonly CatalogNode[];
}

export class CatalogLoadError extends Error {
  override name = 'CatalogLoadError';
}

/** The repository root: the nearest folder above this module holding a package.json (src or dist). */
export function packageRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = resolve(from);
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new CatalogLoadError(`no package.json above ${from}`);
    dir = up;
  }
}

/** The committed catalog folder, `<repo>/csp-catalog`. */
export function defaultCatalogDir(): string {
  return join(packageRoot(), 'csp-catalog');
}

export function readCatalogFile(dir: string): CatalogFile {
  const file = join(dir, CATALOG_FILE_NAME);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CatalogLoadError(
      `cannot read the CSP catalog ${file} (${(err as NodeJS.ErrnoException).code ?? err}); ` +
        'generate it with `npm run catalog:generate -- <ddf-folder>`',
    );
  }
  let data: CatalogFile;
  try {
    data = JSON.parse(text) as CatalogFile;
  } catch (err) {
    throw new CatalogLoadError(`${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (data?.format !== CATALOG_FORMAT || !Array.isArray(data.nodes)) {
    throw new CatalogLoadError(`${file} is not a version ${CATALOG_FORMAT} CSP catalog`);
  }
  return data;
}
