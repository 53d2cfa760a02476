// Delivery of policy settings to devices over the session engine (docs/protocol-notes.md#server-replies, #policy-csp): at
// each check-in the device's desired settings are computed from the stored policy set and its
// groups, every setting moves through the state machine in `setting-state.ts`, and the resulting
// commands are queued. Each Status/Results the device returns for one of those commands comes back
// through `onCommandOutcome` and moves the setting on (applied → verified, drifted, failed …).
import type { Logger } from '../../logger.js';
import type { CommandOrigin, DmCommand, DmContainerVerb, DmItemVerb } from '../../shared/dm-command.js';
import type { AppStore } from '../../storage/apps.js';
import type { AuditLog } from '../../storage/audit.js';
import { type CheckInStore, userLoggedOn } from '../../storage/checkins.js';
import type { CommandQueue } from '../../storage/commands.js';
import type { ComplianceStore } from '../../storage/compliance.js';
import type { DeviceSettingStore } from '../../storage/device-settings.js';
import type { DeviceStore } from '../../storage/devices.js';
import type { InventoryStore } from '../../storage/inventory.js';
import type { PolicyStore } from '../../storage/policies.js';
import type { ScepStore } from '../../storage/scep.js';
import type { WebhookOutbox } from '../../storage/webhooks.js';
import { FACT_PATHS } from '../compliance/rules.js';
import { recheckIntervalMs } from '../language/assignment.js';
import type { DeviceProfile } from '../language/groups.js';
import { hasTemplate, resolveTemplate, type TemplateContext } from '../language/templates.js';
import type { CompiledPolicy, SettingPlan } from '../language/types.js';
import { notApplicableReason } from './applicability.js';
import { resolveSettings } from './conflicts.js';
import { type ActiveSet, readActiveSet } from './policy-set.js';
import {
  type CommandKind,
  emptyRecord,
  IN_FLIGHT_COMMAND,
  type SettingCommand,
  type SettingEvent,
  type SettingRecord,
  transitionSetting,
} from './setting-state.js';
import { indexGroups, targetedPolicies } from './targeting.js';

/** Options a queued command carries (the session engine's queue implements this port). */
export interface EnqueueOptions {
  readonly origin: CommandOrigin;
  /** Correlation string handed back with every outcome of the command. */
  readonly tag: string;
  /** Higher is sent first. */
  readonly priority?: number;
  /** ISO time after which the command is dropped unsent. */
  readonly expiresAt?: string;
}

export interface CommandQueuePort {
  enqueue(deviceId: string, command: DmCommand, options: EnqueueOptions): Promise<void>;
}

/** One answer of the device to a queued command node, as delivery judges it (`answerOf` in ../hooks.ts). */
export interface CommandAnswer {
  readonly deviceId: string;
  readonly origin: CommandOrigin;
  readonly tag?: string;
  readonly verb: DmItemVerb | DmContainerVerb;
  /** Item LocURI the status refers to (TargetRef), needed for commands inside an Atomic. */
  readonly target?: string;
  /** Device status code; null = the command expired or ran out of attempts unacknowledged. */
  readonly code: number | null;
  /** Results Data of a Get. */
  readonly data?: string;
}

