// Catalog-backed rules the session machine is given (it stays pure and catalog-agnostic).
import type { CatalogLookup } from '../catalog/types.js';

/**
 * May an Add answered 418 (already exists) be retried as Replace on this path (docs/protocol-notes.md#policy-csp,
 * MS-MDM 2.2.7)? Yes when the catalog lists Replace for the node; nodes the catalog does not know
 * are allowed (the device has the final word). The catalog is loaded on first use.
 */
export function canReplaceFromCatalog(catalog: () => CatalogLookup): (path: string) => boolean {
  return (path) => {
    const node = catalog().resolve(path);
    return !node || node.access.includes('Replace');
  };
}
