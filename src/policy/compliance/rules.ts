// Compliance rules (`compliance.yaml` beside the policies) and their evaluation. Pure: the facts a
// device reported (DeviceStatus, BitLocker, DevDetail nodes; docs/protocol-notes.md#csps) and
// its setting states in, a state with reasons and the due actions out.
import { z } from 'zod';
import type { SettingState } from '../delivery/setting-state.js';
import { ALL_DEVICES } from '../delivery/targeting.js';
import type { PolicyIssue } from '../language/errors.js';
import { compareVersions } from '../language/groups.js';
import { type Locate, parseDuration, parseYamlWith } from '../language/yaml-source.js';

export const COMPLIANCE_FILE = 'compliance.yaml';

export const COMPLIANCE_STATES = ['compliant', 'noncompliant', 'in_grace', 'unknown'] as const;
export type ComplianceState = (typeof COMPLIANCE_STATES)[number];

/** Nodes compliance reads from the device (queued as Gets with origin `compliance`). */
export const FACT_PATHS = {
  osVersion: './DevDetail/SwV',
  model: './DevInfo/Mod',
  osEdition: './Vendor/MSFT/DeviceStatus/OS/Edition',
  encryptionCompliance: './Vendor/MSFT/DeviceStatus/Compliance/EncryptionCompliance',
  bitLockerStatus: './Device/Vendor/MSFT/BitLocker/Status/DeviceEncryptionStatus',
  antivirusStatus: './Vendor/MSFT/DeviceStatus/Antivirus/Status',
  antivirusSignatures: './Vendor/MSFT/DeviceStatus/Antivirus/SignatureStatus',
  firewallStatus: './Vendor/MSFT/DeviceStatus/Firewall/Status',
  tpmVersion: './Vendor/MSFT/DeviceStatus/TPM/SpecificationVersion',
  secureBoot: './Vendor/MSFT/DeviceStatus/SecureBootState',
} as const;

const version = z.string().regex(/^\d+(\.\d+){1,3}$/, 'expected a Windows version such as 10.0.19045');
const duration = z
  .union([z.string(), z.number()])
  .refine((v) => parseDuration(v) !== undefined, 'expected a duration such as 30m, 24h or 7d')
  .transform((v) => parseDuration(v)!);

const RequireSchema = z
  .strictObject({
    osVersionAtLeast: version.optional().describe('DevDetail/SwV must be this build or newer.'),
    encryption: z.literal(true).optional().describe('OS drive encrypted (BitLocker status 0).'),
    defender: z
      .literal(true)
      .optional()
      .describe('Antivirus on and monitoring (DeviceStatus Antivirus/Status 0).'),
    defenderSignatures: z.literal(true).optional().describe('Antivirus signatures up to date.'),
    firewall: z.literal(true).optional().describe('Firewall on (DeviceStatus Firewall/Status 0).'),
    tpm: z
      .union([z.literal(true), version.or(z.string().regex(/^\d+\.\d+$/))])
      .optional()
      .describe('A TPM is present; a version such as `2.0` requires at least that version.'),
    secureBoot: z.literal(true).optional().describe('Secure Boot enabled (SecureBootState 1).'),
    settingsVerified: z
      .array(z.string().min(1))
      .optional()
      .describe(
        'Policy names or node paths whose settings must be `verified` on the device (a setting applied to a node that cannot be read back counts as verified).',
      ),
  })
  .refine((r) => Object.values(r).some((v) => v !== undefined), 'require at least one condition');

const ActionSchema = z.union([
  z.strictObject({ notify: z.union([z.literal('log'), z.strictObject({ webhook: z.url() })]) }),
  z.strictObject({
    remediate: z.string().min(1).describe('Policy assigned while the device is noncompliant.'),
  }),
  z.strictObject({ lock: z.literal(true) }),
]);

export const ComplianceFileSchema = z.strictObject({
  rules: z
    .array(
      z.strictObject({
        name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/),
        include: z.array(z.string().min(1)).default([ALL_DEVICES]),
        exclude: z.array(z.string().min(1)).default([]),
        gracePeriod: duration.default(0),
        require: RequireSchema,
        actions: z.array(ActionSchema).default([]),
      }),
    )
    .default([]),
});

