// One DDF v2 file (OMA DM DDF 1.2 with Microsoft's MSFT: extensions) → catalog nodes.
// A `<Node>` is addressed by its ancestors' names under the root node's `<Path>`; a node with an
// empty `<NodeName>` is dynamic and is written `{DFTitle}` (e.g. `…/Provider/{ProviderID}`).
import { childElement, childElements, parseXml, path, textOf, type XmlElement } from '../codec/xml.js';
import { DM_FORMATS } from '../shared/dm-command.js';
import { stripDoctype } from './ddf-doctype.js';
import { readAllowedValues, readDependencies } from './ddf-values.js';
import { deviceAlias, isDynamicSegment, scopeOf, splitPath } from './paths.js';
import type { AccessType, Applicability, CatalogNode, NodeFormat } from './types.js';

/** DDF files are trusted-but-large input: bigger limits than protocol messages, same hardening. */
const DDF_LIMITS = { maxBytes: 32 * 1024 * 1024, maxDepth: 512 };

const FORMATS: ReadonlySet<string> = new Set(DM_FORMATS);
/** Access types in the order the catalog lists them. */
const ACCESS_ORDER: readonly AccessType[] = ['Get', 'Add', 'Replace', 'Delete', 'Exec'];

export interface DdfFileResult {
  readonly nodes: CatalogNode[];
  /** `<Node>` elements in the file. */
  readonly nodeCount: number;
  /** Of those, nodes whose format is not `node`. */
  readonly leafCount: number;
  /** Root paths (`<Path>` + root `<NodeName>`), as INDEX.tsv lists them. */
  readonly roots: string[];
  /** Oddities that did not stop the parse (unknown format, dynamic node without a title, …). */
  readonly warnings: string[];
}

export class DdfError extends Error {
  override name = 'DdfError';
}

export function parseDdf(text: string, source: string): DdfFileResult {
  const root = parseXml(stripDoctype(text), DDF_LIMITS);
  if (root.local !== 'MgmtTree')
    throw new DdfError(`${source}: root element is <${root.name}>, not MgmtTree`);
  const result: Mutable<DdfFileResult> = { nodes: [], nodeCount: 0, leafCount: 0, roots: [], warnings: [] };
  for (const top of childElements(root, 'Node')) {
    const base = normalizeBase(textOf(childElement(top, 'Path')).trim());
    const path = `${base}/${nodeName(top, source, base, result.warnings)}`;
    result.roots.push(path);
    walk(top, path, source, result);
  }
  return result;
}

/** `.` → `.`, `./Vendor/MSFT/` → `./Vendor/MSFT`, `` → `.`; always starts with `.`. */
function normalizeBase(path: string): string {
  let p = path === '' ? '.' : path;
  while (p.length > 1 && p.endsWith('/')) p = p.slice(0, -1);
  if (!p.startsWith('.')) p = p.startsWith('/') ? `.${p}` : `./${p}`;
  return p;
}

