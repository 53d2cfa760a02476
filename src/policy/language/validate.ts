// Checks a parsed policy against the CSP catalog: every setting must name a writable node in the
// policy's scope, available on the targeted Windows build, with a value the node accepts; no node is
// set twice; settings a node depends on are present. All problems are collected, each at the key or
// value at fault. The result carries the settings resolved to nodes and wire values for compile.ts.
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { nearestPaths } from '../../catalog/suggest.js';
import type { CatalogLookup, CatalogNode, NodeFormat } from '../../catalog/types.js';
import type { AppPlan, HostedFile } from '../apps/types.js';
import { validateApps } from '../apps/validate.js';
import type { CertificateProfilePlan } from './certificates.js';
import { checkDependencies, checkDuplicates } from './cross-checks.js';
import type { PolicyIssue, PolicyIssueCode, SourcePosition } from './errors.js';
import { hasErrors } from './errors.js';
import { buildSupports, oldestBuild } from './os-build.js';
import type { Located, ParsedPolicy, ParsedSetting } from './parse.js';
import { concretePath, displayPath, expandPath, type PolicyScope } from './short-form.js';
import { wireValue } from './values.js';

export interface ResolvedSetting {
  readonly source: ParsedSetting;
  readonly node: CatalogNode;
  /** LocURI sent to the device (canonical scope prefix, dynamic segments filled in and escaped). */
  readonly path: string;
  /** The setting's name as written (`DeviceLock/DevicePasswordEnabled` or a full path), for messages. */
  readonly name: string;
  /** Data as sent (unescaped; the SyncML codec escapes it). */
  readonly value: string;
  readonly format: NodeFormat;
  readonly type?: string;
  /** ADMX-backed: the value is an `<enabled/>`/`<disabled/>` payload. */
  readonly admx: boolean;
}

export interface ValidatedPolicy {
  readonly file: string;
  readonly name: string;
  readonly description?: string;
  readonly scope: PolicyScope;
  readonly minOsBuild?: string;
  readonly atomic: boolean;
  readonly settings: readonly ResolvedSetting[];
  /** The `apps:` entries compiled (apps/validate.ts). */
  readonly apps: readonly AppPlan[];
  /** Local packages the server hosts for this policy. */
  readonly hosted: readonly HostedFile[];
  /** SCEP certificate profiles (`certificates:`). */
  readonly certificates?: readonly CertificateProfilePlan[];
}

export interface ValidateOptions {
  /** Folder that relative `file:` names are resolved against (default: the current directory). */
  readonly baseDir?: string;
  /** Reads a `file:` value. Without it, settings with `file:` are reported as unreadable. */
  readonly readFile?: (absolutePath: string) => Buffer;
}

export interface ValidationResult {
  /** Present when there are no errors (warnings may exist). */
  readonly policy?: ValidatedPolicy;
  readonly issues: readonly PolicyIssue[];
}

/** Lookups a full `Catalog` offers beyond `CatalogLookup`; used when present. */
interface RichCatalog extends CatalogLookup {
  closest?(path: string, n?: number): string[];
  children?(path: string): CatalogNode[];
}

/** `Config/{AreaName}/{PolicyName}` of the Policy CSP skeleton: matched only by ingested ADMX areas. */
const INGESTED_ADMX_RE = /\/Vendor\/MSFT\/Policy\/Config\/\{[^}]+\}\/\{[^}]+\}$/;

function issue(pos: SourcePosition, code: PolicyIssueCode, message: string): PolicyIssue {
  return { ...pos, code, severity: 'error', message };
}

export function validatePolicy(
  parsed: ParsedPolicy,
  catalog: CatalogLookup,
  options: ValidateOptions = {},
): ValidationResult {
  const issues: PolicyIssue[] = [];
  const resolved: ResolvedSetting[] = [];
  for (const setting of parsed.settings) {
    const r = resolveSetting(setting, parsed, catalog as RichCatalog, options, issues);
    if (r) resolved.push(r);
  }
  const unique = checkDuplicates(resolved, issues);
  checkDependencies(unique, parsed.scope, catalog, issues);
  const apps = validateApps(parsed, options, issues);
  if (hasErrors(issues)) return { issues };
  return {
    issues,
    policy: {
      file: parsed.file,
      name: String(parsed.name.value),
      ...(parsed.description !== undefined ? { description: parsed.description } : {}),
      scope: parsed.scope,
      ...(parsed.minOsBuild ? { minOsBuild: parsed.minOsBuild.value } : {}),
      atomic: parsed.atomic,
      settings: unique,
      apps: apps.apps,
      hosted: apps.hosted,
      ...(parsed.certificates?.length ? { certificates: parsed.certificates } : {}),
    },
  };
}

