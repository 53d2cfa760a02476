// The device's management tree: the values the virtual device holds, keyed by canonical LocURI.
// Catalog defaults are read through lazily (a fleet of thousands of devices must not copy the whole
// catalog each), the device profile is seeded eagerly, and every mutation is journaled so an Atomic
// can be rolled back (docs/protocol-notes.md#atomic).
import type { DmFormat } from '../shared/dm-command.js';

export interface TreeLeaf {
  readonly value: string;
  readonly format: DmFormat;
  readonly type?: string;
}

/** Canonical key for a LocURI: device scope has no prefix (`./Device/Vendor/…` ≡ `./Vendor/…`),
 *  scope prefixes are accepted in any case (docs/protocol-notes.md#meta-format-and-locuri), trailing slashes dropped. */
export function canonicalPath(locUri: string): string {
  let p = locUri.endsWith('/') ? locUri.replace(/\/+$/, '') : locUri;
  if (p.length > 8 && p.charCodeAt(2) !== 86 /* V fast path for ./Vendor */) {
    const lower = p.slice(0, 9).toLowerCase();
    if (lower === './device/') p = `./${p.slice(9)}`;
    else if (lower.startsWith('./user/')) p = `./User/${p.slice(7)}`;
  }
  return p;
}

type Undo = () => void;

export interface TreeData {
  readonly leaves: readonly (readonly [string, TreeLeaf])[];
  readonly interiors: readonly string[];
  readonly removed: readonly string[];
}

export class DmTree {
  private readonly leaves = new Map<string, TreeLeaf>();
  private readonly interiors = new Set<string>();
  /** Keys whose catalog default was deleted. */
  private readonly removed = new Set<string>();
  private journal: Undo[] | undefined;

  constructor(
    /** Catalog default for a canonical path (undefined when none). */
    private readonly defaultOf: (path: string) => TreeLeaf | undefined = () => undefined,
  ) {}

  /** Current leaf value, falling back to the catalog default. */
  get(path: string): TreeLeaf | undefined {
    const key = canonicalPath(path);
    const own = this.leaves.get(key);
    if (own) return own;
    if (this.removed.has(key)) return undefined;
    return this.defaultOf(key);
  }

  /** True when the node holds a value the device (or the server) set, or is an added interior node. */
  isSet(path: string): boolean {
    const key = canonicalPath(path);
    return this.leaves.has(key) || this.interiors.has(key);
  }

  hasInterior(path: string): boolean {
    const key = canonicalPath(path);
    if (this.interiors.has(key)) return true;
    const prefix = `${key}/`;
    for (const k of this.leaves.keys()) if (k.startsWith(prefix)) return true;
    return false;
  }

  /** Names of the direct children of an interior node (for Get on an interior node, §7.10). */
  children(path: string): string[] {
    const prefix = `${canonicalPath(path)}/`;
    const names = new Set<string>();
    const collect = (k: string) => {
      if (!k.startsWith(prefix)) return;
      const rest = k.slice(prefix.length);
      const slash = rest.indexOf('/');
      names.add(slash === -1 ? rest : rest.slice(0, slash));
    };
    for (const k of this.leaves.keys()) collect(k);
    for (const k of this.interiors) collect(k);
    return [...names].sort();
  }

  set(path: string, leaf: TreeLeaf): void {
    const key = canonicalPath(path);
    const before = this.leaves.get(key);
    const wasRemoved = this.removed.delete(key);
    this.leaves.set(key, leaf);
    this.record(() => {
      if (before) this.leaves.set(key, before);
      else this.leaves.delete(key);
      if (wasRemoved) this.removed.add(key);
    });
  }

  addInterior(path: string): void {
    const key = canonicalPath(path);
    if (this.interiors.has(key)) return;
    this.interiors.add(key);
    this.record(() => this.interiors.delete(key));
  }

  /** Delete a node and its subtree. Returns false when there was nothing to delete. */
  delete(path: string): boolean {
    const key = canonicalPath(path);
    const prefix = `${key}/`;
    const gone: [string, TreeLeaf][] = [];
    for (const [k, v] of this.leaves) if (k === key || k.startsWith(prefix)) gone.push([k, v]);
    const goneInteriors = [...this.interiors].filter((k) => k === key || k.startsWith(prefix));
    const hadDefault = !this.removed.has(key) && this.defaultOf(key) !== undefined;
    if (gone.length === 0 && goneInteriors.length === 0 && !hadDefault) return false;
    for (const [k] of gone) this.leaves.delete(k);
    for (const k of goneInteriors) this.interiors.delete(k);
    if (hadDefault) this.removed.add(key);
    this.record(() => {
      for (const [k, v] of gone) this.leaves.set(k, v);
      for (const k of goneInteriors) this.interiors.add(k);
      if (hadDefault) this.removed.delete(key);
    });
    return true;
  }

  /** Start journaling mutations (Atomic). */
  begin(): void {
    this.journal = [];
  }

  /** Keep the journaled mutations. */
  commit(): void {
    this.journal = undefined;
  }

  /** Undo every mutation since `begin()`. */
  rollback(): void {
    const undo = this.journal ?? [];
    this.journal = undefined;
    for (let i = undo.length - 1; i >= 0; i--) undo[i]!();
  }

  /** Number of values the device holds itself (not counting catalog defaults). */
  get size(): number {
    return this.leaves.size;
  }

  /** Every own value, for inspection and tests. */
  entries(): [string, TreeLeaf][] {
    return [...this.leaves.entries()];
  }

  /** Everything the device holds itself, as plain data (device snapshots). */
  export(): TreeData {
    return { leaves: this.entries(), interiors: [...this.interiors], removed: [...this.removed] };
  }

  static from(data: TreeData, defaultOf?: (path: string) => TreeLeaf | undefined): DmTree {
    const tree = new DmTree(defaultOf);
    for (const [k, v] of data.leaves) tree.leaves.set(k, v);
    for (const k of data.interiors) tree.interiors.add(k);
    for (const k of data.removed) tree.removed.add(k);
    return tree;
  }

  private record(undo: Undo): void {
    this.journal?.push(undo);
  }
}