export type ComplianceRule = z.infer<typeof ComplianceFileSchema>['rules'][number];
export type ComplianceAction = ComplianceRule['actions'][number];

export function parseCompliance(
  file: string,
  text: string,
): { rules?: readonly ComplianceRule[]; issues: readonly PolicyIssue[]; locate: Locate } {
  const parsed = parseYamlWith(file, text, ComplianceFileSchema);
  const { locate } = parsed;
  return parsed.value ? { rules: parsed.value.rules, issues: [], locate } : { issues: parsed.issues, locate };
}

/** Which fact paths a set of rules needs the device to report. */
export function factPathsFor(rules: readonly ComplianceRule[]): string[] {
  const paths = new Set<string>();
  for (const { require: r } of rules) {
    if (r.osVersionAtLeast) paths.add(FACT_PATHS.osVersion);
    if (r.encryption) {
      paths.add(FACT_PATHS.bitLockerStatus);
      paths.add(FACT_PATHS.encryptionCompliance);
    }
    if (r.defender) paths.add(FACT_PATHS.antivirusStatus);
    if (r.defenderSignatures) paths.add(FACT_PATHS.antivirusSignatures);
    if (r.firewall) paths.add(FACT_PATHS.firewallStatus);
    if (r.tpm) paths.add(FACT_PATHS.tpmVersion);
    if (r.secureBoot) paths.add(FACT_PATHS.secureBoot);
  }
  return [...paths].sort();
}

/** What is known about a device when its compliance is evaluated. */
export interface ComplianceFacts {
  /** Reported node values by path (only nodes the device answered with 2xx). */
  readonly values: ReadonlyMap<string, string>;
  /** OS version from enrollment or inventory, used when DevDetail/SwV was not read. */
  readonly osVersion?: string;
  /** Setting states on the device: path → { policy, state }. */
  readonly settings: readonly {
    readonly path: string;
    readonly policy: string | null;
    readonly state: SettingState;
    /**
     * Applied, and the node cannot be read back (`cannotBeVerified` in setting-state.ts: no Get, or
     * the read-back answered 404/405). Counts as satisfied for `settingsVerified`.
     */
    readonly unverifiable?: boolean;
  }[];
}

type Check =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: string }
  | { readonly unknown: string };
const pass: Check = { ok: true };
const fail = (reason: string): Check => ({ ok: false, reason });
const unknown = (what: string): Check => ({ unknown: what });

function numeric(facts: ComplianceFacts, path: string): number | undefined {
  const v = facts.values.get(path);
  if (v === undefined || !/^\s*-?\d+\s*$/.test(v)) return undefined;
  return Number(v);
}

