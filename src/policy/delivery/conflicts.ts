// Combining the policies that target one device into one desired value per node. Two policies that
// set the same node to different values are a conflict: reported, never delivered, until an admin
// resolves it (a resolution names the winning policy, for one path or for every path).

import type { CompiledPolicy, SettingPlan } from '../language/types.js';
import { valuesEqual } from './equality.js';

export interface Resolution {
  /** Node path the resolution applies to; absent = every conflicting node. */
  readonly path?: string;
  /** Policy whose value wins. */
  readonly winner: string;
}

export interface DesiredSetting {
  readonly policy: string;
  readonly plan: SettingPlan;
}

export interface SettingConflict {
  readonly path: string;
  readonly candidates: readonly { readonly policy: string; readonly value: string }[];
}

export interface ResolvedSettings {
  readonly desired: readonly DesiredSetting[];
  readonly conflicts: readonly SettingConflict[];
}

/** Per node path: one desired setting, or a conflict. Policies are taken in name order. */
export function resolveSettings(
  policies: readonly CompiledPolicy[],
  resolutions: readonly Resolution[] = [],
): ResolvedSettings {
  const byPath = new Map<string, DesiredSetting[]>();
  const ordered = [...policies].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const policy of ordered) {
    for (const plan of policy.settings) {
      const list = byPath.get(plan.path) ?? [];
      list.push({ policy: policy.name, plan });
      byPath.set(plan.path, list);
    }
  }
  const desired: DesiredSetting[] = [];
  const conflicts: SettingConflict[] = [];
  for (const [path, candidates] of byPath) {
    const first = candidates[0]!;
    const agree = candidates.every((c) =>
      valuesEqual(first.plan.value, c.plan.value, first.plan.format, { node: first.plan.node }),
    );
    if (agree) {
      desired.push(first);
      continue;
    }
    const winner = pickWinner(path, candidates, resolutions);
    if (winner) desired.push(winner);
    else
      conflicts.push({
        path,
        candidates: candidates.map((c) => ({ policy: c.policy, value: c.plan.value })),
      });
  }
  return { desired, conflicts };
}

function pickWinner(
  path: string,
  candidates: readonly DesiredSetting[],
  resolutions: readonly Resolution[],
): DesiredSetting | undefined {
  const specific = resolutions.filter((r) => r.path === path);
  const general = resolutions.filter((r) => r.path === undefined);
  for (const r of [...specific, ...general]) {
    const hit = candidates.find((c) => c.policy === r.winner);
    if (hit) return hit;
  }
  return undefined;
}
