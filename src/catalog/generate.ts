// DDF v2 files → `csp-catalog/`. Deterministic: files are read in byte order of their names, nodes
// are sorted by path, keys are written in a fixed order and nothing depends on time or locale, so a
// newer DDF drop shows up as a data-only diff.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CATALOG_FILE_NAME, CATALOG_FORMAT, type CatalogFile, type CatalogSource } from './catalog-file.js';
import { DdfError, parseDdf } from './ddf-parse.js';
import type { CatalogNode } from './types.js';

export interface DdfInput {
  /** File name, recorded as each node's `source`. */
  readonly name: string;
  readonly text: string;
}

export interface GenerateResult {
  readonly catalog: CatalogFile;
  readonly warnings: readonly string[];
  /** Census per input file, in the order read. */
  readonly files: readonly FileCensus[];
}

export interface FileCensus {
  readonly name: string;
  readonly nodes: number;
  readonly leaves: number;
  readonly roots: readonly string[];
}

const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function buildCatalog(inputs: readonly DdfInput[], source: CatalogSource = {}): GenerateResult {
  const files = [...inputs].sort((a, b) => byCodeUnit(a.name, b.name));
  const byPath = new Map<string, CatalogNode>();
  const duplicateSources = new Map<string, string[]>();
  const warnings: string[] = [];
  const census: FileCensus[] = [];
  let nodeCount = 0;
  let leafCount = 0;
  for (const file of files) {
    const parsed = parseFile(file);
    nodeCount += parsed.nodeCount;
    leafCount += parsed.leafCount;
    warnings.push(...parsed.warnings);
    census.push({ name: file.name, nodes: parsed.nodeCount, leaves: parsed.leafCount, roots: parsed.roots });
    for (const node of parsed.nodes) {
      const first = byPath.get(node.path);
      if (!first) {
        byPath.set(node.path, node);
        continue;
      }
      const sources = duplicateSources.get(node.path) ?? [first.source];
      sources.push(node.source);
      duplicateSources.set(node.path, sources);
    }
  }
  const nodes = [...byPath.values()].sort((a, b) => byCodeUnit(a.path, b.path));
  const duplicates = [...duplicateSources.entries()]
    .sort((a, b) => byCodeUnit(a[0], b[0]))
    .map(([path, sources]) => ({ path, sources }));
  const catalog: CatalogFile = {
    format: CATALOG_FORMAT,
    source,
    stats: {
      files: files.length,
      nodes: nodeCount,
      leaves: leafCount,
      csps: new Set(nodes.map((n) => n.csp)).size,
      policyAreas: new Set(nodes.flatMap((n) => (n.area ? [n.area] : []))).size,
    },
    duplicates,
    nodes,
  };
  return { catalog, warnings, files: census };
}

function parseFile(file: DdfInput) {
  try {
    return parseDdf(file.text, file.name);
  } catch (err) {
    if (err instanceof DdfError) throw err;
    throw new DdfError(`${file.name}: ${(err as Error).message}`, { cause: err });
  }
}

/** JSON with one node per line: small diffs between drops, one `JSON.parse` to load. */
export function serializeCatalog(catalog: CatalogFile): string {
  const head = [
    `"format": ${JSON.stringify(catalog.format)}`,
    `"source": ${JSON.stringify(catalog.source)}`,
    `"stats": ${JSON.stringify(catalog.stats)}`,
    `"duplicates": ${JSON.stringify(catalog.duplicates)}`,
  ];
  const nodes = catalog.nodes.map((n) => JSON.stringify(n)).join(',\n');
  return `{\n${head.join(',\n')},\n"nodes": [\n${nodes}\n]\n}\n`;
}

/** The DDF files of a drop: `*.xml` directly in `folder` (sub-folders such as `legacy-20H2/` are not read). */
export function readDdfFolder(folder: string): DdfInput[] {
  return readdirSync(folder, { withFileTypes: true })
    .filter((e) => e.isFile() && e.name.toLowerCase().endsWith('.xml'))
    .map((e) => e.name)
    .sort(byCodeUnit)
    .map((name) => ({ name, text: readFileSync(join(folder, name), 'utf8') }));
}