function resolveSetting(
  setting: ParsedSetting,
  policy: ParsedPolicy,
  catalog: RichCatalog,
  options: ValidateOptions,
  issues: PolicyIssue[],
): ResolvedSetting | undefined {
  const written = String(setting.path.value);
  const at = setting.path.pos;
  const expanded = expandPath(written, policy.scope);
  if (!expanded.ok) {
    issues.push(issue(at, 'bad-path', expanded.message));
    return undefined;
  }
  const name = written.trim();
  const node = resolveNode(catalog, expanded.path);
  if (!node) {
    issues.push(unknownPath(catalog, expanded.path, expanded.short, name, policy.scope, at));
    return undefined;
  }
  const scopeProblem = scopeMismatch(node, name, policy.scope, catalog);
  if (scopeProblem) {
    issues.push(issue(at, 'scope-mismatch', scopeProblem));
    return undefined;
  }
  const writeProblem = notWritable(node, name, catalog);
  if (writeProblem) {
    issues.push(issue(at, 'not-writable', writeProblem));
    return undefined;
  }
  const osBuild = node.applicability?.minOsBuild;
  const target = policy.minOsBuild;
  if (osBuild && target && !buildSupports(target.value, osBuild)) {
    const oldest = oldestBuild(osBuild)?.text ?? osBuild;
    issues.push(
      issue(
        at,
        'os-build',
        `${name} needs Windows ${oldest} or later, but this policy targets ${target.value} ` +
          `(target.minOsBuild); raise minOsBuild or remove the setting`,
      ),
    );
    return undefined;
  }
  const ingestedAdmx = INGESTED_ADMX_RE.test(node.path);
  const admx = ingestedAdmx || node.allowed?.kind === 'admx';
  const format: NodeFormat = ingestedAdmx ? 'chr' : node.format;
  let file: { bytes: Buffer; path: string } | undefined;
  if (setting.file) {
    file = readSettingFile(setting.file, options, issues);
    if (!file) return undefined;
  }
  const wire = wireValue({
    node,
    format,
    admx,
    name,
    setting,
    ...(file ? { fileBytes: file.bytes, filePath: file.path } : {}),
  });
  if (!wire.ok) {
    issues.push(...wire.issues);
    return undefined;
  }
  const type = ingestedAdmx ? 'text/plain' : mimeType(node.mime);
  return {
    source: setting,
    node,
    path: concretePath(node.path, expanded.path),
    name,
    value: wire.value,
    format,
    ...(type ? { type } : {}),
    admx,
  };
}

/**
 * The node for a Config path is the Config node even when the catalog also files the Result twin
 * under a Config spelling (the twin is read-only and only for `…/Policy/Result/…` paths).
 */
function resolveNode(catalog: CatalogLookup, path: string): CatalogNode | undefined {
  const node = catalog.resolve(path);
  if (node?.derivedFrom && path.includes('/Policy/Config/')) return catalog.get(node.derivedFrom) ?? node;
  return node;
}

/** `text/plain` and the like; DDF type names of interior nodes are not Meta Types of values. */
function mimeType(mime: string | undefined): string | undefined {
  return mime && /^[a-z]+\/[\w.+-]+$/i.test(mime) && !mime.startsWith('com.') ? mime : undefined;
}

function readSettingFile(
  file: Located<string>,
  options: ValidateOptions,
  issues: PolicyIssue[],
): { bytes: Buffer; path: string } | undefined {
  const name = String(file.value);
  const full = isAbsolute(name) ? name : resolvePath(options.baseDir ?? '.', name);
  if (!options.readFile) {
    issues.push(issue(file.pos, 'file-read', `cannot read \`${name}\`: no file access in this context`));
    return undefined;
  }
  try {
    return { bytes: options.readFile(full), path: full };
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    issues.push(issue(file.pos, 'file-read', `cannot read \`${name}\` (${full}): ${reason}`));
    return undefined;
  }
}

