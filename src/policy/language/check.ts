// What `mdm policy check` checks for each argument: a policy file, one of the policy folder's
// reserved files (`assignments.yaml`, `compliance.yaml`, each against its own schema), or a whole
// policy folder (every file plus the cross-references between them, as `mdm policy apply` does).
import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { CatalogLookup } from '../../catalog/types.js';
import { COMPLIANCE_FILE, parseCompliance } from '../compliance/rules.js';
import { ASSIGNMENTS_FILE, parseAssignments } from './assignment.js';
import { hasErrors, type PolicyIssue, sortIssues } from './errors.js';
import type { FileSource } from './file-source.js';
import { loadPolicyFolder } from './folder.js';
import { loadPolicyFile, loadPolicyText, type PolicyLoadResult } from './load.js';
import { MAX_POLICY_BYTES } from './parse.js';

export type CheckedKind = 'policy' | 'assignments' | 'compliance' | 'folder';

export interface CheckResult {
  readonly file: string;
  readonly kind: CheckedKind;
  readonly ok: boolean;
  /** One line describing what was found, e.g. `bitlocker, 8 settings`. */
  readonly summary?: string;
  /** Policy name and setting count (policy files only). */
  readonly name?: string;
  readonly settings?: number;
  readonly issues: readonly PolicyIssue[];
}

const RESERVED: ReadonlyMap<string, 'assignments' | 'compliance'> = new Map([
  [ASSIGNMENTS_FILE, 'assignments'],
  ['assignments.yml', 'assignments'],
  [COMPLIANCE_FILE, 'compliance'],
  ['compliance.yml', 'compliance'],
]);

const plural = (n: number, word: string, many = `${word}s`) => `${n} ${n === 1 ? word : many}`;

/** Check one command-line argument. Never throws for bad input: problems are in `issues`. */
export async function checkPath(path: string, catalog: CatalogLookup): Promise<CheckResult> {
  const isDir = await stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (isDir) return checkFolder(path, catalog);
  const reserved = RESERVED.get(basename(path).toLowerCase());
  if (reserved) return checkReservedFile(path, reserved);
  return policyResult(path, await loadPolicyFile(path, { catalog }));
}

/**
 * One file of a folder read from `source` (a bundle sent to the admin API): a policy, whose
 * `file:` values are read from the same source, or a reserved file.
 */
export async function checkSourceFile(
  source: FileSource,
  path: string,
  catalog: CatalogLookup,
): Promise<CheckResult> {
  const reserved = RESERVED.get(basename(path).toLowerCase());
  if (reserved) return checkReservedFile(path, reserved, source);
  const read = readText(path, MAX_POLICY_BYTES, (p) => source.read(p));
  if ('issue' in read) return { file: path, kind: 'policy', ok: false, issues: [read.issue] };
  const readFile = (p: string) => source.read(p);
  return policyResult(path, loadPolicyText(read.text, path, { catalog, readFile }));
}

function policyResult(path: string, r: PolicyLoadResult): CheckResult {
  if (!r.policy) return { file: path, kind: 'policy', ok: false, issues: r.issues };
  const settings = r.policy.settings.length;
  return {
    file: path,
    kind: 'policy',
    ok: true,
    summary: `${r.policy.name}, ${plural(settings, 'setting')}${r.policy.apps?.length ? `, ${plural(r.policy.apps.length, 'app')}` : ''}`,
    name: r.policy.name,
    settings,
    issues: r.issues,
  };
}

/** The whole folder: every file and the cross-references; read from `source` when given. */
export async function checkFolder(
  dir: string,
  catalog: CatalogLookup,
  source?: FileSource,
): Promise<CheckResult> {
  const folder = await loadPolicyFolder(dir, { catalog, ...(source && { source }) });
  const ok = !hasErrors(folder.issues);
  const { groups, assignments } = folder.assignments;
  const summary =
    `policy folder: ${plural(folder.policies.length, 'policy', 'policies')}, ` +
    `${plural(groups.length, 'group')}, ${plural(assignments.length, 'assignment')}, ` +
    `${plural(folder.compliance.length, 'compliance rule')}`;
  return { file: dir, kind: 'folder', ok, ...(ok ? { summary } : {}), issues: folder.issues };
}

/**
 * A reserved file on its own: its schema is checked; the names it refers to (policies, groups)
 * can only be checked together with the folder, which the summary says.
 */
async function checkReservedFile(
  file: string,
  kind: 'assignments' | 'compliance',
  source?: FileSource,
): Promise<CheckResult> {
  const read = source
    ? readText(file, MAX_POLICY_BYTES, (p) => source.read(p))
    : await readTextFile(file, MAX_POLICY_BYTES);
  if ('issue' in read) return { file, kind, ok: false, issues: [read.issue] };
  const note = 'references to policies and groups are checked with the whole folder';
  if (kind === 'assignments') {
    const r = parseAssignments(file, read.text);
    if (!r.config) return { file, kind, ok: false, issues: sortIssues(r.issues) };
    const summary =
      `assignments: ${plural(r.config.groups.length, 'group')}, ` +
      `${plural(r.config.assignments.length, 'assignment')} (${note})`;
    return { file, kind, ok: true, summary, issues: [] };
  }
  const r = parseCompliance(file, read.text);
  if (!r.rules) return { file, kind, ok: false, issues: sortIssues(r.issues) };
  return {
    file,
    kind,
    ok: true,
    summary: `compliance: ${plural(r.rules.length, 'rule')} (${note})`,
    issues: [],
  };
}

function readText(
  file: string,
  maxBytes: number,
  read: (path: string) => Buffer,
): { text: string } | { issue: PolicyIssue } {
  try {
    const bytes = read(file);
    if (bytes.length > maxBytes) return readIssue(file, `file is larger than ${maxBytes} bytes`);
    return { text: bytes.toString('utf8').replace(/^\uFEFF/, '') };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return readIssue(
      file,
      `cannot read file: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
    );
  }
}

function readIssue(file: string, message: string): { issue: PolicyIssue } {
  return { issue: { file, line: 1, col: 1, code: 'file-read', severity: 'error', message } };
}

async function readTextFile(
  file: string,
  maxBytes: number,
): Promise<{ text: string } | { issue: PolicyIssue }> {
  const issue = (message: string): { issue: PolicyIssue } => ({
    issue: { file, line: 1, col: 1, code: 'file-read', severity: 'error', message },
  });
  try {
    const bytes = await readFile(file);
    if (bytes.length > maxBytes) return issue(`file is larger than ${maxBytes} bytes`);
    return { text: bytes.toString('utf8').replace(/^\uFEFF/, '') };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return issue(`cannot read file: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
}
