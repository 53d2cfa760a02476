// The policy folder (`MDM_POLICY_DIR`, Git-friendly): one policy per YAML file, plus two reserved
// files: `assignments.yaml` (groups, targeting, conflict resolutions, re-verification) and
// `compliance.yaml` (compliance rules). The whole folder is validated together: nothing is stored
// unless every file is valid and every cross-reference resolves.
import { createHash } from 'node:crypto';
import { join, relative, sep } from 'node:path';
import type { CatalogLookup } from '../../catalog/types.js';
import type { HostedFile } from '../apps/types.js';
import { COMPLIANCE_FILE, type ComplianceRule, parseCompliance } from '../compliance/rules.js';
import {
  ASSIGNMENTS_FILE,
  type AssignmentConfig,
  checkReach,
  checkReferences,
  EMPTY_ASSIGNMENTS,
  parseAssignments,
} from './assignment.js';
import { hasErrors, type PolicyIssue, type SourcePosition, sortIssues } from './errors.js';
import { diskSource, type FileSource, nameUnder } from './file-source.js';
import { loadPolicyText } from './load.js';
import { MAX_POLICY_BYTES } from './parse.js';
import type { CompiledPolicy } from './types.js';
import type { Locate } from './yaml-source.js';

const YAML_RE = /\.ya?ml$/i;
const RESERVED = new Map<string, 'assignments' | 'compliance'>([
  [ASSIGNMENTS_FILE, 'assignments'],
  ['assignments.yml', 'assignments'],
  [COMPLIANCE_FILE, 'compliance'],
  ['compliance.yml', 'compliance'],
]);

/** Everything the folder defines; only valid when `issues` has no errors. */
export interface PolicyFolder {
  readonly dir: string;
  readonly policies: readonly CompiledPolicy[];
  readonly assignments: AssignmentConfig;
  readonly compliance: readonly ComplianceRule[];
  /** sha256 over every file's relative name and bytes: equal folders store nothing new. */
  readonly hash: string;
  readonly issues: readonly PolicyIssue[];
  /** Local app packages the policies reference: stored with the set, served at `/content/<sha256>`. */
  readonly hosted?: readonly HostedFile[];
  /** Every YAML file as read (relative name with `/` → text), stored with the revision. */
  readonly sources?: Readonly<Record<string, string>>;
  /** The side files the policies' `file:` values read inside the folder (relative name → bytes). */
  readonly sideFiles?: Readonly<Record<string, Buffer>>;
}

export interface LoadFolderOptions {
  readonly catalog: CatalogLookup;
  /** Where the files are (default: the disk at `dir`); a bundle's files for the admin API. */
  readonly source?: FileSource;
}

