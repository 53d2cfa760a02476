// Every citation in the code points at something a reader can open: a public specification
// (MS-MDE2, MS-MDM, OMA-DM 1.2, an RFC, a Microsoft Learn page) or a section of docs/. This fails on
// references to documents that are not in the repository, and on docs/ links whose file or
// section heading does not exist.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const SCANNED = ['src', 'test', 'bench', 'csp-catalog/policy.schema.json', 'README.md'];
// Generated output (gitignored): benchmark bundles and results, browser test screenshots.
const SKIP_DIRS = new Set(['node_modules', 'dist', '.git', 'results', 'test-results']);
const EXT = /\.(ts|js|mjs|md|json|ya?ml)$/;

/** Citations of documents a reader cannot open. */
const FORBIDDEN: readonly { name: string; re: RegExp }[] = [
  { name: 'protocol.md', re: /(?<![\w/-])protocol\.md/ },
  { name: 'design.md', re: /(?<![\w/-])design\.md/ },
  { name: 'a numbered "gotcha"', re: /\bgotchas?\s*#?\d/i },
  {
    name: 'the shared reference folder',
    re: /\/work\/shared|(?<![\w.])\.\.\/shared(?!\/[\w-]+\.js)/,
  },
];

function files(path: string): string[] {
  const abs = join(ROOT, path);
  if (!statSync(abs).isDirectory()) return [path];
  return readdirSync(abs)
    .filter((n) => !SKIP_DIRS.has(n))
    .flatMap((n) => files(join(path, n)))
    .filter((f) => EXT.test(f));
}

const THIS_FILE = relative(ROOT, import.meta.filename);
const scanned = SCANNED.flatMap(files).filter((f) => f !== THIS_FILE);

/** GitHub-style heading anchors of a markdown file. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  for (const line of markdown.split('\n')) {
    const m = /^#{1,6}\s+(.*)$/.exec(line);
    if (!m) continue;
    const slug = m[1]!
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N} _-]/gu, '')
      .replace(/ /g, '-');
    anchors.add(slug);
  }
  return anchors;
}

describe('citations', () => {
  it('scans the source tree', () => {
    expect(scanned.length).toBeGreaterThan(100);
    expect(scanned).toContain('src/dm/session.ts');
  });

  it('cite no document outside the repository', () => {
    const found: string[] = [];
    for (const file of scanned) {
      const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
      lines.forEach((line, i) => {
        for (const { name, re } of FORBIDDEN) {
          if (re.test(line)) found.push(`${file}:${i + 1}: cites ${name}: ${line.trim().slice(0, 120)}`);
        }
      });
    }
    expect(found).toEqual([]);
  });

  it('docs/ references name an existing file and section', () => {
    const broken: string[] = [];
    const docs = new Map<string, Set<string>>();
    const docAnchors = (name: string): Set<string> | undefined => {
      if (!docs.has(name)) {
        try {
          docs.set(name, anchorsOf(readFileSync(join(ROOT, 'docs', name), 'utf8')));
        } catch {
          return undefined;
        }
      }
      return docs.get(name);
    };
    let checked = 0;
    for (const file of scanned) {
      const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
      lines.forEach((line, i) => {
        // `docs/x.md#a, #b, #c`: the file, then every section named after it.
        for (const m of line.matchAll(/docs\/([\w-]+\.md)((?:#[\w-]+)?(?:(?:,\s*|\s+to\s+)#[\w-]+)*)/g)) {
          checked++;
          const anchors = docAnchors(m[1]!);
          if (!anchors) {
            broken.push(`${file}:${i + 1}: docs/${m[1]} does not exist`);
            continue;
          }
          for (const a of m[2]!.match(/#[\w-]+/g) ?? []) {
            if (!anchors.has(a.slice(1))) broken.push(`${file}:${i + 1}: docs/${m[1]} has no section ${a}`);
          }
        }
      });
    }
    expect(checked).toBeGreaterThan(100);
    expect(broken).toEqual([]);
  });
});
