// OMA-DM node paths as the catalog understands them (docs/protocol-notes.md#meta-format-and-locuri): `./Device/…`, `./User/…`,
// `./Vendor/MSFT/…` (no prefix = device), rootless `./DevDetail/…`, and `{Name}` dynamic segments.
import type { NodeScope } from './types.js';

const DEVICE_PREFIX = './Device/';
const USER_PREFIX = './User/';
const UNSCOPED_VENDOR = './Vendor/MSFT/';
const DEVICE_VENDOR = './Device/Vendor/MSFT/';
const SCOPE_PREFIX_RE = /^\.\/(device|user)(?=\/|$)/i;

/** `{ProviderID}`: a segment standing for a name the server or device chooses. */
export function isDynamicSegment(segment: string): boolean {
  return segment.length > 2 && segment.startsWith('{') && segment.endsWith('}');
}

export function splitPath(path: string): string[] {
  return path.split('/');
}

export function lastSegment(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

export function parentPath(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '' : path.slice(0, i);
}

export function scopeOf(path: string): NodeScope {
  if (path.startsWith(USER_PREFIX)) return 'user';
  if (path.startsWith(DEVICE_PREFIX) || path.startsWith(UNSCOPED_VENDOR)) return 'device';
  return 'rootless';
}

/**
 * Canonical spelling of a path typed by a person or sent by a device: trims whitespace and trailing
 * slashes, writes the scope prefix as `./Device`/`./User` (Microsoft's samples use lower case,
 * docs/protocol-notes.md#meta-format-and-locuri) and percent-decodes segments (`%7BProviderID%7D` → `{ProviderID}`).
 */
export function normalizePath(input: string): string {
  let p = input.trim();
  while (p.length > 2 && p.endsWith('/')) p = p.slice(0, -1);
  if (p.startsWith('/')) p = `.${p}`;
  else if (!p.startsWith('./') && p !== '.') p = `./${p}`;
  p = p.replace(SCOPE_PREFIX_RE, (_m, scope: string) =>
    scope.toLowerCase() === 'device' ? './Device' : './User',
  );
  if (p.includes('%')) p = splitPath(p).map(decodeSegment).join('/');
  return p;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/**
 * The spellings under which a device-scope node may be addressed: `./Device/Vendor/MSFT/X` and
 * `./Vendor/MSFT/X` name the same node (docs/protocol-notes.md#meta-format-and-locuri, "without a prefix the target is the device").
 * The given (normalized) path comes first.
 */
export function scopeVariants(normalized: string): string[] {
  if (normalized.startsWith(DEVICE_VENDOR)) {
    return [normalized, `./${normalized.slice(DEVICE_PREFIX.length)}`];
  }
  if (normalized.startsWith(UNSCOPED_VENDOR)) {
    return [normalized, `./Device/${normalized.slice(2)}`];
  }
  return [normalized];
}

/** The other spelling of a device-scope path (see `scopeVariants`), or undefined. */
export function deviceAlias(path: string): string | undefined {
  const variants = scopeVariants(path);
  return variants.length > 1 ? variants[1] : undefined;
}

const POLICY_CONFIG_RE = /^(\.\/(?:Device|User)\/Vendor\/MSFT\/Policy)\/Config\/(.+)$/;

/** `…/Policy/Config/{Area}/{Policy}` → `…/Policy/Result/{Area}/{Policy}` (docs/protocol-notes.md#policy-csp). */
export function policyResultPath(configPath: string): string | undefined {
  const m = POLICY_CONFIG_RE.exec(configPath);
  return m ? `${m[1]}/Result/${m[2]}` : undefined;
}

/** Canonical Policy CSP setting path: `./Device/Vendor/MSFT/Policy/Config/{Area}/{Policy}`. */
export function policyConfigPath(area: string, policy: string, scope: 'device' | 'user' = 'device'): string {
  return `./${scope === 'user' ? 'User' : 'Device'}/Vendor/MSFT/Policy/Config/${area}/${policy}`;
}
