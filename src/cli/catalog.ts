// `mdm catalog search <words…>` and `mdm catalog show <path>`: browse the CSP catalog generated
// from Microsoft's DDF files (csp-catalog/).
import type { Command } from 'commander';
import { Catalog, defaultCatalog } from '../catalog/catalog.js';
import { describeHit, describeNode } from '../catalog/describe.js';
import { printHuman, printList } from './output.js';

interface CatalogOptions {
  json?: boolean;
  catalog?: string;
}

function open(options: CatalogOptions): Catalog {
  return options.catalog ? Catalog.load(options.catalog) : defaultCatalog();
}

export function registerCatalog(program: Command): void {
  const catalog = program.command('catalog').description('browse the CSP catalog (generated from DDF files)');

  catalog
    .command('search')
    .description('find settings by words in their path or description')
    .argument('<words...>', 'words that must all match (path segments rank above descriptions)')
    .option('-n, --limit <n>', 'most results to show', '20')
    .option('--json', 'print the matching nodes as JSON')
    .option('--catalog <dir>', 'catalog folder (default: the bundled csp-catalog/)')
    .action((words: string[], options: CatalogOptions & { limit: string }) => {
      const limit = Number.parseInt(options.limit, 10);
      if (!Number.isInteger(limit) || limit < 1) {
        printHuman(`--limit must be a positive integer, got "${options.limit}"`, process.stderr);
        process.exitCode = 2;
        return;
      }
      const hits = open(options).search(words.join(' '), limit);
      printList(hits, {
        json: options.json,
        empty: `no catalog node matches "${words.join(' ')}"`,
        line: (node) => describeHit(node, process.stdout.columns || 120),
      });
      if (hits.length === 0) process.exitCode = 1;
    });

  catalog
    .command('show')
    .description('show one node: format, access, allowed values, applicability, description')
    .argument('<path>', 'node path, e.g. ./Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera')
    .option('--json', 'print the node (and its children) as JSON')
    .option('--catalog <dir>', 'catalog folder (default: the bundled csp-catalog/)')
    .action((path: string, options: CatalogOptions) => {
      const cat = open(options);
      const node = cat.resolve(path);
      if (!node) {
        const suggestions = cat.closest(path, 5);
        if (options.json)
          process.stdout.write(
            `${JSON.stringify({ error: 'not-found', path, didYouMean: suggestions }, null, 2)}\n`,
          );
        else {
          printHuman(`no catalog node at ${path}`, process.stderr);
          if (suggestions.length > 0)
            printHuman(`did you mean:\n  ${suggestions.join('\n  ')}`, process.stderr);
        }
        process.exitCode = 1;
        return;
      }
      const children = cat.children(node.path);
      if (options.json)
        process.stdout.write(`${JSON.stringify({ node, children: children.map((c) => c.path) }, null, 2)}\n`);
      else printHuman(describeNode(node, children));
    });
}
