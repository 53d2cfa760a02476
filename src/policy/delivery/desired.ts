// What one device should hold: the policies targeted at it (and `extraPolicies`), their settings
// resolved against each other, `{{variables}}` filled, applicability judged. The result is a list of
// events per node for the setting state machine (setting-state.ts).
import type { DmCommand } from '../../shared/dm-command.js';
import type { DeviceProfile } from '../language/groups.js';
import { hasTemplate, resolveTemplate, type TemplateContext } from '../language/templates.js';
import type { CompiledPolicy, SettingPlan } from '../language/types.js';
import { notApplicableReason } from './applicability.js';
import { resolveSettings } from './conflicts.js';
import { type TemplateValues, templateContextOf } from './device-profile.js';
import type { ActiveSet } from './policy-set.js';
import type { DeliveryStores } from './ports.js';
import type { SettingEvent, SettingRecord } from './setting-state.js';
import { indexGroups, targetedPolicies } from './targeting.js';

export interface DesiredState {
  readonly events: Map<string, SettingEvent[]>;
  /** Node → value format, for records created now. */
  readonly formats: Map<string, SettingRecord['format']>;
  /** Node → its atomic policy, for apply commands that go out in one Atomic. */
  readonly atomicPolicies: Map<string, CompiledPolicy>;
  /** Nodes another delivery owns (certificate profile Install nodes): never settings. */
  readonly owned: (path: string) => boolean;
}

/**
 * Install nodes of the certificate profiles of `policies` (`…/ClientCertificateInstall/SCEP/<name>/Install/`):
 * delivered by certificate-profiles.ts, with a challenge per device and the Enroll Exec, never as
 * settings of their own.
 */
export function profileInstallPrefixes(policies: readonly CompiledPolicy[]): string[] {
  return policies.flatMap((p) => (p.certificates ?? []).map((c) => `${c.root}/Install/`));
}

export async function desiredState(
  set: ActiveSet,
  profile: DeviceProfile,
  extraPolicies: readonly string[],
  templateValues: TemplateValues | undefined,
  stores: DeliveryStores,
): Promise<DesiredState> {
  const events = new Map<string, SettingEvent[]>();
  const add = (path: string, e: SettingEvent) => events.set(path, [...(events.get(path) ?? []), e]);
  const atomicPolicies = new Map<string, CompiledPolicy>();
  const formats = new Map<string, SettingRecord['format']>();
  const groups = indexGroups(set.assignments.groups);
  const names = new Set([
    ...targetedPolicies(profile, set.assignments.assignments, groups),
    ...extraPolicies,
  ]);
  const policies = [...names].flatMap((n) => set.policies.get(n) ?? []);
  const resolved = resolveSettings(policies, set.assignments.resolutions);
  const prefixes = profileInstallPrefixes(policies);
  const owned = (path: string) => prefixes.some((p) => path.startsWith(p));
  let context: TemplateContext | undefined;
  for (const { policy, plan: compiled } of resolved.desired) {
    if (owned(compiled.path)) continue;
    let plan = compiled;
    // Per-device values (README "Certificate profiles over SCEP"): filled here, or the setting
    // does not apply to this device.
    if (hasTemplate(plan.value)) {
      context ??= await templateContextOf(profile, templateValues, stores);
      const filled = resolveTemplate(plan.value, context);
      formats.set(plan.path, plan.format);
      if ('unresolved' in filled) {
        add(plan.path, { type: 'not_applicable', reason: filled.unresolved });
        continue;
      }
      plan = withValue(plan, filled.value);
    }
    formats.set(plan.path, plan.format);
    if (set.policies.get(policy)?.atomic) atomicPolicies.set(plan.path, set.policies.get(policy)!);
    const reason = notApplicableReason(profile, plan);
    if (reason)
      add(plan.path, {
        type: 'not_applicable',
        reason,
        transient: plan.scope === 'user' && !profile.userLoggedOn,
      });
    else add(plan.path, { type: 'assign', policy, plan });
  }
  for (const c of resolved.conflicts) {
    if (owned(c.path)) continue;
    const candidates = policies.flatMap((p) => p.settings.filter((s) => s.path === c.path));
    formats.set(c.path, candidates[0]?.format ?? 'chr');
    const detail = c.candidates.map((x) => `${x.policy} sets ${JSON.stringify(x.value)}`).join(', ');
    add(c.path, { type: 'conflict', reason: `conflict: ${detail}` });
  }
  return { events, formats, atomicPolicies, owned };
}

/** The plan with `value` in place of its template, in the apply and remove commands too. */
function withValue(plan: SettingPlan, value: string): SettingPlan {
  const fill = (command: DmCommand): DmCommand =>
    'items' in command
      ? { ...command, items: command.items.map((i) => (i.data === plan.value ? { ...i, data: value } : i)) }
      : command;
  return { ...plan, value, apply: { first: fill(plan.apply.first), update: fill(plan.apply.update) } };
}
