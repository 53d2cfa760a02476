// YAML text → a policy with the source position of every key and value (yaml `LineCounter` + AST
// node ranges), checked against the zod schema in schema.ts. Shape problems become issues at the
// offending key or value; settings that have the right shape are kept so one run reports everything.
import {
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  type Pair,
  parseDocument,
  type YAMLMap,
  type Document as YamlDocument,
} from 'yaml';
import type { z } from 'zod';
import { editDistance } from '../../catalog/suggest.js';
import { type ParsedApp, readApps } from '../apps/parse.js';
import { MsiUrlSchema, MsixPackageSchema, PolicyAppSchema } from '../apps/schema.js';
import { CertificateProfileSchema, TrustedRootSchema } from './certificate-schema.js';
import { type CertificateProfilePlan, readCertificates } from './certificates.js';
import type { PolicyIssue, PolicyIssueCode, SourcePosition } from './errors.js';
import type { Located, ParsedSetting, ParsedValue, ScalarValue } from './parsed.js';
import { PolicySchema, PolicySettingSchema } from './schema.js';

export type { Located, ParsedDataElement, ParsedSetting, ParsedValue, ScalarValue } from './parsed.js';

/** Largest policy file accepted (a policy is hand-written; ADMX payloads come from `file:`). */
export const MAX_POLICY_BYTES = 1024 * 1024;

export interface ParsedPolicy {
  readonly file: string;
  readonly name: Located<string>;
  readonly description?: string;
  readonly scope: 'device' | 'user';
  readonly scopePos: SourcePosition;
  readonly minOsBuild?: Located<string>;
  readonly atomic: boolean;
  readonly settings: readonly ParsedSetting[];
  /** The `apps:` entries (apps/parse.ts). */
  readonly apps: readonly ParsedApp[];
  /** SCEP certificate profiles (`certificates:`); their Install nodes are in `settings`. */
  readonly certificates?: readonly CertificateProfilePlan[];
}

export interface ParseResult {
  /** Undefined when the text is not YAML or not a mapping; otherwise the valid parts. */
  readonly policy?: ParsedPolicy;
  readonly issues: readonly PolicyIssue[];
}

type Path = readonly (string | number)[];

class Positions {
  readonly lines = new LineCounter();
  constructor(readonly file: string) {}

  at(offset: number): SourcePosition {
    const { line, col } = this.lines.linePos(offset);
    return { file: this.file, line: Math.max(line, 1), col: Math.max(col, 1) };
  }

  of(node: Node | null | undefined, fallback: SourcePosition): SourcePosition {
    return node?.range ? this.at(node.range[0]) : fallback;
  }
}

function issue(pos: SourcePosition, code: PolicyIssueCode, message: string): PolicyIssue {
  return { ...pos, code, severity: 'error', message };
}

/** Parse a policy file's text. `file` is only used in positions. */
export function parsePolicy(text: string, file: string): ParseResult {
  const positions = new Positions(file);
  const start = positions.at(0);
  if (Buffer.byteLength(text) > MAX_POLICY_BYTES) {
    return { issues: [issue(start, 'schema', `policy file is larger than ${MAX_POLICY_BYTES} bytes`)] };
  }
  const doc = parseDocument(text, { lineCounter: positions.lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      issues: doc.errors.map((e) => issue(positions.at(e.pos[0]), 'yaml-syntax', yamlMessage(e.message))),
    };
  }
  const root = doc.contents;
  if (!isMap(root)) {
    const what = root === null ? 'the file is empty' : 'the document is not a mapping';
    return {
      issues: [
        issue(
          positions.of(root, start),
          'schema',
          `${what}; a policy needs at least \`name\` and \`settings\` or \`apps\``,
        ),
      ],
    };
  }
  const js: unknown = doc.toJS({ maxAliasCount: 100 });
  const issues: PolicyIssue[] = [];
  const badSettings = new Set<number>();
  const badApps = new Set<number>();
  const result = PolicySchema.safeParse(js, { reportInput: true });
  if (!result.success) {
    for (const zi of result.error.issues) {
      if (zi.path[0] === 'settings' && typeof zi.path[1] === 'number') badSettings.add(zi.path[1]);
      if (zi.path[0] === 'apps' && typeof zi.path[1] === 'number') badApps.add(zi.path[1]);
      issues.push(...unionIssues(zi).map((i) => schemaIssue(i, doc, positions, start)));
    }
  }
  const settingsNode = root.get('settings', true);
  const settings: ParsedSetting[] = [];
  if (isSeq(settingsNode)) {
    settingsNode.items.forEach((item, index) => {
      if (badSettings.has(index) || !isMap(item)) return;
      const setting = readSetting(item, index, positions, start);
      const problem = settingShapeProblem(setting);
      if (problem) issues.push(issue(setting.pos, 'schema', problem));
      else settings.push(setting);
    });
  }
  const raw = (result.success ? result.data : js) as Partial<z.infer<typeof PolicySchema>>;
  const apps = readApps((js as { apps?: unknown }).apps, badApps, (path) =>
    positions.of(nodeAt(doc, path), start),
  );
  if (!root.has('settings') && !root.has('apps') && !root.has('certificates')) {
    issues.push(
      issue(
        positions.of(root, start),
        'schema',
        'a policy needs `settings`, `apps` or `certificates` (none is given)',
      ),
    );
  }
  const targetNode = root.get('target', true);
  const scopeNode = isMap(targetNode) ? targetNode.get('scope', true) : undefined;
  const osNode = isMap(targetNode) ? targetNode.get('minOsBuild', true) : undefined;
  const scope = raw.target?.scope === 'user' ? 'user' : 'device';
  const certificates = readCertificates(
    root,
    text,
    (offset) => positions.at(offset),
    scope,
    isSeq(settingsNode) ? settingsNode.items.length : 0,
  );
  issues.push(...certificates.issues);
  settings.push(...certificates.settings);
  const policy: ParsedPolicy = {
    file,
    name: located(root.get('name', true), positions, start) as Located<string>,
    ...(typeof raw.description === 'string' ? { description: raw.description } : {}),
    scope,
    scopePos: positions.of(scopeNode as Node | undefined, positions.of(root, start)),
    ...(isScalar(osNode) && typeof osNode.value === 'string'
      ? { minOsBuild: located(osNode, positions, start) as Located<string> }
      : {}),
    atomic: raw.atomic === true,
    settings,
    apps,
    ...(certificates.profiles.length > 0 ? { certificates: certificates.profiles } : {}),
  };
  return { policy, issues };
}

