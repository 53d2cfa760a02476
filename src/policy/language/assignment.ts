// `assignments.yaml` in the policy folder: device groups, which policies reach which groups
// (with exclusions), conflict resolutions, and how often delivered settings are re-verified.
import { z } from 'zod';
import type { Resolution } from '../delivery/conflicts.js';
import { ALL_DEVICES, type Assignment } from '../delivery/targeting.js';
import type { PolicyIssue } from './errors.js';
import type { GroupDefinition } from './groups.js';
import { type Locate, parseDuration, parseYamlWith } from './yaml-source.js';

/** The reserved file name inside the policy folder. */
export const ASSIGNMENTS_FILE = 'assignments.yaml';

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'use letters, digits, `.`, `_`, `-`');
const version = z.string().regex(/^\d+(\.\d+){1,3}$/, 'expected a Windows version such as 10.0.22631');
const duration = z
  .union([z.string(), z.number()])
  .refine((v) => parseDuration(v) !== undefined, 'expected a duration such as 30m, 24h or 7d')
  .transform((v) => parseDuration(v)!);
const list = z.array(z.string().min(1));

const GroupRuleSchema = z.strictObject({
  editions: list.optional().describe('OS edition names (Enterprise, Pro, Education) or product-type ids.'),
  osVersion: z.strictObject({ min: version.optional(), max: version.optional() }).optional(),
  models: list.optional().describe('Model patterns (DevInfo/Mod); `*` is a wildcard.'),
  users: list.optional(),
});

const GroupSchema = z.strictObject({
  name: name.refine((n) => n !== ALL_DEVICES, '`all` is reserved for every device'),
  devices: list.optional().describe('Device IDs that are members.'),
  users: list.optional().describe('Devices enrolled by these users (UPN) are members.'),
  rules: z.array(GroupRuleSchema).optional().describe('A device matching any rule is a member.'),
});

const AssignmentSchema = z.strictObject({
  policy: name,
  include: z.array(z.string().min(1)).min(1).describe('Group names, or `all`.'),
  exclude: z.array(z.string().min(1)).optional(),
});

export const AssignmentsFileSchema = z.strictObject({
  groups: z.array(GroupSchema).default([]),
  assignments: z.array(AssignmentSchema).default([]),
  resolutions: z.array(z.strictObject({ path: z.string().min(1).optional(), winner: name })).default([]),
  verification: z
    .strictObject({
      interval: duration.default(24 * 3_600_000),
      maxDriftRetries: z.number().int().min(0).max(100).default(3),
      maxFailureRetries: z
        .number()
        .int()
        .min(0)
        .max(20)
        .default(3)
        .describe('Re-applies of a setting the device failed with a 5xx status (4xx failures are final).'),
      failureRetryDelay: duration
        .default(15 * 60_000)
        .describe('Delay before the first failure retry; doubles with each further retry.'),
      settings: z.array(z.strictObject({ path: z.string().min(1), interval: duration })).default([]),
      appInterval: duration
        .optional()
        .describe(
          'Re-verification of installed apps (their status and version read again; default: interval).',
        ),
    })
    .prefault({}),
});

export interface AssignmentConfig {
  readonly groups: readonly GroupDefinition[];
  readonly assignments: readonly Assignment[];
  readonly resolutions: readonly Resolution[];
  readonly verification: {
    readonly intervalMs: number;
    readonly maxDriftRetries: number;
    readonly maxFailureRetries: number;
    readonly failureRetryDelayMs: number;
    readonly settings: readonly { readonly path: string; readonly intervalMs: number }[];
    /** Re-verification interval of installed apps; `intervalMs` when absent. */
    readonly appIntervalMs?: number;
  };
}

export const EMPTY_ASSIGNMENTS: AssignmentConfig = {
  groups: [],
  assignments: [],
  resolutions: [],
  verification: {
    intervalMs: 24 * 3_600_000,
    maxDriftRetries: 3,
    maxFailureRetries: 3,
    failureRetryDelayMs: 15 * 60_000,
    settings: [],
  },
};