/** What delivery reads and writes: an exchange's view of its transaction, or the storage outside one. */
export interface DeliveryStores {
  readonly policies: Pick<PolicyStore, 'currentRevision' | 'currentPolicySet'>;
  readonly deviceSettings: Pick<
    DeviceSettingStore,
    'listDeviceSettings' | 'getDeviceSetting' | 'saveDeviceSettings'
  >;
  readonly compliance: Pick<ComplianceStore, 'getFacts' | 'recordFacts' | 'getCompliance' | 'saveCompliance'>;
  readonly devices: Pick<DeviceStore, 'getDevice' | 'listDevices'>;
  readonly inventory: Pick<InventoryStore, 'list'>;
  readonly checkIns: Pick<CheckInStore, 'get'>;
  /** The session engine's queue: commands it gave up on (never acknowledged, expired). */
  readonly commands?: Pick<CommandQueue, 'listForDevice'>;
  /** App deployment records (src/policy/apps/delivery.ts); written straight through. */
  readonly apps?: Pick<AppStore, 'listDeviceApps' | 'saveDeviceApps'>;
  /** The webhook outbox: compliance `notify: {webhook}` notices, written with the change. */
  readonly webhooks?: Pick<WebhookOutbox, 'enqueue'>;
  /**
   * Certificate profile records, challenges and issued certificates
   * (src/policy/delivery/certificate-profiles.ts); written straight through.
   */
  readonly scep?: Pick<
    ScepStore,
    | 'listDeviceProfiles'
    | 'saveDeviceProfiles'
    | 'createChallenge'
    | 'listCertificates'
    | 'findCertificate'
    | 'revokeCertificate'
  >;
  /** The audit log (revocations on profile removal). */
  readonly audit?: Pick<AuditLog, 'record'>;
}

/**
 * The last value the device reported per node: the session engine's inventory, overlaid with
 * the facts delivery/compliance recorded themselves (newer wins; an error status clears it).
 */
export async function reportedValues(stores: DeliveryStores, deviceId: string): Promise<Map<string, string>> {
  const values = new Map<string, { value: string | null; at: string }>();
  for (const e of await stores.inventory.list(deviceId))
    values.set(e.locUri, { value: e.value, at: e.reportedAt });
  for (const f of await stores.compliance.getFacts(deviceId)) {
    const prev = values.get(f.path);
    if (!prev || prev.at <= f.reportedAt) values.set(f.path, { value: f.value, at: f.reportedAt });
  }
  const out = new Map<string, string>();
  for (const [path, v] of values) if (v.value !== null) out.set(path, v.value);
  return out;
}

export interface DeliveryOptions {
  readonly logger: Logger;
  /**
   * The session engine itself re-sends an Add answered 418 as Replace (docs/protocol-notes.md#policy-csp); then
   * delivery only notes that the node now holds a value. Default true.
   */
  readonly engineRetries418?: boolean;
  readonly now?: () => Date;
  /** Policy commands go before inventory, after admin actions. */
  readonly priority?: number;
  /**
   * Server-side values of `{{variables}}` for a device (SCEP URL and CA, issued certificates'
   * thumbprints); the device profile supplies the rest. Without it only those remain.
   */
  readonly templateValues?: TemplateValues;
}

/**
 * Server-side values of `{{variables}}` for a device, read through `stores` (the exchange's
 * transaction) when given.
 */
export type TemplateValues = (
  profile: DeviceProfile,
  stores?: Pick<DeliveryStores, 'scep'>,
) => Promise<Partial<TemplateContext>>;

/** Every `{{variable}}` value of one device: its profile's, and the server's (`templateValues`). */
export async function templateContextOf(
  profile: DeviceProfile,
  templateValues: TemplateValues | undefined,
  stores?: Pick<DeliveryStores, 'scep'>,
): Promise<TemplateContext> {
  const server = templateValues ? await templateValues(profile, stores) : {};
  return {
    ...server,
    device: {
      id: profile.id,
      ...(profile.name ? { name: profile.name } : {}),
      ...(profile.serial ? { serial: profile.serial } : {}),
    },
    ...(profile.user ? { user: { upn: profile.user } } : {}),
  };
}

/**
 * Install nodes of the certificate profiles of `policies` (`…/ClientCertificateInstall/SCEP/<name>/Install/`):
 * delivered by certificate-profiles.ts, with a challenge per device and the Enroll Exec, never as
 * settings of their own.
 */
export function profileInstallPrefixes(policies: readonly CompiledPolicy[]): string[] {
  return policies.flatMap((p) => (p.certificates ?? []).map((c) => `${c.root}/Install/`));
}

const TAG_PREFIX = 'setting';
/** Machine options for events that never re-check or retry (a `sent` notice). */
const NO_RETRIES = { recheckMs: 0, maxDriftRetries: 0, maxFailureRetries: 0, failureRetryDelayMs: 0 };
const ATOMIC_PREFIX = 'setting-atomic';
export const POLICY_PRIORITY = 50;