function yamlMessage(message: string): string {
  // The yaml library appends position details; the issue carries its own position.
  return message.replace(/ at line \d+, column \d+:?[\s\S]*$/, '').trim();
}

function located(node: unknown, positions: Positions, fallback: SourcePosition): Located<unknown> {
  const n = node as Node | undefined;
  if (isScalar(n)) {
    const source = typeof n.source === 'string' ? n.source : String(n.value);
    return { value: n.value, pos: positions.of(n, fallback), source };
  }
  return { value: n?.toJSON(), pos: positions.of(n, fallback) };
}

function parsedValue(node: unknown, positions: Positions, fallback: SourcePosition): ParsedValue {
  if (isSeq(node)) {
    const items = node.items.map((i) => located(i, positions, fallback) as Located<ScalarValue>);
    return { value: items.map((i) => i.value), pos: positions.of(node, fallback), items };
  }
  return located(node, positions, fallback) as ParsedValue;
}

function readSetting(
  map: YAMLMap,
  index: number,
  positions: Positions,
  fallback: SourcePosition,
): ParsedSetting {
  const pos = positions.of(map, fallback);
  const setting: {
    -readonly [K in keyof ParsedSetting]: ParsedSetting[K];
  } = { index, pos, path: located(map.get('path', true), positions, pos) as Located<string> };
  if (map.has('value')) setting.value = parsedValue(map.get('value', true), positions, pos);
  if (map.has('file')) setting.file = located(map.get('file', true), positions, pos) as Located<string>;
  const data = map.get('data', true);
  if (isMap(data)) {
    setting.dataPos = keyPos(map, 'data', positions) ?? pos;
    setting.data = (data.items as Pair<Node, Node>[]).map((pair) => ({
      id: located(pair.key, positions, pos) as Located<string>,
      value: parsedValue(pair.value, positions, positions.of(pair.key, pos)),
    }));
  }
  return setting;
}

function settingShapeProblem(s: ParsedSetting): string | undefined {
  if (s.value === undefined && s.file === undefined) {
    return 'setting has neither `value` nor `file`; give the value to set, or a file to read it from';
  }
  if (s.value !== undefined && s.file !== undefined) {
    return 'setting has both `value` and `file`; keep one';
  }
  return undefined;
}

function keyPos(map: YAMLMap, key: string | number, positions: Positions): SourcePosition | undefined {
  const pair = (map.items as Pair<Node, Node>[]).find((p) => isScalar(p.key) && p.key.value === key);
  return pair?.key ? positions.of(pair.key, positions.at(0)) : undefined;
}

/** The closest node to a zod issue path that exists in the document. */
function nodeAt(doc: YamlDocument, path: Path): Node | undefined {
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    if (node && typeof node === 'object') return node as Node;
  }
  return undefined;
}

function describePath(path: Path): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s === '' ? p : `.${p}`;
  return s === '' ? 'the document' : `\`${s}\``;
}

const EXPECTED: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  boolean: 'a boolean (true or false)',
  array: 'a list',
  object: 'a mapping',
  record: 'a mapping',
};

