// Segment trie over canonical paths: resolves concrete paths against `{Name}` dynamic segments in
// O(depth). A concrete child always wins over the dynamic one at the same level and the walk never
// backtracks, so a misspelt name under a known parent is reported as unknown instead of being taken
// for a dynamic instance.
import { isDynamicSegment, splitPath } from './paths.js';
import type { CatalogNode } from './types.js';

interface TrieLevel {
  readonly named: Map<string, TrieLevel>;
  dynamic?: TrieLevel;
  /** Only names passing this test may stand for the dynamic child. */
  dynamicGuard?: (segment: string) => boolean;
  node?: CatalogNode;
}

/**
 * Built-in Policy areas are all listed by their own DDF, so the Policy skeleton's `Config/{AreaName}`
 * and `Result/{AreaName}` stand only for areas created by ADMX ingestion, named `App~Policy|Preference~Category`
 * (docs/protocol-notes.md#policy-csp).
 */
const GUARDED_DYNAMIC_RE = /^\.\/(?:Device|User)\/Vendor\/MSFT\/Policy\/(?:Config|Result)\/\{[^}]+\}$/;
const isIngestedAdmxArea = (segment: string) => segment.includes('~');

function newLevel(): TrieLevel {
  return { named: new Map() };
}

export class PathIndex {
  private readonly root: TrieLevel = newLevel();

  add(path: string, node: CatalogNode): void {
    let level = this.root;
    const segments = splitPath(path);
    for (let i = 0; i < segments.length; i++) {
      const segment = segments[i]!;
      if (isDynamicSegment(segment)) {
        if (!level.dynamic) {
          level.dynamic = newLevel();
          if (GUARDED_DYNAMIC_RE.test(segments.slice(0, i + 1).join('/'))) {
            level.dynamicGuard = isIngestedAdmxArea;
          }
        }
        level = level.dynamic;
      } else {
        let next = level.named.get(segment);
        if (!next) {
          next = newLevel();
          level.named.set(segment, next);
        }
        level = next;
      }
    }
    level.node ??= node;
  }

  /** The node whose path matches the concrete path, segment by segment. */
  match(path: string): CatalogNode | undefined {
    return this.levelOf(path)?.node;
  }

  /** Nodes one level below the node matching `path` (named children, then the dynamic one). */
  children(path: string): CatalogNode[] {
    const level = this.levelOf(path);
    if (!level) return [];
    const out: CatalogNode[] = [];
    for (const child of level.named.values()) if (child.node) out.push(child.node);
    if (level.dynamic?.node) out.push(level.dynamic.node);
    return out;
  }

  private levelOf(path: string): TrieLevel | undefined {
    let level: TrieLevel | undefined = this.root;
    for (const segment of splitPath(path)) {
      const named: TrieLevel | undefined = level.named.get(segment);
      if (named) level = named;
      else if (level.dynamic && segment !== '' && (!level.dynamicGuard || level.dynamicGuard(segment)))
        level = level.dynamic;
      else return undefined;
    }
    return level;
  }
}
