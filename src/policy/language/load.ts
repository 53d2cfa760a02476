// The policy pipeline in one call: read → parse (positions) → validate (catalog) → compile (plans).
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { CatalogLookup } from '../../catalog/types.js';
import { compilePolicy } from './compile.js';
import { hasErrors, PolicyError, type PolicyIssue, sortIssues } from './errors.js';
import { MAX_POLICY_BYTES, parsePolicy } from './parse.js';
import type { CompiledPolicy } from './types.js';
import { type ValidatedPolicy, validatePolicy } from './validate.js';

export interface LoadPolicyOptions {
  readonly catalog: CatalogLookup;
  /** Reads `file:` values; defaults to the file system, relative to the policy file. */
  readonly readFile?: (absolutePath: string) => Buffer;
}

export interface PolicyLoadResult {
  readonly file: string;
  /** Present when the policy has no errors. */
  readonly policy?: CompiledPolicy;
  readonly validated?: ValidatedPolicy;
  /** Errors and warnings in file order. */
  readonly issues: readonly PolicyIssue[];
}

/** Check and compile policy text; `file` names it in positions and anchors relative `file:` values. */
export function loadPolicyText(text: string, file: string, options: LoadPolicyOptions): PolicyLoadResult {
  const parsed = parsePolicy(text, file);
  if (!parsed.policy) return { file, issues: sortIssues(parsed.issues) };
  const validation = validatePolicy(parsed.policy, options.catalog, {
    baseDir: dirname(file),
    readFile: options.readFile ?? ((p) => readFileSync(p)),
  });
  const issues = sortIssues([...parsed.issues, ...validation.issues]);
  if (hasErrors(issues) || !validation.policy) return { file, issues };
  return { file, policy: compilePolicy(validation.policy), validated: validation.policy, issues };
}

/** Read, check and compile a policy file. Never throws for bad input: problems are in `issues`. */
export async function loadPolicyFile(file: string, options: LoadPolicyOptions): Promise<PolicyLoadResult> {
  let text: string;
  try {
    const bytes = await readFile(file);
    if (bytes.length > MAX_POLICY_BYTES) {
      return { file, issues: [fileIssue(file, `policy file is larger than ${MAX_POLICY_BYTES} bytes`)] };
    }
    text = bytes.toString('utf8').replace(/^\uFEFF/, '');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (err as Error).message;
    return { file, issues: [fileIssue(file, `cannot read policy file: ${reason}`)] };
  }
  return loadPolicyText(text, file, options);
}

/** Like `loadPolicyFile`, but returns the compiled policy or throws a `PolicyError` with every issue. */
export async function compilePolicyFile(file: string, options: LoadPolicyOptions): Promise<CompiledPolicy> {
  const result = await loadPolicyFile(file, options);
  if (!result.policy) throw new PolicyError(result.issues);
  return result.policy;
}

function fileIssue(file: string, message: string): PolicyIssue {
  return { file, line: 1, col: 1, code: 'file-read', severity: 'error', message };
}