function nodeName(el: XmlElement, source: string, parent: string, warnings: string[]): string {
  const name = textOf(childElement(el, 'NodeName')).trim();
  if (name !== '') return name;
  const title = textOf(path(el, 'DFProperties', 'DFTitle')).trim();
  if (title !== '') return `{${title}}`;
  warnings.push(`${source}: dynamic node under ${parent} has no DFTitle; named {Name}`);
  return '{Name}';
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function walk(el: XmlElement, nodePath: string, source: string, out: Mutable<DdfFileResult>): void {
  const node = readNode(el, nodePath, source, out.warnings);
  out.nodes.push(node);
  out.nodeCount++;
  if (node.format !== 'node') out.leafCount++;
  for (const child of childElements(el, 'Node')) {
    walk(child, `${nodePath}/${nodeName(child, source, nodePath, out.warnings)}`, source, out);
  }
}

function readNode(el: XmlElement, nodePath: string, source: string, warnings: string[]): CatalogNode {
  const props = childElement(el, 'DFProperties');
  const format = readFormat(props, nodePath, source, warnings);
  const segments = splitPath(nodePath);
  const { csp, area } = cspOf(segments);
  const scope = scopeOf(nodePath);
  const alias = scope === 'device' ? deviceAlias(nodePath) : undefined;
  const mimeEl = path(props, 'DFType', 'MIME');
  const mime = mimeEl ? textOf(mimeEl).trim() : '';
  const defaultEl = props ? childElement(props, 'DefaultValue') : undefined;
  const warn = (message: string) => warnings.push(`${source}: ${nodePath}: ${message}`);
  const allowed = props ? readAllowedValues(props, area, warn) : undefined;
  const dependencies = props ? readDependencies(props, area, warn) : [];
  const gp = path(props, 'GpMapping');
  const title = textOf(path(props, 'DFTitle')).trim();
  const last = segments[segments.length - 1];
  const node: CatalogNode = {
    path: nodePath,
    ...(alias ? { aliases: [alias] } : {}),
    csp,
    ...(area ? { area } : {}),
    scope,
    format,
    access: readAccess(props),
    ...(mime ? { mime } : {}),
    ...(defaultEl ? { defaultValue: textOf(defaultEl) } : {}),
    ...optionalText('description', cleanDescription(textOf(path(props, 'Description')))),
    ...(allowed ? { allowed } : {}),
    ...optionalObject('applicability', readApplicability(props)),
    ...(dependencies.length > 0 ? { dependencies } : {}),
    ...(segments.some(isDynamicSegment) ? { dynamic: true } : {}),
    ...optionalText('title', title === last || `{${title}}` === last ? '' : title),
    ...optionalText('occurrence', firstChildName(path(props, 'Occurrence'))),
    ...optionalText('conflictResolution', textOf(path(props, 'ConflictResolution')).trim()),
    ...(gp?.attrs.GpEnglishName
      ? {
          gpMapping: {
            name: gp.attrs.GpEnglishName,
            ...optionalText('areaPath', gp.attrs.GpAreaPath ?? ''),
            ...optionalText('element', gp.attrs.GpElement ?? ''),
          },
        }
      : {}),
    source,
  };
  return node;
}

function optionalText<K extends string>(key: K, value: string): { [P in K]?: string } {
  return (value === '' ? {} : { [key]: value }) as { [P in K]?: string };
}

function optionalObject<K extends string, V extends object>(key: K, value: V): { [P in K]?: V } {
  return (Object.keys(value).length === 0 ? {} : { [key]: value }) as { [P in K]?: V };
}

function firstChildName(el: XmlElement | undefined): string {
  return el ? (childElements(el)[0]?.local ?? '') : '';
}

function readFormat(
  props: XmlElement | undefined,
  nodePath: string,
  source: string,
  warnings: string[],
): NodeFormat {
  const name = firstChildName(path(props, 'DFFormat'));
  if (FORMATS.has(name)) return name as NodeFormat;
  warnings.push(`${source}: ${nodePath} has unknown DFFormat "${name}"; recorded as chr`);
  return 'chr';
}

function readAccess(props: XmlElement | undefined): AccessType[] {
  const el = path(props, 'AccessType');
  const given = new Set(el ? childElements(el).map((c) => c.local) : []);
  return ACCESS_ORDER.filter((a) => given.has(a));
}

function readApplicability(props: XmlElement | undefined): Applicability {
  const el = path(props, 'Applicability');
  const deprecated = path(props, 'Deprecated');
  const builds = el ? splitList(textOf(childElement(el, 'OsBuildVersion')), ',') : [];
  const editions = el ? splitList(textOf(childElement(el, 'EditionAllowList')), ';').map(editionId) : [];
  const cspVersion = el ? textOf(childElement(el, 'CspVersion')).trim() : '';
  return {
    ...(builds.length > 0 ? { minOsBuild: lowestBuild(builds) } : {}),
    ...optionalText('cspVersion', cspVersion),
    ...(editions.length > 0 ? { editions } : {}),
    ...(builds.length > 1 ? { osBuilds: builds } : {}),
    ...(deprecated ? { deprecatedIn: deprecated.attrs.OsBuildDeprecated ?? '' } : {}),
  };
}

function splitList(text: string, separator: string): string[] {
  return text
    .split(separator)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** `0x30` → `48`; a trailing `*` (as in `0x88*`) is kept. */
function editionId(raw: string): string {
  const m = /^0x([0-9a-f]+)(\*?)$/i.exec(raw);
  return m ? `${Number.parseInt(m[1]!, 16)}${m[2]}` : raw;
}

/** Numeric comparison of dotted builds (`10.0.19041.1202` < `10.0.22000`). */
export function compareBuilds(a: string, b: string): number {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0 && !Number.isNaN(d)) return d;
  }
  return 0;
}

function lowestBuild(builds: string[]): string {
  return builds.reduce((low, b) => (compareBuilds(b, low) < 0 ? b : low));
}

/** Collapse the DDF's indentation and CRLFs; paragraphs stay on their own lines. */
function cleanDescription(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((line) => line.replace(/[ \t]+/g, ' ').trim())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/**
 * CSP name and, for the Policy CSP, the area: `./Device/Vendor/MSFT/BitLocker/…` → BitLocker,
 * `./DevDetail/…` → DevDetail, `./SyncML/DMAcc/…` → DMAcc, `…/Policy/Config/DeviceLock/…` → Policy + DeviceLock.
 */
function cspOf(segments: string[]): { csp: string; area?: string } {
  let i = 1;
  if (segments[i] === 'Device' || segments[i] === 'User') i++;
  if (segments[i] === 'Vendor' && segments[i + 1] === 'MSFT') i += 2;
  if (segments[i] === 'SyncML' && segments.length > i + 1) i++;
  const csp = segments[i] ?? '.';
  const branch = segments[i + 1];
  const area = segments[i + 2];
  if (csp === 'Policy' && (branch === 'Config' || branch === 'Result') && area && !isDynamicSegment(area)) {
    return { csp, area };
  }
  return { csp };
}
