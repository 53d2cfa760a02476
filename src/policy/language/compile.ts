// Validated settings → SyncML command plans (docs/protocol-notes.md#commands, #meta-format-and-locuri, #atomic, #policy-csp): the
// Add/Replace that applies each setting, the Get that verifies it and the Delete that removes it.
import { policyResultPath } from '../../catalog/paths.js';
import type { DmCommand, DmItem } from '../../shared/dm-command.js';
import type { CompiledPolicy, SettingPlan } from './types.js';
import type { ResolvedSetting, ValidatedPolicy } from './validate.js';

const POLICY_CONFIG_RE = /^\.\/(?:Device|User)\/Vendor\/MSFT\/Policy\/Config\//;

export function compilePolicy(policy: ValidatedPolicy): CompiledPolicy {
  return {
    name: policy.name,
    ...(policy.description !== undefined ? { description: policy.description } : {}),
    file: policy.file,
    settings: policy.settings.map(planSetting),
    atomic: policy.atomic,
    ...(policy.apps.length > 0 ? { apps: policy.apps } : {}),
    ...(policy.certificates?.length ? { certificates: policy.certificates } : {}),
  };
}

/**
 * Which verb writes the value. Policy CSP: Add the first time, Replace afterwards (a second Add gets
 * 418; docs/protocol-notes.md#policy-csp). Nodes under a dynamic name the server creates (`…/FirewallRules/{Name}/…`) are
 * also Added first, since Replace on a missing node gets 404 (§7.10). Other CSPs take Replace; a CSP
 * that accepts only one of the two verbs gets that verb both times.
 */
export function applyVerbs(setting: Pick<ResolvedSetting, 'path' | 'node'>): {
  first: 'Add' | 'Replace';
  update: 'Add' | 'Replace';
} {
  const canAdd = setting.node.access.includes('Add');
  const canReplace = setting.node.access.includes('Replace');
  if (!canReplace) return { first: 'Add', update: 'Add' };
  if (!canAdd) return { first: 'Replace', update: 'Replace' };
  const addFirst = POLICY_CONFIG_RE.test(setting.path) || setting.node.dynamic === true;
  return { first: addFirst ? 'Add' : 'Replace', update: 'Replace' };
}

/**
 * A trusted certificate is removed by deleting its `{CertHash}` node; EncodedCertificate itself has
 * no Delete (https://learn.microsoft.com/en-us/windows/client-management/mdm/rootcacertificates-csp).
 */
const TRUSTED_CERTIFICATE_RE = /^(.*\/RootCATrustedCertificates\/[^/]+\/[^/]+)\/EncodedCertificate$/;

function removeCommand(s: ResolvedSetting): DmCommand | undefined {
  if (s.node.access.includes('Delete')) return { verb: 'Delete', items: [{ target: s.path }] };
  const certificate = TRUSTED_CERTIFICATE_RE.exec(s.path)?.[1];
  return certificate ? { verb: 'Delete', items: [{ target: certificate }] } : undefined;
}

function planSetting(s: ResolvedSetting): SettingPlan {
  const { format } = s;
  const item: DmItem = { target: s.path, format, ...(s.type ? { type: s.type } : {}), data: s.value };
  const verbs = applyVerbs(s);
  const first: DmCommand = { verb: verbs.first, items: [item] };
  const update: DmCommand = verbs.update === verbs.first ? first : { verb: verbs.update, items: [item] };
  // Policy CSP: read the merged value the device enforces from Policy/Result (docs/protocol-notes.md#policy-csp).
  const verifyPath = policyResultPath(s.path) ?? s.path;
  const remove = removeCommand(s);
  return {
    path: s.path,
    scope: s.node.scope,
    value: s.value,
    format,
    ...(s.type ? { type: s.type } : {}),
    node: s.node,
    apply: { first, update },
    verifyPath,
    verify: { verb: 'Get', items: [{ target: verifyPath }] },
    verifiable: s.node.access.includes('Get'),
    ...(remove && { remove }),
  };
}

export type ApplyMode = 'first' | 'update';

/**
 * The commands that apply a policy: one per setting (own CmdID each, §10), inside one Atomic when
 * the policy asks for it (§7.12: no Get and no nested Atomic inside; each node appears once).
 */
export function applyCommands(policy: CompiledPolicy, mode: ApplyMode = 'first'): DmCommand[] {
  const commands = policy.settings.map((s) => (mode === 'first' ? s.apply.first : s.apply.update));
  if (!policy.atomic || commands.length === 0) return commands;
  return [{ verb: 'Atomic', commands }];
}

/** The Gets that read back every verifiable setting. */
export function verifyCommands(policy: CompiledPolicy): DmCommand[] {
  return policy.settings.filter((s) => s.verifiable !== false).map((s) => s.verify);
}

/** The Deletes that remove the policy's settings from a device (settings without Delete stay). */
export function removeCommands(policy: CompiledPolicy): DmCommand[] {
  return policy.settings.flatMap((s) => (s.remove ? [s.remove] : []));
}
