// Problems found in a policy file, each tied to `file:line:col` of the key or value at fault, so an
// admin (and an editor) can jump straight to it. Several are collected per run; nothing is thrown
// until the caller asks for a compiled policy.

/** Every kind of problem the loader reports, with what it means. */
export const POLICY_ISSUE_CODES = {
  'yaml-syntax': 'the file is not well-formed YAML',
  schema: 'the document does not have the shape of a policy (see csp-catalog/policy.schema.json)',
  'unknown-path': 'no CSP node has this path',
  'bad-path': 'the path is not a valid OMA-DM LocURI (docs/protocol-notes.md#meta-format-and-locuri)',
  'wrong-type': "the value's type does not match the node's format",
  'value-range': 'the number is outside the range the node allows',
  'value-enum': 'the value is not one of the values the node allows',
  'value-pattern': 'the value does not match the pattern the node requires',
  'value-format': 'the value is not well-formed for the node (XML, JSON, base64, date)',
  'admx-value': 'an ADMX-backed policy needs `enabled` or `disabled` (with `data` elements)',
  'not-writable': 'the node cannot be set (read-only, an operation, or an interior node)',
  'scope-mismatch': "the node does not exist in the policy's scope (device vs user)",
  'os-build': 'the node needs a newer Windows build than the policy targets',
  'duplicate-setting': 'the same node is set more than once',
  'missing-dependency': 'the setting only takes effect when another setting has a given value',
  'file-read': 'a file referenced by the policy cannot be read',
  'app-package':
    'an application package lacks what installing it needs (identity, version) or is given twice',
  'unknown-variable': 'a {{variable}} in a value is not one the server can fill for a device',
  unassigned:
    'the policy reaches no device group: no assignment includes it (or each excludes what it includes)',
} as const;

export type PolicyIssueCode = keyof typeof POLICY_ISSUE_CODES;

export interface SourcePosition {
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  /** 1-based. */
  readonly col: number;
}

export interface PolicyIssue extends SourcePosition {
  readonly code: PolicyIssueCode;
  readonly severity: 'error' | 'warning';
  /** What is wrong and what would be right. */
  readonly message: string;
}

/** `file:line:col: error: message [code]`, the format compilers and editors understand. */
export function formatIssue(issue: PolicyIssue): string {
  return `${issue.file}:${issue.line}:${issue.col}: ${issue.severity}: ${issue.message} [${issue.code}]`;
}

export function hasErrors(issues: readonly PolicyIssue[]): boolean {
  return issues.some((i) => i.severity === 'error');
}

/** Issues in file order (line, then column), errors before warnings at the same place. */
export function sortIssues(issues: readonly PolicyIssue[]): PolicyIssue[] {
  return [...issues].sort(
    (a, b) =>
      (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) ||
      a.line - b.line ||
      a.col - b.col ||
      (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1),
  );
}

/** Thrown by `compilePolicyFile` when a policy has errors; carries all of them. */
export class PolicyError extends Error {
  readonly issues: readonly PolicyIssue[];

  constructor(issues: readonly PolicyIssue[]) {
    const errors = issues.filter((i) => i.severity === 'error');
    super(errors.map(formatIssue).join('\n') || 'policy has errors');
    this.name = 'PolicyError';
    this.issues = issues;
  }
}
