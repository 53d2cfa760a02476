// The CSP catalog loader and lookups: exact path → node in O(1), concrete device paths (scope
// variants, dynamic segment values) through a segment trie, ranked search and "did you mean".
import {
  type CatalogFile,
  type CatalogSource,
  type CatalogStats,
  defaultCatalogDir,
  readCatalogFile,
} from './catalog-file.js';
import { PathIndex } from './path-index.js';
import { deviceAlias, normalizePath, policyConfigPath, policyResultPath, scopeVariants } from './paths.js';
import { nearestPaths, queryWords, type SearchEntry, scoreEntry, searchEntry } from './suggest.js';
import type { CatalogLookup, CatalogNode } from './types.js';

export interface CatalogInfo {
  readonly source?: CatalogSource;
  readonly stats?: CatalogStats;
}

export interface SearchHit {
  readonly node: CatalogNode;
  readonly score: number;
}

export class Catalog implements CatalogLookup {
  /** Canonical paths (and any non-standard aliases) → node. */
  private readonly byPath = new Map<string, CatalogNode>();
  /** Built on first use: exact `get`s, the common case, never need it. */
  private pathIndex?: PathIndex;
  private readonly nodes: readonly CatalogNode[];
  private searchEntries?: SearchEntry[];

  private constructor(
    nodes: readonly CatalogNode[],
    readonly info: CatalogInfo = {},
  ) {
    const sorted = isSorted(nodes) ? nodes : [...nodes].sort(byPath);
    const all = mergeSorted(sorted, deriveResultNodes(sorted));
    const unique: CatalogNode[] = [];
    for (const node of all) {
      if (this.byPath.has(node.path)) continue;
      this.byPath.set(node.path, node);
      unique.push(node);
    }
    // `./Vendor/MSFT/…` ⇄ `./Device/Vendor/MSFT/…` aliases are found by `get` without a map entry;
    // only other aliases are indexed.
    for (const node of unique) {
      for (const alias of node.aliases ?? []) {
        if (alias !== deviceAlias(node.path) && !this.byPath.has(alias)) this.byPath.set(alias, node);
      }
    }
    this.nodes = unique;
  }

  /** A catalog over the given nodes (tests, tools). Policy `Result` nodes are derived as on load. */
  static fromNodes(nodes: readonly CatalogNode[], info?: CatalogInfo): Catalog {
    return new Catalog(nodes, info);
  }

  /** Read `<dir>/catalog.json`; `dir` defaults to the repository's committed `csp-catalog/`. */
  static load(dir: string = defaultCatalogDir()): Catalog {
    return Catalog.fromFile(readCatalogFile(dir));
  }

  static fromFile(file: CatalogFile): Catalog {
    return new Catalog(file.nodes, { source: file.source, stats: file.stats });
  }

  get size(): number {
    return this.nodes.length;
  }

  /** Exact lookup by canonical path or alias (O(1): at most two map lookups). */
  get(path: string): CatalogNode | undefined {
    const node = this.byPath.get(path);
    if (node) return node;
    const alias = deviceAlias(path);
    return alias === undefined ? undefined : this.byPath.get(alias);
  }

  /**
   * The node for a path as a device or an administrator writes it: `./device/…` or `./Device/…`,
   * `./Vendor/MSFT/…` ≡ `./Device/Vendor/MSFT/…`, percent-encoded segments, and concrete names in
   * place of dynamic segments (`…/Provider/MyMDM/…` → `…/Provider/{ProviderID}/…`).
   */
  resolve(path: string): CatalogNode | undefined {
    const variants = scopeVariants(normalizePath(path));
    const exact = this.get(variants[0]!);
    if (exact) return exact;
    for (const p of variants) {
      const matched = this.index().match(p);
      if (matched) return matched;
    }
    return undefined;
  }

  /** Policy CSP setting by area and name: `Config/{area}/{policy}` in the given scope. */
  policy(area: string, policy: string, scope: 'device' | 'user' = 'device'): CatalogNode | undefined {
    return this.byPath.get(policyConfigPath(area, policy, scope));
  }

  /** Every node (DDF nodes and derived Policy `Result` nodes), in canonical path order. */
  all(): readonly CatalogNode[] {
    return this.nodes;
  }

  /** Direct children of the node that `path` resolves to. */
  children(path: string): CatalogNode[] {
    const node = this.resolve(path);
    return node ? this.index().children(node.path) : [];
  }