function otherScopePath(path: string): string | undefined {
  if (path.startsWith('./Device/')) return `./User/${path.slice('./Device/'.length)}`;
  if (path.startsWith('./User/')) return `./Device/${path.slice('./User/'.length)}`;
  if (path.startsWith('./Vendor/')) return `./User/${path.slice(2)}`;
  return undefined;
}

function unknownPath(
  catalog: RichCatalog,
  path: string,
  short: boolean,
  name: string,
  scope: PolicyScope,
  at: SourcePosition,
): PolicyIssue {
  const other = otherScopePath(path);
  const twin = other ? catalog.resolve(other) : undefined;
  if (twin && !twin.derivedFrom) {
    const message = scopeMismatch(twin, name, scope, catalog);
    if (message) return issue(at, 'scope-mismatch', message);
  }
  const suggestions = suggest(catalog, path, scope).map((p) => `\`${displayPath(p, short)}\``);
  const hint =
    suggestions.length === 0
      ? 'no similar node in the catalog'
      : suggestions.length === 1
        ? `did you mean ${suggestions[0]}?`
        : `did you mean one of ${suggestions.join(', ')}?`;
  const where = short ? ` (${path})` : '';
  return issue(at, 'unknown-path', `unknown setting \`${name}\`${where}: not in the CSP catalog; ${hint}`);
}

/** Closest writable paths in the same scope, best first. */
function suggest(catalog: RichCatalog, path: string, scope: PolicyScope): string[] {
  const candidates = catalog.closest
    ? catalog.closest(path, 12)
    : nearestPaths(path, catalog.all().filter(isWritableLeaf), 12);
  const out: string[] = [];
  for (const p of candidates) {
    const node = catalog.get(p);
    if (!node || !isWritableLeaf(node)) continue;
    if ((node.scope === 'user') !== (scope === 'user')) continue;
    out.push(node.path);
    if (out.length === 3) break;
  }
  return out;
}

function isWritableLeaf(node: CatalogNode): boolean {
  return (
    node.format !== 'node' &&
    !node.derivedFrom &&
    (node.access.includes('Add') || node.access.includes('Replace')) &&
    !INGESTED_ADMX_RE.test(node.path)
  );
}

function scopeMismatch(
  node: CatalogNode,
  name: string,
  scope: PolicyScope,
  catalog: CatalogLookup,
): string | undefined {
  if (scope === 'device' && node.scope === 'user') {
    return (
      `${name} is a user setting (${node.path}) but this policy targets devices; ` +
      'put it in a policy with `target: { scope: user }`'
    );
  }
  if (scope === 'user' && node.scope !== 'user') {
    const twin = otherScopePath(node.path);
    const userTwin = twin?.startsWith('./User/') ? catalog.resolve(twin) : undefined;
    const fix = userTwin ? `use ${userTwin.path}` : 'put it in a device policy';
    return `${name} is a device setting (${node.path}) but this policy targets users (target.scope: user); ${fix}`;
  }
  return undefined;
}

function notWritable(node: CatalogNode, name: string, catalog: RichCatalog): string | undefined {
  if (node.derivedFrom) {
    return `${name} is the read-only effective value of a policy; set ${node.derivedFrom} instead`;
  }
  if (node.format === 'node') {
    const children = (catalog.children?.(node.path) ?? [])
      .filter(isWritableLeaf)
      .slice(0, 3)
      .map((c) => c.path.slice(c.path.lastIndexOf('/') + 1));
    const examples = children.length > 0 ? ` (e.g. ${children.join(', ')})` : '';
    return `${name} is an interior node, not a setting; set one of the settings under it${examples}`;
  }
  const writable = node.access.includes('Add') || node.access.includes('Replace');
  if (writable) return undefined;
  if (node.access.includes('Exec')) {
    return `${name} is an operation (access: ${node.access.join(', ')}), not a setting; run it as a device action`;
  }
  return `${name} is read-only (access: ${node.access.join(', ') || 'none'}); a policy can only set nodes that take Add or Replace`;
}
