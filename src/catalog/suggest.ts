// Ranking helpers for `Catalog.search` (words → nodes) and `Catalog.closest` ("did you mean").
import { lastSegment, parentPath, splitPath } from './paths.js';
import type { CatalogNode } from './types.js';

/** Levenshtein distance, case-insensitive, with an early exit once `limit` is exceeded. */
export function editDistance(a: string, b: string, limit = Number.POSITIVE_INFINITY): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  if (x === y) return 0;
  if (Math.abs(x.length - y.length) > limit) return limit + 1;
  let prev = new Array<number>(y.length + 1);
  let cur = new Array<number>(y.length + 1);
  for (let j = 0; j <= y.length; j++) prev[j] = j;
  for (let i = 1; i <= x.length; i++) {
    cur[0] = i;
    let rowMin = i;
    for (let j = 1; j <= y.length; j++) {
      const cost = x.charCodeAt(i - 1) === y.charCodeAt(j - 1) ? 0 : 1;
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (cur[j]! < rowMin) rowMin = cur[j]!;
    }
    if (rowMin > limit) return limit + 1;
    [prev, cur] = [cur, prev];
  }
  return prev[y.length]!;
}

const MAX_SUGGEST_PATH_LENGTH = 1024;
const MAX_SUGGEST_SEGMENTS = 40;

/** 0 for equal segments, 1 for unrelated ones. */
function segmentCost(a: string, b: string): number {
  const longest = Math.max(a.length, b.length);
  return longest === 0 ? 0 : editDistance(a, b) / longest;
}

/** Edit distance over path segments, substitutions weighted by how different the names are. */
export function pathDistance(a: string, b: string): number {
  const x = splitPath(a);
  const y = splitPath(b);
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const cur = [i];
    for (let j = 1; j <= y.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + segmentCost(x[i - 1]!, y[j - 1]!));
    }
    prev = cur;
  }
  return prev[y.length]!;
}

/**
 * Known paths nearest to `wanted`. The last segment counts most (it is where typos are), the rest of
 * the path breaks ties; only the best few hundred by last segment get the full path comparison.
 */
export function nearestPaths(wanted: string, nodes: readonly CatalogNode[], n: number): string[] {
  // Real node paths are short; refuse to spend quadratic time on an absurd one.
  if (wanted.length > MAX_SUGGEST_PATH_LENGTH || splitPath(wanted).length > MAX_SUGGEST_SEGMENTS) return [];
  const leaf = lastSegment(wanted);
  const parent = parentPath(wanted);
  const limit = Math.max(3, Math.ceil(leaf.length / 2));
  const shortlist: { node: CatalogNode; leafCost: number }[] = [];
  for (const node of nodes) {
    const d = editDistance(leaf, lastSegment(node.path), limit);
    if (d <= limit) shortlist.push({ node, leafCost: d / Math.max(leaf.length, 1) });
  }
  shortlist.sort((a, b) => a.leafCost - b.leafCost);
  const scored = shortlist.slice(0, 400).map(({ node, leafCost }) => ({
    path: node.path,
    score: leafCost * 2 + pathDistance(parent, parentPath(node.path)),
  }));
  scored.sort((a, b) => a.score - b.score || (a.path < b.path ? -1 : 1));
  return scored.slice(0, n).map((s) => s.path);
}

export interface SearchEntry {
  readonly node: CatalogNode;
  readonly segments: readonly string[];
  readonly leaf: string;
  readonly description: string;
}

export function searchEntry(node: CatalogNode): SearchEntry {
  const segments = splitPath(node.path.toLowerCase());
  return {
    node,
    segments,
    leaf: segments[segments.length - 1]!,
    description: (node.description ?? '').toLowerCase(),
  };
}

/** Split the query into lower-case words (spaces, slashes and punctuation separate words). */
export function queryWords(query: string): string[] {
  return query
    .toLowerCase()
    .split(/[\s/,;:]+/)
    .filter((w) => w !== '' && w !== '.');
}

/**
 * Score of one node for all query words (0 = some word matches nowhere). A word naming the last
 * segment scores highest, then any path segment, then the description.
 */
export function scoreEntry(entry: SearchEntry, words: readonly string[]): number {
  let total = 0;
  for (const word of words) {
    let best = 0;
    if (entry.leaf === word) best = 12;
    else if (entry.leaf.includes(word)) best = 8;
    for (const segment of entry.segments) {
      if (best >= 6) break;
      if (segment === word) best = 6;
      else if (segment.includes(word)) best = Math.max(best, 4);
    }
    if (best === 0 && entry.description.includes(word)) best = 1;
    if (best === 0) return 0;
    total += best;
  }
  // Settings (leaves) before interior nodes, shorter paths before deeper ones.
  if (entry.node.format !== 'node') total += 1;
  return total - entry.segments.length * 0.01;
}
