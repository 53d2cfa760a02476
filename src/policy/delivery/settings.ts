// Delivery of policy settings to devices over the session engine (docs/protocol-notes.md#server-replies, #policy-csp): at
// each check-in the device's desired settings are computed (desired.ts), every setting moves through
// the state machine in `setting-state.ts`, and the resulting commands are queued (setting-tags.ts).
// Each Status/Results the device returns for one of those commands comes back through
// `onCommandOutcome` and moves the setting on (applied → verified, drifted, failed …); queue-sync.ts
// catches up with what the engine sent or gave up on.
import type { Logger } from '../../logger.js';
import { recheckIntervalMs } from '../language/assignment.js';
import type { DeviceProfile } from '../language/groups.js';
import type { CompiledPolicy } from '../language/types.js';
import { desiredState } from './desired.js';
import { deviceProfile, type TemplateValues } from './device-profile.js';
import { type ActiveSet, readActiveSet } from './policy-set.js';
import type { CommandAnswer, CommandQueuePort, DeliveryStores } from './ports.js';
import { type QueueSyncDeps, syncWithQueue } from './queue-sync.js';
import {
  emptyRecord,
  type SettingCommand,
  type SettingEvent,
  type SettingRecord,
  transitionSetting,
} from './setting-state.js';
import { ATOMIC_PREFIX, POLICY_PRIORITY, parseSettingTag, sendSettingCommands } from './setting-tags.js';

export { profileInstallPrefixes } from './desired.js';
export {
  deviceProfile,
  reportedValues,
  type TemplateValues,
  templateContextOf,
} from './device-profile.js';
export type { CommandAnswer, CommandQueuePort, DeliveryStores, EnqueueOptions } from './ports.js';
export { POLICY_PRIORITY, parseSettingTag, settingTag } from './setting-tags.js';

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

  const send = (
    queue: CommandQueuePort,
    deviceId: string,
    commands: readonly { path: string; queued: SettingCommand }[],
    atomicPolicies: ReadonlyMap<string, CompiledPolicy> = new Map(),
  ) => sendSettingCommands(queue, deviceId, commands, atomicPolicies, priority);

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
    const desired = profile
      ? await desiredState(set, profile, extraPolicies, options.templateValues, stores)
      : undefined;
    const events = desired?.events ?? new Map<string, SettingEvent[]>();
    const formats = desired?.formats ?? new Map<string, SettingRecord['format']>();
    const owned = desired?.owned ?? (() => false);
    const push = (path: string, e: SettingEvent) => events.set(path, [...(events.get(path) ?? []), e]);
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
    await send(queue, deviceId, commands, desired?.atomicPolicies);
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
    await send(queue, outcome.deviceId, follow);
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

  const queueSync: QueueSyncDeps = { logger, now, activeSet, machineOptions, send, onCommandOutcome };

  return {
    activeSet,
    reconcileDevice,
    onCommandOutcome,
    syncWithQueue: (stores, deviceId, queue) => syncWithQueue(queueSync, stores, deviceId, queue),
  };
}