/** Repository, commit and drop label from the folder's SOURCE.md, when it has one. */
export function readSourceNote(folder: string): CatalogSource {
  const file = join(folder, 'SOURCE.md');
  if (!existsSync(file)) return {};
  const text = readFileSync(file, 'utf8');
  const repository = /\*\*([\w.-]+\/[\w.-]+)\*\*/.exec(text)?.[1];
  const snapshot = /snapshot commit \| `([0-9a-f]{40})`(?: \("([^"]+)")?/.exec(text);
  return {
    ...(repository ? { repository } : {}),
    ...(snapshot?.[1] ? { commit: snapshot[1] } : {}),
    ...(snapshot?.[2] ? { drop: snapshot[2] } : {}),
    license: 'CC-BY-4.0 AND MIT',
  };
}

/** Licence files of the DDF mirror, copied beside the catalog under these names. */
const LICENSE_COPIES = [
  ['LICENSE', 'LICENSE-DDF-CC-BY-4.0'],
  ['LICENSE-CODE', 'LICENSE-DDF-MIT'],
] as const;

/** Write `catalog.json`, `ATTRIBUTION.md` and the licence copies into `outDir`. */
export function writeCatalogDir(outDir: string, catalog: CatalogFile, ddfFolder?: string): string[] {
  mkdirSync(outDir, { recursive: true });
  const licences: string[] = [];
  for (const [from, to] of LICENSE_COPIES) {
    if (ddfFolder && existsSync(join(ddfFolder, from))) {
      writeFileSync(join(outDir, to), readFileSync(join(ddfFolder, from)));
      licences.push(to);
    }
  }
  writeFileSync(join(outDir, CATALOG_FILE_NAME), serializeCatalog(catalog));
  writeFileSync(join(outDir, 'ATTRIBUTION.md'), attribution(catalog, licences));
  return [CATALOG_FILE_NAME, 'ATTRIBUTION.md', ...licences];
}

/** ATTRIBUTION.md; `licences` are the licence files copied beside it. */
export function attribution(catalog: CatalogFile, licences: readonly string[] = []): string {
  const copied = (name: string) => (licences.includes(name) ? `, \`${name}\`` : '');
  const { source, stats } = catalog;
  const repo = source.repository ?? 'unknown';
  const lines = [
    '# Attribution',
    '',
    '`catalog.json` in this folder is generated from Microsoft\'s "DDF v2" configuration service provider',
    'description files by `npm run catalog:generate -- <ddf-folder>` (src/catalog/generate-cli.ts).',
    'Node names, paths, formats, access types, allowed values, applicability and descriptions are',
    "Microsoft's; the file layout is this project's.",
    '',
    '- Content: © Microsoft Corporation.',
    `- Source: ${repo === 'unknown' ? 'unknown' : `https://github.com/${repo}`} (a mirror of the DDF v2 downloads linked from`,
    '  learn.microsoft.com/windows/client-management/mdm/configuration-service-provider-ddf).',
    `- Commit: ${source.commit ?? 'unknown'}${source.drop ? ` (${source.drop})` : ''}.`,
    `- Licences: Creative Commons Attribution 4.0 International (CC-BY-4.0${copied('LICENSE-DDF-CC-BY-4.0')})`,
    `  and MIT, Copyright (c) Microsoft Corporation (MIT${copied('LICENSE-DDF-MIT')}), as published with the mirror.`,
    "  Microsoft's DDF download itself ships no licence file; the licence pair is the mirror's statement.",
    '- Changes: XML converted to JSON; description whitespace collapsed; edition ids written in decimal;',
    '  dynamic node names written as `{DFTitle}`.',
    '',
    `Census: ${stats.files} DDF files, ${stats.nodes} nodes, ${stats.leaves} leaf settings, ${stats.csps} CSPs,`,
    `${stats.policyAreas} Policy CSP areas.`,
    '',
  ];
  return lines.join('\n');
}