export async function loadPolicyFolder(dir: string, options: LoadFolderOptions): Promise<PolicyFolder> {
  const source = options.source ?? diskSource(dir);
  dir = source.root;
  const issues: PolicyIssue[] = [];
  const policies: CompiledPolicy[] = [];
  const hosted = new Map<string, HostedFile>();
  let assignments = EMPTY_ASSIGNMENTS;
  let compliance: readonly ComplianceRule[] = [];
  const hash = createHash('sha256');
  let files: string[];
  try {
    files = source.list((name) => YAML_RE.test(name));
  } catch (err) {
    const reason =
      (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such folder' : (err as Error).message;
    const issue: PolicyIssue = {
      file: dir,
      line: 1,
      col: 1,
      code: 'file-read',
      severity: 'error',
      message: reason,
    };
    return { dir, policies, assignments, compliance, hash: '', issues: [issue] };
  }
  let locateAssignment: Locate = () => ({ file: join(dir, ASSIGNMENTS_FILE), line: 1, col: 1 });
  let locateRule: Locate = () => ({ file: join(dir, COMPLIANCE_FILE), line: 1, col: 1 });
  const byName = new Map<string, string>();
  const sources: Record<string, string> = {};
  let assignmentsUnread = false;
  const sideFiles = new Map<string, Buffer>();
  const readSide = (path: string): Buffer => {
    const bytes = source.read(path);
    const name = nameUnder(dir, path);
    if (name !== undefined && !YAML_RE.test(name)) sideFiles.set(name, bytes);
    return bytes;
  };
  for (const file of files) {
    const rel = relative(dir, file);
    const bytes = source.read(file);
    if (bytes.length > MAX_POLICY_BYTES) {
      issues.push({
        ...folderIssue(file, `file is larger than ${MAX_POLICY_BYTES} bytes`),
        code: 'file-read',
      });
      continue;
    }
    const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
    hash.update(`${rel}\0${text}\0`);
    sources[rel.split(sep).join('/')] = text;
    const reserved = RESERVED.get(rel.toLowerCase());
    if (reserved === 'assignments') {
      const r = parseAssignments(file, text);
      issues.push(...r.issues);
      locateAssignment = r.locate;
      if (r.config) assignments = r.config;
      else assignmentsUnread = true;
    } else if (reserved === 'compliance') {
      const r = parseCompliance(file, text);
      issues.push(...r.issues);
      locateRule = r.locate;
      if (r.rules) compliance = r.rules;
    } else {
      const r = loadPolicyText(text, file, { catalog: options.catalog, readFile: readSide });
      issues.push(...r.issues);
      if (!r.policy) continue;
      const seen = byName.get(r.policy.name);
      if (seen) {
        issues.push(folderIssue(file, `policy name ${r.policy.name} is already used by ${seen}`));
        continue;
      }
      byName.set(r.policy.name, file);
      for (const h of r.validated?.hosted ?? []) hosted.set(h.sha256, h);
      policies.push({ ...r.policy, file: rel });
    }
  }
  const names = new Set(byName.keys());
  issues.push(...checkReferences(assignments, names, locateAssignment));
  const ruleNames = new Set<string>();
  compliance.forEach((rule, i) => {
    if (ruleNames.has(rule.name))
      issues.push(ruleIssue(locateRule(['rules', i, 'name']), `rule ${rule.name} is defined twice`));
    ruleNames.add(rule.name);
    rule.actions.forEach((action, j) => {
      if ('remediate' in action && !names.has(action.remediate)) {
        const where = locateRule(['rules', i, 'actions', j, 'remediate']);
        issues.push(ruleIssue(where, `no policy named ${action.remediate} in the folder`));
      }
    });
  });
  const remediation = new Set(
    compliance.flatMap((rule) => rule.actions.flatMap((a) => ('remediate' in a ? [a.remediate] : []))),
  );
  // Policies no assignment reaches (not worth saying while assignments.yaml itself is unreadable).
  if (!assignmentsUnread) {
    issues.push(
      ...checkReach(
        assignments,
        [...byName].map(([name, file]) => ({ name, file })),
        remediation,
      ),
    );
  }
  // The packages' bytes are part of what the folder defines (a rebuilt MSI is a new revision).
  for (const h of [...hosted.values()].sort((a, b) => (a.sha256 < b.sha256 ? -1 : 1)))
    hash.update(`content\0${h.sha256}\0`);
  // So are the side files (an edited ADMX file under the same YAML is a new revision).
  const side = [...sideFiles.keys()].sort();
  for (const name of side)
    hash.update(`side\0${name}\0${createHash('sha256').update(sideFiles.get(name)!).digest('hex')}\0`);
  return {
    dir,
    policies,
    assignments,
    compliance,
    hash: hash.digest('hex'),
    issues: sortIssues(issues),
    hosted: [...hosted.values()],
    sources,
    ...(side.length > 0 && { sideFiles: Object.fromEntries(side.map((n) => [n, sideFiles.get(n)!])) }),
  };
}

export function folderIsValid(folder: PolicyFolder): boolean {
  return !hasErrors(folder.issues);
}

/** Stable content hash of one compiled policy (a new version is stored when it changes). */
export function policyHash(policy: CompiledPolicy): string {
  return createHash('sha256').update(JSON.stringify(policy)).digest('hex');
}

function folderIssue(file: string, message: string): PolicyIssue {
  return { file, line: 1, col: 1, code: 'schema', severity: 'error', message };
}

function ruleIssue(where: SourcePosition, message: string): PolicyIssue {
  return { ...where, code: 'schema', severity: 'error', message };
}