  private index(): PathIndex {
    if (!this.pathIndex) {
      this.pathIndex = new PathIndex();
      for (const node of this.nodes) this.pathIndex.add(node.path, node);
    }
    return this.pathIndex;
  }

  /**
   * Nodes matching every word (path segments or description), best first: a word naming the last
   * path segment ranks highest, then other segments, then descriptions.
   */
  search(words: string, limit = 20): CatalogNode[] {
    return this.searchHits(words, limit).map((h) => h.node);
  }

  searchHits(words: string, limit = 20): SearchHit[] {
    const terms = queryWords(words);
    if (terms.length === 0) return [];
    // Result twins repeat their Config node; search lists each setting once.
    this.searchEntries ??= this.nodes.filter((n) => n.derivedFrom === undefined).map(searchEntry);
    const hits: SearchHit[] = [];
    for (const entry of this.searchEntries) {
      const score = scoreEntry(entry, terms);
      if (score > 0) hits.push({ node: entry.node, score });
    }
    hits.sort((a, b) => b.score - a.score || (a.node.path < b.node.path ? -1 : 1));
    return hits.slice(0, limit);
  }

  /**
   * Up to `n` known canonical paths nearest to `path`, for "did you mean" messages. When the parent
   * resolves, its children come first, ranked by the last segment.
   */
  closest(path: string, n = 3): string[] {
    const normalized = normalizePath(path);
    const parent = normalized.slice(0, normalized.lastIndexOf('/'));
    // Suggest Policy `Result` twins only to someone asking for a Result path.
    const wantsResult = normalized.includes('/Policy/Result/');
    const candidates = wantsResult ? this.nodes : this.nodes.filter((n) => n.derivedFrom === undefined);
    const siblings = parent ? this.children(parent) : [];
    const fromSiblings = siblings.length > 0 ? nearestPaths(normalized, siblings, n) : [];
    const out = new Set(fromSiblings.slice(0, n));
    if (out.size < n) {
      const scopeMatched = candidates.filter((node) => sameRoot(node.path, normalized));
      for (const p of nearestPaths(normalized, scopeMatched.length > 0 ? scopeMatched : candidates, n)) {
        if (out.size >= n) break;
        out.add(p);
      }
    }
    return [...out];
  }
}

const byPath = (a: CatalogNode, b: CatalogNode) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

function isSorted(nodes: readonly CatalogNode[]): boolean {
  for (let i = 1; i < nodes.length; i++) if (nodes[i - 1]!.path > nodes[i]!.path) return false;
  return true;
}

/** Merge two path-sorted lists (the generator writes nodes sorted, so loading needs no sort). */
function mergeSorted(a: readonly CatalogNode[], b: readonly CatalogNode[]): CatalogNode[] {
  const out: CatalogNode[] = new Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) out[k++] = a[i]!.path <= b[j]!.path ? a[i++]! : b[j++]!;
  while (i < a.length) out[k++] = a[i++]!;
  while (j < b.length) out[k++] = b[j++]!;
  return out;
}

/** `./Device/…` suggestions for `./Device/…` input, `./User/…` for `./User/…`, and so on. */
function sameRoot(candidate: string, wanted: string): boolean {
  const root = (p: string) => (p.startsWith('./Vendor/') ? './Device' : p.slice(0, p.indexOf('/', 2)));
  return root(candidate) === root(wanted);
}

/**
 * The Policy DDFs list `Config/{Area}/{Policy}` only; the device also answers Get on
 * `Result/{Area}/{Policy}` with the effective value (docs/protocol-notes.md#policy-csp). Each Config node of a
 * listed area yields a read-only Result twin.
 */
function deriveResultNodes(nodes: readonly CatalogNode[]): CatalogNode[] {
  const out: CatalogNode[] = [];
  for (const node of nodes) {
    if (node.derivedFrom !== undefined) continue;
    const path = policyResultPath(node.path);
    // the skeleton's `Config/{AreaName}/…` has its own `Result/{AreaName}/…` in Policy.xml
    if (!path || path.includes('{')) continue;
    const { aliases: _configAliases, ...rest } = node;
    const alias = deviceAlias(path);
    out.push({
      ...rest,
      path,
      ...(alias ? { aliases: [alias] } : {}),
      access: ['Get'],
      derivedFrom: node.path,
    });
  }
  return out;
}

let cached: Catalog | undefined;

/** The committed catalog, loaded once per process. */
export function defaultCatalog(): Catalog {
  cached ??= Catalog.load();
  return cached;
}