/** Every condition of one rule, each passed, failed (with a reason) or unknown (not reported yet). */
export function checkRule(rule: ComplianceRule, facts: ComplianceFacts): Check[] {
  const r = rule.require;
  const checks: Check[] = [];
  if (r.osVersionAtLeast) {
    const os = facts.values.get(FACT_PATHS.osVersion) ?? facts.osVersion;
    if (!os) checks.push(unknown('OS version not reported'));
    else if (compareVersions(os, r.osVersionAtLeast) < 0) {
      checks.push(fail(`OS version ${os} is older than ${r.osVersionAtLeast}`));
    } else checks.push(pass);
  }
  if (r.encryption) {
    const bitlocker = numeric(facts, FACT_PATHS.bitLockerStatus);
    const compliance = numeric(facts, FACT_PATHS.encryptionCompliance);
    if (bitlocker === 0 || compliance === 1) checks.push(pass);
    else if (bitlocker === undefined && compliance === undefined)
      checks.push(unknown('encryption status not reported'));
    else checks.push(fail(`OS drive not encrypted (BitLocker status ${bitlocker ?? compliance})`));
  }
  const status = (path: string, good: number, label: string, meaning: Record<number, string>) => {
    const v = numeric(facts, path);
    if (v === undefined) checks.push(unknown(`${label} status not reported`));
    else if (v === good) checks.push(pass);
    else checks.push(fail(`${label} ${meaning[v] ?? `status ${v}`}`));
  };
  // docs/protocol-notes.md#csps.
  const protection = {
    1: 'disabled',
    2: 'not monitoring',
    3: 'temporarily not monitoring',
    4: 'not applicable',
  };
  if (r.defender) status(FACT_PATHS.antivirusStatus, 0, 'antivirus', protection);
  if (r.defenderSignatures) {
    status(FACT_PATHS.antivirusSignatures, 1, 'antivirus signatures', {
      0: 'out of date',
      2: 'not applicable',
    });
  }
  if (r.firewall) status(FACT_PATHS.firewallStatus, 0, 'firewall', protection);
  if (r.secureBoot) status(FACT_PATHS.secureBoot, 1, 'Secure Boot', { 0: 'not supported', 2: 'disabled' });
  if (r.tpm) {
    const raw = facts.values.get(FACT_PATHS.tpmVersion);
    const tpmVersion = raw && /^\d+(\.\d+)*$/.test(raw.trim()) ? raw.trim() : undefined;
    if (raw === undefined) checks.push(unknown('TPM not reported'));
    else if (!tpmVersion) checks.push(fail(`no TPM (${JSON.stringify(raw)})`));
    else if (r.tpm !== true && compareVersions(tpmVersion, r.tpm) < 0) {
      checks.push(fail(`TPM ${tpmVersion} is older than ${r.tpm}`));
    } else checks.push(pass);
  }
  for (const ref of r.settingsVerified ?? []) {
    const settings = facts.settings.filter((s) => s.path === ref || s.policy === ref);
    if (settings.length === 0) {
      checks.push(unknown(`${ref} not delivered to this device`));
      continue;
    }
    // A write the device accepted on a node that cannot be read back (write-only in practice) is
    // the best evidence there will ever be: satisfied, not "not verified yet" forever, never failed.
    const satisfied = (s: (typeof settings)[number]) =>
      s.state === 'verified' ||
      s.state === 'not_applicable' ||
      (s.state === 'applied' && s.unverifiable === true);
    const bad = settings.filter((s) => !satisfied(s));
    if (bad.length === 0) checks.push(pass);
    else if (bad.every((s) => ['pending', 'sent', 'applied'].includes(s.state))) {
      checks.push(unknown(`${ref} not verified yet`));
    } else {
      checks.push(fail(`${ref}: ${bad.map((s) => `${s.path} is ${s.state}`).join(', ')}`));
    }
  }
  return checks;
}

export interface PreviousCompliance {
  /** When the device first failed a condition in its current run of failures (ISO). */
  readonly failingSince: string | null;
}

export interface ComplianceResult {
  readonly state: ComplianceState;
  readonly reasons: readonly string[];
  readonly failingSince: string | null;
  readonly graceEndsAt: string | null;
  /** Rules that are failing past their grace period (their actions are due). */
  readonly breachedRules: readonly string[];
}

/**
 * Combine the applicable rules: any failure makes the device `in_grace` until the shortest grace
 * period of the failing rules has passed since it first failed, then `noncompliant`; otherwise any
 * unknown makes it `unknown`; otherwise `compliant` (also with no rules at all).
 */
export function evaluateCompliance(
  rules: readonly ComplianceRule[],
  facts: ComplianceFacts,
  previous: PreviousCompliance,
  now: Date,
): ComplianceResult {
  const reasons: string[] = [];
  const unknowns: string[] = [];
  const failing: ComplianceRule[] = [];
  for (const rule of rules) {
    let failed = false;
    for (const c of checkRule(rule, facts)) {
      if ('unknown' in c) unknowns.push(`${rule.name}: ${c.unknown}`);
      else if (!c.ok) {
        reasons.push(`${rule.name}: ${c.reason}`);
        failed = true;
      }
    }
    if (failed) failing.push(rule);
  }
  if (failing.length === 0) {
    return {
      state: unknowns.length ? 'unknown' : 'compliant',
      reasons: unknowns,
      failingSince: null,
      graceEndsAt: null,
      breachedRules: [],
    };
  }
  const since = previous.failingSince ?? now.toISOString();
  const sinceMs = Date.parse(since);
  const breached = failing.filter((r) => sinceMs + r.gracePeriod <= now.getTime());
  const graceEnd = Math.min(...failing.map((r) => sinceMs + r.gracePeriod));
  return {
    state: breached.length > 0 ? 'noncompliant' : 'in_grace',
    reasons,
    failingSince: since,
    graceEndsAt: new Date(graceEnd).toISOString(),
    breachedRules: breached.map((r) => r.name),
  };
}
