// How a setting names its node: a full LocURI (`./Device/Vendor/MSFT/BitLocker/…`, `./Vendor/MSFT/…`,
// `./User/…`, rootless `./DevDetail/…`) or the Policy CSP short form `Area/Policy`
// (docs/protocol-notes.md#policy-csp). LocURI rules from docs/protocol-notes.md#meta-format-and-locuri.
import { isDynamicSegment, normalizePath } from '../../catalog/paths.js';

export type PolicyScope = 'device' | 'user';

export type ExpandedPath =
  | { readonly ok: true; readonly path: string; readonly short: boolean }
  | { readonly ok: false; readonly message: string };

const POLICY_CONFIG_RE = /^\.\/(Device|User)\/Vendor\/MSFT\/Policy\/Config\/([^/]+)\/([^/]+)$/;
const SCOPE_WORD_RE = /^(device|user|vendor)\//i;

/** `./Device/Vendor/MSFT/Policy/Config/{area}/{policy}` (or `./User/…`). */
export function policyPath(area: string, policy: string, scope: PolicyScope): string {
  return `./${scope === 'user' ? 'User' : 'Device'}/Vendor/MSFT/Policy/Config/${area}/${policy}`;
}

/** Area and policy name of a `…/Policy/Config/{Area}/{Policy}` path. */
export function policyParts(path: string): { scope: PolicyScope; area: string; policy: string } | undefined {
  const m = POLICY_CONFIG_RE.exec(path);
  if (!m) return undefined;
  return { scope: m[1] === 'User' ? 'user' : 'device', area: m[2]!, policy: m[3]! };
}

/** A path the way the admin wrote it: short form when they used it. */
export function displayPath(path: string, short: boolean): string {
  const parts = short ? policyParts(path) : undefined;
  return parts ? `${parts.area}/${parts.policy}` : path;
}

/** Turn what the admin wrote into a normalized LocURI (not yet resolved against the catalog). */
export function expandPath(input: string, scope: PolicyScope): ExpandedPath {
  const text = input.trim();
  if (text.startsWith('/')) {
    return { ok: false, message: `path \`${text}\` must not start with "/"; write \`.${text}\`` };
  }
  let full: string;
  let short = false;
  if (text.startsWith('./')) full = text;
  else if (SCOPE_WORD_RE.test(text)) full = `./${text}`;
  else {
    const segments = text.split('/');
    if (segments.length !== 2) {
      return {
        ok: false,
        message:
          `path \`${text}\` is neither a full node path (\`./Device/Vendor/MSFT/…\`, \`./User/…\`, \`./Vendor/MSFT/…\`) ` +
          'nor a Policy CSP short form (`Area/Policy`, e.g. `DeviceLock/DevicePasswordEnabled`)',
      };
    }
    full = policyPath(segments[0]!, segments[1]!, scope);
    short = true;
  }
  const segments = full.split('/');
  for (let i = 1; i < segments.length; i++) {
    const seg = segments[i]!;
    if (seg === '' && i === segments.length - 1) continue; // trailing slash, dropped by normalizePath
    if (seg === '' || seg === '*' || seg === '.' || seg === '..') {
      const what = seg === '' ? 'an empty segment' : `the segment "${seg}"`;
      return {
        ok: false,
        message: `path \`${text}\` has ${what}; node names cannot be empty, "*", "." or ".." (docs/protocol-notes.md#meta-format-and-locuri)`,
      };
    }
  }
  return { ok: true, path: normalizePath(full), short };
}

/**
 * The LocURI to send: the node's canonical path with each `{Dynamic}` segment replaced by the name
 * the admin gave, percent-encoded (space → `%20`, `{`/`}` → `%7B`/`%7D`; docs/protocol-notes.md#meta-format-and-locuri).
 * Segments are aligned from the end, so `./Vendor/MSFT/…` input maps onto a `./Device/Vendor/MSFT/…` node.
 */
export function concretePath(nodePath: string, normalizedInput: string): string {
  const nodeSegments = nodePath.split('/');
  const inputSegments = normalizedInput.split('/');
  const shift = inputSegments.length - nodeSegments.length;
  return nodeSegments
    .map((seg, i) => {
      if (!isDynamicSegment(seg)) return seg;
      const given = inputSegments[i + shift];
      return given === undefined ? seg : encodeURIComponent(given);
    })
    .join('/');
}
