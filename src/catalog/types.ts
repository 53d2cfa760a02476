// The CSP catalog's data model: one entry per DDF node (generated into csp-catalog/ from Microsoft's
// DDF v2 files). Shared by the generator, the loader, the policy compiler and the simulator.

import type { DmFormat } from '../shared/dm-command.js';

/** A DDF `DFFormat` is an OMA-DM Meta Format value (docs/protocol-notes.md#meta-format-and-locuri). */
export type NodeFormat = DmFormat;

export type AccessType = 'Get' | 'Add' | 'Replace' | 'Delete' | 'Exec';

/** Where a path applies: `./Device/…`, `./User/…`, or rootless such as `./DevDetail/…`. */
export type NodeScope = 'device' | 'user' | 'rootless';

export interface EnumValue {
  readonly value: string;
  readonly description?: string;
}

/** `MSFT:AllowedValues` in the DDF. */
export type AllowedValues =
  | { readonly kind: 'enum'; readonly values: readonly EnumValue[] }
  | { readonly kind: 'flag'; readonly values: readonly EnumValue[] }
  | {
      readonly kind: 'range';
      readonly min: number;
      readonly max: number;
      readonly raw: string;
      /** The inclusive intervals when `raw` lists several (`[1-5,10]`); `min`/`max` span them all. */
      readonly intervals?: readonly (readonly [number, number])[];
    }
  | { readonly kind: 'regex'; readonly pattern: string }
  | {
      readonly kind: 'admx';
      readonly admxFile?: string;
      readonly area?: string;
      readonly category?: string;
      readonly policy?: string;
      readonly nativeType?: string;
    }
  | { readonly kind: 'xsd' | 'json' | 'sddl'; readonly raw?: string }
  | { readonly kind: 'none' };

export interface Applicability {
  /** Minimum OS build, e.g. `10.0.19041` (from MSFT:OsBuildVersion). */
  readonly minOsBuild?: string;
  /** CSP version that introduced the node. */
  readonly cspVersion?: string;
  /** Allowed edition ids (from MSFT:EditionAllowList, decimal strings). */
  readonly editions?: readonly string[];
  /**
   * Every build listed in MSFT:OsBuildVersion, as written: the release that introduced the node
   * followed by servicing back-ports (`10.0.22000, 10.0.19043.1202, …`). `minOsBuild` is the lowest.
   */
  readonly osBuilds?: readonly string[];
  /** Build from which the node is deprecated (MSFT:Deprecated OsBuildDeprecated), or `''` when undated. */
  readonly deprecatedIn?: string;
}

export interface Dependency {
  /** Dependency type from the DDF (e.g. `DependsOn`). */
  readonly type: string;
  /** Path of the node depended on (as written in the DDF). */
  readonly path: string;
  /** Value(s) the dependency requires, when the DDF gives one. */
  readonly value?: string;
  /** `ValueType` of the required value (`ENUM`, `Range`, `ADMX`, …). */
  readonly valueType?: string;
  /** The node's allowed values while this dependency holds (MSFT:DependencyChangedAllowedValues). */
  readonly changedAllowed?: AllowedValues;
}

export interface CatalogNode {
  /** Canonical path as the device sees it; dynamic segments kept as `{Name}`. */
  readonly path: string;
  /** Other paths for the same node (e.g. `./Vendor/MSFT/…` without a scope prefix). */
  readonly aliases?: readonly string[];
  /** CSP this node belongs to (e.g. `Policy`, `BitLocker`, `DevDetail`). */
  readonly csp: string;
  readonly scope: NodeScope;
  readonly format: NodeFormat;
  readonly access: readonly AccessType[];
  /** MIME type from `DFType` (e.g. `text/plain`). */
  readonly mime?: string;
  readonly defaultValue?: string;
  readonly description?: string;
  readonly allowed?: AllowedValues;
  readonly applicability?: Applicability;
  readonly dependencies?: readonly Dependency[];
  /** True when at least one segment of the path is a dynamic name (`{ProviderID}`). */
  readonly dynamic?: boolean;
  /** The DDF file the node came from. */
  readonly source: string;
  /** Policy CSP only: the policy area (`DeviceLock`, `ADMX_Bits`) of nodes under `Policy/Config|Result/{Area}`. */
  readonly area?: string;
  /** `Occurrence` from the DDF (`One`, `ZeroOrOne`, `ZeroOrMore`, `OneOrMore`). */
  readonly occurrence?: string;
  /** `DFTitle` when it differs from the node name (a dynamic node's title is its `{Name}` segment). */
  readonly title?: string;
  /** How the device merges values from several sources (MSFT:ConflictResolution). */
  readonly conflictResolution?: string;
  /** Group Policy this setting maps to (MSFT:GpMapping) for non-ADMX policies. */
  readonly gpMapping?: { readonly name: string; readonly areaPath?: string; readonly element?: string };
  /**
   * Set on read-only `Policy/Result/{Area}/{Policy}` nodes, which the DDF does not list: the loader
   * derives them from the matching `Policy/Config/…` node (docs/protocol-notes.md#policy-csp), whose path this is.
   */
  readonly derivedFrom?: string;
}

/** Read access to the catalog (implemented by `src/catalog/catalog.ts`). */
export interface CatalogLookup {
  /**
   * Find the node for a concrete device path. Accepts `./Device/…`, `./User/…`, `./Vendor/MSFT/…`
   * (device scope), rootless paths, lower-case `./device`/`./user`, and concrete values for dynamic
   * segments (`./Vendor/MSFT/DMClient/Provider/MyMDM/…` matches `…/Provider/{ProviderID}/…`).
   */
  resolve(path: string): CatalogNode | undefined;
  /** Exact lookup by canonical path (O(1)). */
  get(path: string): CatalogNode | undefined;
  /** Every node, in canonical path order. */
  all(): readonly CatalogNode[];
}