function typeName(input: unknown): string {
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'a list';
  if (typeof input === 'object') return 'a mapping';
  return typeof input === 'string'
    ? `the string ${JSON.stringify(input)}`
    : `${typeof input} ${String(input)}`;
}

/**
 * A union that failed (a scalar or a mapping): report the failures of the branch of the same kind
 * as what was written, so a mistake inside `msi: { … }` is pointed at the key at fault.
 */
function unionIssues(zi: z.core.$ZodIssue): z.core.$ZodIssue[] {
  if (zi.code === 'invalid_union' && zi.path[0] === 'certificates' && zi.path.length === 2) {
    // A `certificates:` entry: a trusted root when it says `type: root`, a SCEP profile otherwise.
    const input = zi.input as { type?: unknown } | null;
    const isObject = typeof input === 'object' && input !== null && !Array.isArray(input);
    const branch = zi.errors[isObject && input.type === 'root' ? 0 : 1] ?? [];
    if (isObject && branch.length > 0)
      return branch.map((e) => ({ ...e, path: [...zi.path, ...e.path] }) as z.core.$ZodIssue);
    return [zi];
  }
  if (zi.code !== 'invalid_union' || zi.path[0] !== 'apps') return [zi];
  const input = zi.input;
  const isObject = typeof input === 'object' && input !== null && !Array.isArray(input);
  for (const branch of zi.errors) {
    const typeMismatch = branch.some((e) => e.code === 'invalid_type' && e.path.length === 0);
    if (branch.length === 0 || typeMismatch) continue;
    if (isObject || typeof input === 'string')
      return branch.map((e) => ({ ...e, path: [...zi.path, ...e.path] }) as z.core.$ZodIssue);
  }
  return [zi];
}

function allowedKeys(path: Path): string[] {
  if (path[0] === 'apps') {
    const shape =
      path[2] === 'msi'
        ? MsiUrlSchema.shape
        : path[2] === 'msix'
          ? MsixPackageSchema.shape
          : path.length === 2
            ? PolicyAppSchema.shape
            : {};
    return Object.keys(shape);
  }
  const shape =
    path.length === 0
      ? PolicySchema.shape
      : path[0] === 'settings'
        ? PolicySettingSchema.shape
        : path[0] === 'certificates' && path.length === 2
          ? { ...CertificateProfileSchema.shape, ...TrustedRootSchema.shape }
          : path[0] === 'target'
            ? PolicySchema.shape.target.unwrap().shape
            : {};
  return Object.keys(shape);
}

function closestWord(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(word, c, bestDistance);
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best;
}

function schemaIssue(
  zi: z.core.$ZodIssue,
  doc: YamlDocument,
  positions: Positions,
  fallback: SourcePosition,
): PolicyIssue {
  const where = describePath(zi.path as Path);
  if (zi.code === 'unrecognized_keys') {
    const parent = doc.getIn(zi.path as Path, true) ?? doc.contents;
    const key = zi.keys[0]!;
    const pos = (isMap(parent) && keyPos(parent, key, positions)) || positions.of(parent as Node, fallback);
    const allowed = allowedKeys(zi.path as Path);
    const guess = closestWord(key, allowed);
    const unknown = zi.keys.map((k) => `\`${k}\``).join(', ');
    return issue(
      pos,
      'schema',
      `unknown key ${unknown} in ${where === 'the document' ? 'the policy' : where}` +
        (guess && zi.keys.length === 1 ? `; did you mean \`${guess}\`?` : '') +
        ` (allowed: ${allowed.join(', ')})`,
    );
  }
  const node = nodeAt(doc, zi.path as Path);
  const pos = positions.of(node, fallback);
  if (zi.code === 'invalid_type') {
    if (zi.input === undefined) return issue(pos, 'schema', `missing required key ${where}`);
    const expected = EXPECTED[zi.expected] ?? zi.expected;
    return issue(pos, 'schema', `${where} must be ${expected}, not ${typeName(zi.input)}`);
  }
  if (zi.code === 'invalid_union' && zi.path[0] === 'apps') {
    return issue(pos, 'schema', `${where} must be a file path or a mapping, not ${typeName(zi.input)}`);
  }
  if (zi.code === 'invalid_union') {
    return issue(
      pos,
      'schema',
      `${where} must be a string, number, boolean or a list of them, not ${typeName(zi.input)}`,
    );
  }
  if (zi.code === 'invalid_value') {
    const options = zi.values.map((v) => String(v)).join(', ');
    return issue(pos, 'schema', `${where} must be one of ${options}, not ${typeName(zi.input)}`);
  }
  if (zi.code === 'too_small' && zi.origin === 'array') {
    return issue(pos, 'schema', `${where} must list at least ${String(zi.minimum)} item`);
  }
  return issue(pos, 'schema', `${where}: ${zi.message}`);
}
