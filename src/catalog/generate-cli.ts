// `npm run catalog:generate -- <ddf-folder> [--out <dir>] [--repository owner/name] [--commit sha] [--drop label]`
// Reads the DDF v2 files of a drop and rewrites the catalog (default: the repository's csp-catalog/).
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { defaultCatalogDir } from './catalog-file.js';
import { buildCatalog, readDdfFolder, readSourceNote, writeCatalogDir } from './generate.js';

function main(argv: string[]): number {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      out: { type: 'string' },
      repository: { type: 'string' },
      commit: { type: 'string' },
      drop: { type: 'string' },
      quiet: { type: 'boolean', default: false },
    },
  });
  const folder = positionals[0];
  if (!folder || positionals.length > 1) {
    console.error('usage: npm run catalog:generate -- <ddf-folder> [--out <dir>] [--commit <sha>]');
    return 2;
  }
  const ddfFolder = resolve(folder);
  const outDir = resolve(values.out ?? defaultCatalogDir());
  const inputs = readDdfFolder(ddfFolder);
  if (inputs.length === 0) {
    console.error(`no *.xml DDF files in ${ddfFolder}`);
    return 1;
  }
  const source = {
    ...readSourceNote(ddfFolder),
    ...(values.repository ? { repository: values.repository } : {}),
    ...(values.commit ? { commit: values.commit } : {}),
    ...(values.drop ? { drop: values.drop } : {}),
  };
  const { catalog, warnings } = buildCatalog(inputs, source);
  const written = writeCatalogDir(outDir, catalog, ddfFolder);
  if (!values.quiet) for (const w of warnings) console.warn(`warning: ${w}`);
  const { files, nodes, leaves, csps, policyAreas } = catalog.stats;
  console.log(
    `${files} DDF files, ${nodes} nodes (${leaves} leaves), ${csps} CSPs, ${policyAreas} Policy areas, ` +
      `${catalog.duplicates.length} duplicate paths → ${outDir} (${written.join(', ')})`,
  );
  return 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (err) {
  console.error(err instanceof Error ? `${err.name}: ${err.message}` : String(err));
  process.exitCode = 1;
}
