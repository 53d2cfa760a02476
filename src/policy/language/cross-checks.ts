// Checks across the settings of one policy (after each is resolved on its own): a node set twice,
// and settings whose catalog dependency (`MSFT:DependencyBehavior`, type DependsOn) is not met by
// another setting of the same policy.
import { normalizePath } from '../../catalog/paths.js';
import type { CatalogLookup, CatalogNode, Dependency } from '../../catalog/types.js';
import type { PolicyIssue, PolicyIssueCode, SourcePosition } from './errors.js';
import type { ParsedSetting } from './parse.js';
import { concretePath, type PolicyScope, policyParts, policyPath } from './short-form.js';

/** What the cross-checks read of a setting resolved by validate.ts (its `ResolvedSetting`). */
export interface CheckedSetting {
  readonly source: Pick<ParsedSetting, 'path'>;
  readonly node: Pick<CatalogNode, 'path' | 'dependencies'>;
  /** LocURI sent to the device. */
  readonly path: string;
  /** The setting's name as written, for messages. */
  readonly name: string;
  readonly value: string;
}

function issue(pos: SourcePosition, code: PolicyIssueCode, message: string): PolicyIssue {
  return { ...pos, code, severity: 'error', message };
}

export function checkDuplicates<S extends CheckedSetting>(
  settings: readonly S[],
  issues: PolicyIssue[],
): S[] {
  const seen = new Map<string, S>();
  const out: S[] = [];
  for (const s of settings) {
    const first = seen.get(s.path);
    if (!first) {
      seen.set(s.path, s);
      out.push(s);
      continue;
    }
    const line = first.source.path.pos.line;
    if (first.value === s.value) {
      issues.push({
        ...s.source.path.pos,
        code: 'duplicate-setting',
        severity: 'warning',
        message: `${s.name} is already set to the same value on line ${line}; remove one of them`,
      });
    } else {
      issues.push(
        issue(
          s.source.path.pos,
          'duplicate-setting',
          `${s.name} is set twice with different values: ${JSON.stringify(first.value)} on line ${line} ` +
            `and ${JSON.stringify(s.value)} here; keep one`,
        ),
      );
    }
  }
  return out;
}

/** Settings of both scopes name the same Policy CSP policy by `area/policy`. */
function settingKey(path: string): string {
  const parts = policyParts(path);
  if (parts) return `policy:${parts.area}/${parts.policy}`.toLowerCase();
  return path.toLowerCase().replace(/^\.\/device\/vendor\//, './vendor/');
}

export function checkDependencies(
  settings: readonly CheckedSetting[],
  scope: PolicyScope,
  catalog: CatalogLookup,
  issues: PolicyIssue[],
): void {
  const byKey = new Map(settings.map((s) => [settingKey(s.path), s]));
  for (const s of settings) {
    for (const dep of s.node.dependencies ?? []) {
      if (dep.type !== 'DependsOn') continue;
      const depPath = dependencyPath(fillDynamic(dep.path, s), catalog);
      const other = byKey.get(settingKey(depPath));
      const parts = policyParts(depPath);
      const depName = parts ? `${parts.area}/${parts.policy}` : readable(depPath);
      const wanted = describeRequired(dep);
      if (!other) {
        const example = parts ? policyPath(parts.area, parts.policy, scope) : readable(depPath);
        issues.push(
          issue(
            s.source.path.pos,
            'missing-dependency',
            `${s.name} only takes effect when ${depName} is ${wanted}; add that setting to this policy (${example})`,
          ),
        );
      } else if (!satisfies(dep, other.value)) {
        issues.push(
          issue(
            s.source.path.pos,
            'missing-dependency',
            `${s.name} only takes effect when ${depName} is ${wanted}, but line ${other.source.path.pos.line} ` +
              `sets it to ${JSON.stringify(other.value)}`,
          ),
        );
      }
    }
  }
}

/**
 * A dependency under the same dynamic instance (`…/Addresses/[Id]/AutoResolve` for a setting under
 * `…/Addresses/{Id}/…`) refers to the instance the dependent setting names.
 */
function fillDynamic(depPath: string, s: CheckedSetting): string {
  if (!depPath.includes('[')) return depPath;
  const nodeSegments = s.node.path.split('/');
  const concrete = s.path.split('/');
  return depPath.replace(/\[([^\]]+)\]/g, (whole, name: string) => {
    const i = nodeSegments.indexOf(`{${name}}`);
    return i >= 0 && concrete[i] !== undefined ? concrete[i]! : whole;
  });
}

/** A LocURI with percent-escapes undone, for messages. */
function readable(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/** The DDF writes dependency paths without `./`; the path is spelled as settings' paths are. */
function dependencyPath(path: string, catalog: CatalogLookup): string {
  const normalized = normalizePath(path);
  const node = catalog.resolve(normalized);
  return node ? concretePath(node.path, normalized) : normalized;
}

function rangeAlternatives(value: string): [number, number][] | undefined {
  const body = /^\[(.*)\]$/s.exec(value.trim())?.[1];
  if (body === undefined) return undefined;
  const out: [number, number][] = [];
  for (const part of body.split(',')) {
    const m = /^\s*(-?\d+)\s*(?:-\s*(-?\d+))?\s*$/.exec(part);
    if (!m) return undefined;
    out.push([Number(m[1]), Number(m[2] ?? m[1])]);
  }
  return out;
}

function describeRequired(dep: Dependency): string {
  const value = dep.value ?? '';
  if (dep.valueType === 'ADMX') return '`enabled`';
  const ranges = rangeAlternatives(value);
  if (ranges) {
    return ranges.map(([a, b]) => (a === b ? String(a) : `between ${a} and ${b}`)).join(' or ');
  }
  if (value === '') return 'set';
  return value.split(',').join(' or ');
}

function satisfies(dep: Dependency, actual: string): boolean {
  const value = dep.value ?? '';
  if (dep.valueType === 'ADMX') return actual.startsWith('<enabled/>');
  if (value === '') return true;
  const ranges = rangeAlternatives(value);
  if (ranges) {
    const n = Number(actual);
    return Number.isFinite(n) && ranges.some(([a, b]) => n >= a && n <= b);
  }
  return value.split(',').some((v) => v.trim().toLowerCase() === actual.trim().toLowerCase());
}