/** `setting:<kind>:<path>`; inside an Atomic `setting-atomic:<policy>` (items matched by target). */
export function settingTag(kind: CommandKind, path: string): string {
  return `${TAG_PREFIX}:${kind}:${path}`;
}

export function parseSettingTag(
  tag: string | undefined,
  target?: string,
): { kind: CommandKind; path: string } | undefined {
  if (!tag) return undefined;
  if (tag.startsWith(`${ATOMIC_PREFIX}:`)) return target ? { kind: 'apply', path: target } : undefined;
  const m = /^setting:(apply|verify|remove):(.+)$/s.exec(tag);
  return m ? { kind: m[1] as CommandKind, path: m[2]! } : undefined;
}

/**
 * The device as targeting sees it: enrollment record, reported inventory facts, and the LoginStatus
 * of the current session (`loginStatus`, at check-in) or else of its last one.
 */
/** DevDetail nodes behind `{{device.name}}` and `{{device.serial}}` (DevDetail CSP). */
const DEVICE_NAME_PATH = './DevDetail/Ext/Microsoft/DNSComputerName';
const DEVICE_SERIAL_PATH = './DevDetail/Ext/Microsoft/SMBIOSSerialNumber';

/** The plan with `value` in place of its template, in the apply and remove commands too. */
function withValue(plan: SettingPlan, value: string): SettingPlan {
  const fill = (command: DmCommand): DmCommand =>
    'items' in command
      ? { ...command, items: command.items.map((i) => (i.data === plan.value ? { ...i, data: value } : i)) }
      : command;
  return { ...plan, value, apply: { first: fill(plan.apply.first), update: fill(plan.apply.update) } };
}

export async function deviceProfile(
  stores: DeliveryStores,
  deviceId: string,
  loginStatus?: string,
): Promise<DeviceProfile | undefined> {
  const device = await stores.devices.getDevice(deviceId);
  if (!device) return undefined;
  const facts = await reportedValues(stores, deviceId);
  const checkin = loginStatus !== undefined ? { loginStatus } : await stores.checkIns.get(deviceId);
  const opt = <K extends string>(k: K, v: string | null | undefined) => (v ? { [k]: v } : {});
  return {
    id: deviceId,
    ...opt('user', device.userUpn),
    ...opt('edition', facts.get(FACT_PATHS.osEdition) ?? device.osEdition),
    ...opt('osVersion', facts.get(FACT_PATHS.osVersion) ?? device.osVersion),
    ...opt('model', facts.get(FACT_PATHS.model) ?? device.deviceType),
    ...opt('name', facts.get(DEVICE_NAME_PATH)),
    ...opt('serial', facts.get(DEVICE_SERIAL_PATH)),
    userLoggedOn: userLoggedOn(checkin),
  };
}

/** Every method works on the `stores` it is given (an exchange's transaction, or the storage). */
export interface DeliveryService {
  /** Reload the policy set when `mdm policy apply` stored a new revision (cheap when unchanged). */
  activeSet(stores: Pick<DeliveryStores, 'policies'>): Promise<ActiveSet>;
  /** Bring one device's settings in line with the policy set; queues what must be sent. */
  reconcileDevice(
    stores: DeliveryStores,
    deviceId: string,
    queue: CommandQueuePort,
    extraPolicies?: readonly string[],
    profile?: DeviceProfile,
  ): Promise<number>;
  /** Record one command outcome and queue the follow-up (verify Get, Replace after 418, re-apply). */
  onCommandOutcome(stores: DeliveryStores, outcome: CommandAnswer, queue: CommandQueuePort): Promise<void>;
  /** Mark settings whose command is out (`sent`), fail those the engine abandoned unacknowledged. */
  syncWithQueue(stores: DeliveryStores, deviceId: string, queue: CommandQueuePort): Promise<void>;
}

