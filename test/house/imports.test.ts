// The layering of src/, enforced: the import graph (every `import`, `export … from` and dynamic
// `import()`, type-only ones included, read with TypeScript's own `ts.preProcessFile`) has no cycle
// between files or between folders, and a folder imports only from layers below its own. The layers
// are described in docs/architecture.md#layers. KNOWN_EXCEPTIONS may only shrink: an entry that no
// longer matches anything fails the test too.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

/**
 * Layer of each folder of src/ (top-level files by their name without `.ts`). A folder may import
 * from folders of a LOWER layer only; folders of the same layer do not import each other.
 */
const LAYER: Readonly<Record<string, number>> = {
  // Wire formats and shared types: no project imports at all.
  shared: 0,
  codec: 0,
  logger: 0,
  config: 0,
  // Primitives over them.
  pki: 1,
  catalog: 1,
  // Persistence. The simulator is a client: it sees wire formats and the catalog, never the server.
  storage: 2,
  simulator: 2,
  // Services over storage alone: the webhook outbox, the audit sinks, backups, the SCEP CA.
  webhooks: 3,
  audit: 3,
  backup: 3,
  scep: 3,
  // Domain services; policy observes the session engine through structural types only.
  dm: 4,
  enrollment: 4,
  policy: 4,
  reporting: 4,
  replay: 4,
  // What admins ask of the domain (shared by the CLI and the API), push, and the health checks.
  services: 5,
  push: 5,
  doctor: 5,
  // What every route module is built from, then the route families: the admin API, the console
  // on top of it, the protocol endpoints and the application that mounts them all.
  transport: 6,
  api: 7,
  console: 8,
  http: 9,
  // Composition root, then the CLI (nothing imports it; bin/mdm.js starts it).
  main: 10,
  cli: 11,
};

/** `from → to` file edges allowed despite the rules, each with its reason. Empty today. */
const KNOWN_EXCEPTIONS: readonly { readonly edge: string; readonly why: string }[] = [];

type Graph = ReadonlyMap<string, readonly string[]>;

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(ROOT, path)).isDirectory()) return sourceFiles(path);
    return /\.(ts|mts)$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** src-relative file → the src files it imports. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles('src')) {
    const info = ts.preProcessFile(readFileSync(join(ROOT, file), 'utf8'), true, true);
    const targets = info.importedFiles
      .map((f) => f.fileName)
      .filter((name) => name.startsWith('.'))
      .map((name) => relative(ROOT, resolve(ROOT, dirname(file), name)).replace(/\.js$/, '.ts'));
    graph.set(file, targets);
  }
  return graph;
}

/** `src/dm/session.ts` → `dm`; `src/main.ts` → `main`. */
function folderOf(file: string): string {
  const parts = file.split('/');
  return parts.length > 2 ? parts[1]! : parts[1]!.replace(/\.m?ts$/, '');
}

/** Strongly connected components of more than one node (Tarjan). */
function cyclesOf(graph: Graph): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1) out.push(component.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

/** Folder → folders it imports. */
function folderGraph(graph: Graph): Map<string, string[]> {
  const out = new Map<string, Set<string>>();
  for (const [from, targets] of graph) {
    const a = folderOf(from);
    if (!out.has(a)) out.set(a, new Set());
    for (const to of targets) if (folderOf(to) !== a) out.get(a)!.add(folderOf(to));
  }
  return new Map([...out].map(([k, v]) => [k, [...v].sort()]));
}

/** Every edge that breaks the layer rules, as `from → to (reason)`. */
function layerViolations(graph: Graph, layer: Readonly<Record<string, number>>): string[] {
  const out: string[] = [];
  for (const [from, targets] of graph) {
    const a = folderOf(from);
    if (layer[a] === undefined) {
      out.push(`${from}: folder \`${a}\` has no layer in test/house/imports.test.ts`);
      continue;
    }
    for (const to of targets) {
      const b = folderOf(to);
      if (a === b) continue;
      const lb = layer[b];
      if (lb === undefined) out.push(`${from} → ${to} (folder \`${b}\` has no layer)`);
      else if (lb > layer[a]!) out.push(`${from} → ${to} (${a} is below ${b})`);
      else if (lb === layer[a])
        out.push(`${from} → ${to} (${a} and ${b} are one layer: neither imports the other)`);
    }
  }
  return out;
}

const graph = importGraph();

describe('import graph of src/', () => {
  it('is read from the real tree', () => {
    expect(graph.size).toBeGreaterThan(150);
    expect(graph.get('src/http/app.ts')).toContain('src/http/dm-endpoint.ts');
    // A dangling import would make every rule vacuous for that edge.
    const missing = [...graph].flatMap(([f, ts]) =>
      ts.filter((t) => !graph.has(t)).map((t) => `${f} → ${t}`),
    );
    expect(missing).toEqual([]);
  });

  it('has no cycle between files', () => {
    expect(cyclesOf(graph)).toEqual([]);
  });

  it('has no cycle between folders', () => {
    expect(cyclesOf(folderGraph(graph))).toEqual([]);
  });

  it('imports only downwards through the layers', () => {
    const allowed = new Set(KNOWN_EXCEPTIONS.map((e) => e.edge));
    const violations = layerViolations(graph, LAYER);
    expect(violations.filter((v) => !allowed.has(v.replace(/ \(.*$/, '')))).toEqual([]);
    // The exception list only shrinks: every entry must still be needed.
    const stale = [...allowed].filter((edge) => !violations.some((v) => v.startsWith(`${edge} (`)));
    expect(stale).toEqual([]);
  });

  it('nothing outside the CLI imports it', () => {
    const intoCli = [...graph].flatMap(([f, targets]) =>
      folderOf(f) === 'cli' ? [] : targets.filter((t) => folderOf(t) === 'cli').map((t) => `${f} → ${t}`),
    );
    expect(intoCli).toEqual([]);
  });
});

describe('the checks themselves', () => {
  it('find a cycle and a forbidden import in a made-up graph', () => {
    const fake: Graph = new Map([
      ['src/storage/a.ts', ['src/http/b.ts']],
      ['src/http/b.ts', ['src/http/c.ts']],
      ['src/http/c.ts', ['src/http/b.ts', 'src/storage/a.ts']],
      ['src/dm/d.ts', ['src/policy/e.ts']],
      ['src/policy/e.ts', []],
      ['src/extra/f.ts', []],
    ]);
    expect(cyclesOf(fake)).toEqual([['src/http/b.ts', 'src/http/c.ts', 'src/storage/a.ts']]);
    expect(cyclesOf(folderGraph(fake))).toEqual([['http', 'storage']]);
    expect(layerViolations(fake, LAYER)).toEqual([
      'src/storage/a.ts → src/http/b.ts (storage is below http)',
      'src/dm/d.ts → src/policy/e.ts (dm and policy are one layer: neither imports the other)',
      'src/extra/f.ts: folder `extra` has no layer in test/house/imports.test.ts',
    ]);
  });
});
