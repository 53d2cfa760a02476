// The stored policy set (what `mdm policy apply` wrote last) and the plan shown before storing a
// new folder: per device group, which settings are added, changed and removed.
import type { PolicyStore, SideFile } from '../../storage/policies.js';
import type { ComplianceRule } from '../compliance/rules.js';
import { type AssignmentConfig, EMPTY_ASSIGNMENTS } from '../language/assignment.js';
import { type PolicyFolder, policyHash } from '../language/folder.js';
import type { DeviceProfile } from '../language/groups.js';
import type { CompiledPolicy, SettingPlan } from '../language/types.js';
import { resolveSettings } from './conflicts.js';
import { valuesEqual } from './equality.js';
import { ALL_DEVICES, groupSizes, indexGroups } from './targeting.js';

export interface ActiveSet {
  /** 0 when nothing was ever applied. */
  readonly revision: number;
  readonly policies: ReadonlyMap<string, CompiledPolicy>;
  readonly assignments: AssignmentConfig;
  readonly compliance: readonly ComplianceRule[];
}

interface StoredConfig {
  readonly assignments: AssignmentConfig;
  readonly compliance: readonly ComplianceRule[];
}

export const EMPTY_SET: ActiveSet = {
  revision: 0,
  policies: new Map(),
  assignments: EMPTY_ASSIGNMENTS,
  compliance: [],
};

export function activeSetOf(folder: PolicyFolder, revision = 0): ActiveSet {
  return {
    revision,
    policies: new Map(folder.policies.map((p) => [p.name, p])),
    assignments: folder.assignments,
    compliance: folder.compliance,
  };
}

export async function readActiveSet(store: Pick<PolicyStore, 'currentPolicySet'>): Promise<ActiveSet> {
  const stored = await store.currentPolicySet();
  if (stored.revision === 0) return EMPTY_SET;
  const config = (stored.config ?? {}) as Partial<StoredConfig>;
  return {
    revision: stored.revision,
    policies: new Map(stored.policies.map((p) => [p.name, p.body as CompiledPolicy])),
    // Sets stored by an older version lack newer verification settings: their defaults apply.
    assignments: config.assignments
      ? {
          ...config.assignments,
          verification: { ...EMPTY_ASSIGNMENTS.verification, ...config.assignments.verification },
        }
      : EMPTY_ASSIGNMENTS,
    compliance: config.compliance ?? [],
  };
}

export interface SettingChange {
  readonly path: string;
  readonly policy: string;
  readonly from?: string;
  readonly to?: string;
}

export interface GroupPlan {
  readonly group: string;
  readonly added: readonly SettingChange[];
  readonly changed: readonly SettingChange[];
  readonly removed: readonly SettingChange[];
  /** Nodes two policies assigned to this group set to different values (not delivered). */
  readonly conflicts: readonly string[];
  /** Enrolled devices in the group now (`withGroupSizes`); absent when not counted. */
  readonly devices?: number;
}

/** Desired value per path for the devices of one group (before exclusions and applicability). */
function groupSettings(set: ActiveSet, group: string) {
  const names = set.assignments.assignments.filter((a) => a.include.includes(group)).map((a) => a.policy);
  const policies = names.flatMap((n) => set.policies.get(n) ?? []);
  const resolved = resolveSettings(policies, set.assignments.resolutions);
  return {
    desired: new Map<string, { policy: string; plan: SettingPlan }>(
      resolved.desired.map((d) => [d.plan.path, d]),
    ),
    conflicts: resolved.conflicts.map((c) => c.path),
  };
}

/** What applying `next` changes compared with `current`, per group (`all` first). */
export function planChanges(current: ActiveSet, next: ActiveSet): GroupPlan[] {
  const groups = new Set([ALL_DEVICES]);
  for (const s of [current, next]) for (const g of s.assignments.groups) groups.add(g.name);
  const plans: GroupPlan[] = [];
  for (const group of groups) {
    const before = groupSettings(current, group);
    const after = groupSettings(next, group);
    const added: SettingChange[] = [];
    const changed: SettingChange[] = [];
    const removed: SettingChange[] = [];
    for (const [path, d] of after.desired) {
      const old = before.desired.get(path);
      if (!old) added.push({ path, policy: d.policy, to: d.plan.value });
      else if (!valuesEqual(old.plan.value, d.plan.value, d.plan.format, { node: d.plan.node })) {
        changed.push({ path, policy: d.policy, from: old.plan.value, to: d.plan.value });
      }
    }
    for (const [path, d] of before.desired) {
      if (!after.desired.has(path)) removed.push({ path, policy: d.policy, from: d.plan.value });
    }
    plans.push({ group, added, changed, removed, conflicts: after.conflicts });
  }
  return plans;
}

/**
 * The plan with the number of enrolled devices in each group, by the group's definition in `next`
 * (or in `current` for a group the new folder drops).
 */
export function withGroupSizes(
  plans: readonly GroupPlan[],
  current: ActiveSet,
  next: ActiveSet,
  devices: readonly DeviceProfile[],
): GroupPlan[] {
  const groups = indexGroups([
    ...current.assignments.groups.filter((g) => !next.assignments.groups.some((n) => n.name === g.name)),
    ...next.assignments.groups,
  ]);
  const sizes = groupSizes(
    plans.map((p) => p.group),
    groups,
    devices,
  );
  return plans.map((p) => ({ ...p, devices: sizes.get(p.group) ?? 0 }));
}

/** Side files as stored: valid UTF-8 without NUL as text, anything else as base64. */
export function sideFilesOf(files: Readonly<Record<string, Buffer>>): Record<string, SideFile> {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  const out: Record<string, SideFile> = {};
  for (const [name, bytes] of Object.entries(files)) {
    let text: string | undefined;
    try {
      text = bytes.includes(0) ? undefined : decoder.decode(bytes);
    } catch {
      text = undefined;
    }
    out[name] = text === undefined ? { base64: bytes.toString('base64') } : { text };
  }
  return out;
}

/** Store a valid folder as the new policy set (one transaction). */
export async function storeFolder(
  store: PolicyStore,
  folder: PolicyFolder,
  plan: readonly GroupPlan[],
  now: Date,
) {
  const config: StoredConfig = { assignments: folder.assignments, compliance: folder.compliance };
  return store.applyPolicySet(
    {
      policies: folder.policies.map((p) => ({ name: p.name, hash: policyHash(p), file: p.file, body: p })),
      config,
      hash: folder.hash,
      summary: plan,
      ...(folder.sources && { files: folder.sources }),
      ...(folder.sideFiles && { sideFiles: sideFilesOf(folder.sideFiles) }),
    },
    now.toISOString(),
  );
}

/** The plan as text for the terminal. */
export function formatPlan(plans: readonly GroupPlan[]): string {
  const lines: string[] = [];
  for (const p of plans) {
    const total = p.added.length + p.changed.length + p.removed.length + p.conflicts.length;
    const size = p.devices === undefined ? '' : ` (${p.devices} ${p.devices === 1 ? 'device' : 'devices'})`;
    lines.push(`group ${p.group}${size}: ${total === 0 ? 'no changes' : ''}`.trimEnd());
    for (const c of p.added) lines.push(`  + ${c.path} = ${c.to} (${c.policy})`);
    for (const c of p.changed) lines.push(`  ~ ${c.path}: ${c.from} → ${c.to} (${c.policy})`);
    for (const c of p.removed) lines.push(`  - ${c.path} (was ${c.from}, ${c.policy})`);
    for (const path of p.conflicts)
      lines.push(`  ! ${path}: conflicting values, not delivered until resolved`);
  }
  return lines.join('\n');
}