export function createDeliveryService(options: DeliveryOptions): DeliveryService {
  const { logger } = options;
  const engineRetries418 = options.engineRetries418 ?? true;
  const now = options.now ?? (() => new Date());
  const priority = options.priority ?? POLICY_PRIORITY;
  let cached: ActiveSet | undefined;

  async function activeSet(stores: Pick<DeliveryStores, 'policies'>): Promise<ActiveSet> {
    const revision = await stores.policies.currentRevision();
    if (!cached || cached.revision !== revision) cached = await readActiveSet(stores.policies);
    return cached;
  }

  const machineOptions = (set: ActiveSet, path: string) => ({
    now: now(),
    recheckMs: recheckIntervalMs(set.assignments, path),
    maxDriftRetries: set.assignments.verification.maxDriftRetries,
    maxFailureRetries: set.assignments.verification.maxFailureRetries,
    failureRetryDelayMs: set.assignments.verification.failureRetryDelayMs,
  });

  async function send(
    queue: CommandQueuePort,
    deviceId: string,
    commands: readonly { path: string; queued: SettingCommand }[],
    atomicPolicies: ReadonlyMap<string, CompiledPolicy>,
  ) {
    // Apply commands of an atomic policy go out together in one Atomic (docs/protocol-notes.md#atomic).
    const atomic = new Map<string, DmCommand[]>();
    for (const { path, queued } of commands) {
      const policy = queued.kind === 'apply' ? atomicPolicies.get(path) : undefined;
      if (policy) {
        atomic.set(policy.name, [...(atomic.get(policy.name) ?? []), queued.command]);
        continue;
      }
      await queue.enqueue(deviceId, queued.command, {
        origin: 'policy',
        tag: settingTag(queued.kind, path),
        priority,
      });
    }
    for (const [name, list] of atomic) {
      const command: DmCommand = list.length === 1 ? list[0]! : { verb: 'Atomic', commands: list };
      const tag = list.length === 1 ? settingTag('apply', itemTarget(list[0]!)) : `${ATOMIC_PREFIX}:${name}`;
      await queue.enqueue(deviceId, command, { origin: 'policy', tag, priority });
    }
  }

  async function reconcileDevice(
    stores: DeliveryStores,
    deviceId: string,
    queue: CommandQueuePort,
    extraPolicies: readonly string[] = [],
    known?: DeviceProfile,
  ): Promise<number> {
    const set = await activeSet(stores);
    const existing = new Map(
      (await stores.deviceSettings.listDeviceSettings(deviceId)).map((r) => [r.path, r as SettingRecord]),
    );
    if (set.policies.size === 0 && existing.size === 0) return 0; // nothing to deliver or remove
    const profile = known ?? (await deviceProfile(stores, deviceId));
    const events = new Map<string, SettingEvent[]>();
    const push = (path: string, e: SettingEvent) => events.set(path, [...(events.get(path) ?? []), e]);
    const atomicPolicies = new Map<string, CompiledPolicy>();
    const formats = new Map<string, SettingRecord['format']>();
    let owned: (path: string) => boolean = () => false;

    if (profile) {
      const groups = indexGroups(set.assignments.groups);
      const names = new Set([
        ...targetedPolicies(profile, set.assignments.assignments, groups),
        ...extraPolicies,
      ]);
      const policies = [...names].flatMap((n) => set.policies.get(n) ?? []);
      const resolved = resolveSettings(policies, set.assignments.resolutions);
      const prefixes = profileInstallPrefixes(policies);
      owned = (path) => prefixes.some((p) => path.startsWith(p));
      let context: TemplateContext | undefined;
      for (const { policy, plan: compiled } of resolved.desired) {
        if (owned(compiled.path)) continue;
        let plan = compiled;
        // Per-device values (README "Certificate profiles over SCEP"): filled here, or the setting
        // does not apply to this device.
        if (hasTemplate(plan.value)) {
          context ??= await templateContextOf(profile, options.templateValues, stores);
          const filled = resolveTemplate(plan.value, context);
          formats.set(plan.path, plan.format);
          if ('unresolved' in filled) {
            push(plan.path, { type: 'not_applicable', reason: filled.unresolved });
            continue;
          }
          plan = withValue(plan, filled.value);
        }
        formats.set(plan.path, plan.format);
        if (set.policies.get(policy)?.atomic) atomicPolicies.set(plan.path, set.policies.get(policy)!);
        const reason = notApplicableReason(profile, plan);
        if (reason)
          push(plan.path, {
            type: 'not_applicable',
            reason,
            transient: plan.scope === 'user' && !profile.userLoggedOn,
          });
        else push(plan.path, { type: 'assign', policy, plan });
      }
      for (const c of resolved.conflicts) {
        if (owned(c.path)) continue;
        const candidates = policies.flatMap((p) => p.settings.filter((s) => s.path === c.path));
        formats.set(c.path, candidates[0]?.format ?? 'chr');
        const detail = c.candidates.map((x) => `${x.policy} sets ${JSON.stringify(x.value)}`).join(', ');
        push(c.path, { type: 'conflict', reason: `conflict: ${detail}` });
      }
    }
    for (const path of existing.keys())
      if (!events.has(path) && !owned(path)) push(path, { type: 'unassign' });

    const at = now();
    const changed: SettingRecord[] = [];
    const commands: { path: string; queued: SettingCommand }[] = [];
    for (const [path, list] of events) {
      let record = existing.get(path) ?? emptyRecord(deviceId, path, formats.get(path) ?? 'chr', at);
      const start = record;
      for (const event of list) {
        const t = transitionSetting(record, event, machineOptions(set, path));
        record = t.record;
        for (const q of t.commands) commands.push({ path, queued: q });
      }
      // Periodic re-verification (drift detection) of settings whose interval has passed.
      if (record.nextCheckAt && Date.parse(record.nextCheckAt) <= at.getTime()) {
        const t = transitionSetting(record, { type: 'recheck' }, machineOptions(set, path));
        record = t.record;
        for (const q of t.commands) commands.push({ path, queued: q });
      }
      if (record !== start || !existing.has(path)) changed.push(record);
    }
    if (changed.length > 0) await stores.deviceSettings.saveDeviceSettings(changed);
    await send(queue, deviceId, commands, atomicPolicies);
    if (commands.length > 0) logger.debug({ deviceId, commands: commands.length }, 'policy commands queued');
    return commands.length;
  }

  async function onCommandOutcome(
    stores: DeliveryStores,
    outcome: CommandAnswer,
    queue: CommandQueuePort,
  ): Promise<void> {
    const ref = parseSettingTag(outcome.tag, outcome.target);
    if (!ref || outcome.verb === 'Atomic' || outcome.verb === 'Sequence') return;
    const record = (await stores.deviceSettings.getDeviceSetting(outcome.deviceId, ref.path)) as
      | SettingRecord
      | undefined;
    if (!record) return;
    const set = await activeSet(stores);
    const event: SettingEvent = {
      type: 'outcome',
      kind: ref.kind,
      code: outcome.code,
      ...(outcome.data !== undefined ? { data: outcome.data } : {}),
    };
    const t = transitionSetting(record, event, machineOptions(set, ref.path));
    if (t.record !== record) await stores.deviceSettings.saveDeviceSettings([t.record]);
    // The engine re-sends a 418'd Add as Replace, but not one inside an Atomic: that one is re-sent here.
    const inAtomic = outcome.tag?.startsWith(`${ATOMIC_PREFIX}:`) === true;
    const retried = engineRetries418 && outcome.code === 418 && !inAtomic;
    const follow = retried ? [] : t.commands.map((queued) => ({ path: ref.path, queued }));
    await send(queue, outcome.deviceId, follow, new Map());
    if (t.record.state !== record.state) {
      logger.info(
        {
          deviceId: outcome.deviceId,
          path: ref.path,
          from: record.state,
          to: t.record.state,
          code: outcome.code,
        },
        'policy setting state changed',
      );
    }
  }

  /**
   * Catch up with the session engine's queue at check-in. Commands it sent without getting a
   * Status yet move their settings to `sent`; commands it gave up on (no Status after
   * `commandMaxAttempts` sessions, or expired unsent) never produce an outcome, so their settings
   * are failed here instead of waiting forever.
   */
  async function syncWithQueue(
    stores: DeliveryStores,
    deviceId: string,
    queue: CommandQueuePort,
  ): Promise<void> {
    if (!stores.commands) return;
    const list = await stores.commands.listForDevice(deviceId, {
      states: ['sent', 'failed', 'expired'],
      limit: 200,
    });
    for (const c of list) {
      if (c.origin !== 'policy' || !c.tag) continue;
      const targets = 'commands' in c.command ? c.command.commands.map(itemTarget) : [itemTarget(c.command)];
      for (const target of targets) {
        const ref = parseSettingTag(c.tag, target);
        if (!ref) continue;
        const record = (await stores.deviceSettings.getDeviceSetting(deviceId, ref.path)) as
          | SettingRecord
          | undefined;
        if (!record) continue;
        if (c.state === 'sent') {
          const sent: SettingEvent = { type: 'sent', kind: ref.kind, ...(c.sentAt ? { at: c.sentAt } : {}) };
          const t = transitionSetting(record, sent, { ...NO_RETRIES, now: now() });
          if (t.record !== record) await stores.deviceSettings.saveDeviceSettings([t.record]);
          continue;
        }
        if (record.updatedAt > (c.completedAt ?? c.createdAt)) continue;
        const verb = 'items' in c.command ? c.command.verb : 'Add';
        await onCommandOutcome(
          stores,
          { deviceId, origin: 'policy', tag: c.tag, verb, target, code: null },
          queue,
        );
      }
    }
    await resendOrphans(stores, deviceId, queue);
  }

  /**
   * A setting that says `pending`/`sent`/`applied`/`removing` but has no command left in the queue
   * that could answer for it (the command expired or was cancelled): queue that command again
   * (the state machine's `resend`).
   */
  async function resendOrphans(
    stores: DeliveryStores,
    deviceId: string,
    queue: CommandQueuePort,
  ): Promise<void> {
    if (!stores.commands) return;
    const records = (await stores.deviceSettings.listDeviceSettings(deviceId)) as SettingRecord[];
    const inFlight = records.filter((r) => r.state in IN_FLIGHT_COMMAND);
    if (inFlight.length === 0) return;
    const outstanding = new Set<string>();
    const open = await stores.commands.listForDevice(deviceId, { states: ['pending', 'sent'], limit: 1000 });
    for (const c of open) {
      if (c.origin !== 'policy') continue;
      const targets = 'commands' in c.command ? c.command.commands.map(itemTarget) : [itemTarget(c.command)];
      for (const target of targets) {
        const ref = parseSettingTag(c.tag ?? undefined, target);
        if (ref) outstanding.add(`${ref.kind}:${ref.path}`);
      }
    }
    const set = await activeSet(stores);
    const orphans: { path: string; queued: SettingCommand }[] = [];
    const changed: SettingRecord[] = [];
    for (const record of inFlight) {
      const kind = IN_FLIGHT_COMMAND[record.state as keyof typeof IN_FLIGHT_COMMAND];
      if (outstanding.has(`${kind}:${record.path}`)) continue;
      const t = transitionSetting(record, { type: 'resend' }, machineOptions(set, record.path));
      if (t.commands.length === 0) continue;
      if (t.record !== record) changed.push(t.record);
      for (const queued of t.commands) orphans.push({ path: record.path, queued });
    }
    if (changed.length > 0) await stores.deviceSettings.saveDeviceSettings(changed);
    if (orphans.length === 0) return;
    logger.warn({ deviceId, settings: orphans.map((o) => o.path) }, 'policy commands lost; queued again');
    await send(queue, deviceId, orphans, new Map());
  }

  return { activeSet, reconcileDevice, onCommandOutcome, syncWithQueue };
}

function itemTarget(command: DmCommand): string {
  return 'items' in command ? (command.items[0]?.target ?? '') : '';
}