export function parseAssignments(
  file: string,
  text: string,
): { config?: AssignmentConfig; issues: readonly PolicyIssue[]; locate: Locate } {
  const parsed = parseYamlWith(file, text, AssignmentsFileSchema);
  const { locate } = parsed;
  if (!parsed.value) return { issues: parsed.issues, locate };
  const v = parsed.value;
  const config: AssignmentConfig = {
    groups: v.groups,
    assignments: v.assignments,
    resolutions: v.resolutions,
    verification: {
      intervalMs: v.verification.interval,
      maxDriftRetries: v.verification.maxDriftRetries,
      maxFailureRetries: v.verification.maxFailureRetries,
      failureRetryDelayMs: v.verification.failureRetryDelay,
      settings: v.verification.settings.map((s) => ({ path: s.path, intervalMs: s.interval })),
      ...(v.verification.appInterval !== undefined && { appIntervalMs: v.verification.appInterval }),
    },
  };
  return { config, issues: [], locate };
}

/** Cross-checks against the folder: named policies and groups must exist, group names unique. */
export function checkReferences(
  config: AssignmentConfig,
  policyNames: ReadonlySet<string>,
  locate: Locate,
): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  const problem = (path: (string | number)[], message: string): PolicyIssue => ({
    ...locate(path),
    code: 'schema',
    severity: 'error',
    message,
  });
  const groupNames = new Set<string>();
  config.groups.forEach((g, i) => {
    if (groupNames.has(g.name))
      issues.push(problem(['groups', i, 'name'], `group ${g.name} is defined twice`));
    groupNames.add(g.name);
  });
  config.assignments.forEach((a, i) => {
    if (!policyNames.has(a.policy)) {
      issues.push(problem(['assignments', i, 'policy'], `no policy named ${a.policy} in the folder`));
    }
    for (const key of ['include', 'exclude'] as const) {
      (a[key] ?? []).forEach((g, j) => {
        if (g !== ALL_DEVICES && !groupNames.has(g)) {
          issues.push(
            problem(['assignments', i, key, j], `no group named ${g} (define it under groups, or use all)`),
          );
        }
      });
    }
  });
  config.resolutions.forEach((r, i) => {
    if (!policyNames.has(r.winner)) {
      issues.push(problem(['resolutions', i, 'winner'], `no policy named ${r.winner} in the folder`));
    }
  });
  return issues;
}

/**
 * Groups a policy's assignments reach: what each includes minus what the same assignment excludes
 * (an exclusion always wins, targeting.ts). Empty = the policy reaches no device.
 */
export function reachedGroups(config: AssignmentConfig, policy: string): string[] {
  const reached = new Set<string>();
  for (const a of config.assignments) {
    if (a.policy !== policy) continue;
    const excluded = new Set(a.exclude ?? []);
    if (excluded.has(ALL_DEVICES)) continue;
    for (const g of a.include) if (!excluded.has(g)) reached.add(g);
  }
  return [...reached];
}

/**
 * A warning for every policy that reaches no group, at its file: it would be stored and never
 * delivered. Remediation policies (compliance actions) are assigned by compliance instead.
 */
export function checkReach(
  config: AssignmentConfig,
  policies: readonly { readonly name: string; readonly file: string }[],
  remediation: ReadonlySet<string>,
): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  for (const p of policies) {
    if (remediation.has(p.name) || reachedGroups(config, p.name).length > 0) continue;
    const assigned = config.assignments.some((a) => a.policy === p.name);
    issues.push({
      file: p.file,
      line: 1,
      col: 1,
      code: 'unassigned',
      severity: 'warning',
      message: assigned
        ? `policy ${p.name} reaches no group: every group its assignments include is excluded again; it is delivered to no device`
        : `policy ${p.name} is not assigned to any group (${ASSIGNMENTS_FILE}); it is delivered to no device`,
    });
  }
  return issues;
}

/** Re-verification interval of installed apps. */
export function appRecheckIntervalMs(config: AssignmentConfig): number {
  return config.verification.appIntervalMs ?? config.verification.intervalMs;
}

/** Re-verification interval for one setting path. */
export function recheckIntervalMs(config: AssignmentConfig, path: string): number {
  return (
    config.verification.settings.find((s) => s.path === path)?.intervalMs ?? config.verification.intervalMs
  );
}
