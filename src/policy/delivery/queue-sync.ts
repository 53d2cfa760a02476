// Catching up with the session engine's queue at check-in: settings whose command went out move to
// `sent`, those whose command the engine gave up on are failed, and in-flight settings that lost
// their command get it queued again.
import type { Logger } from '../../logger.js';
import type { ActiveSet } from './policy-set.js';
import type { CommandAnswer, CommandQueuePort, DeliveryStores } from './ports.js';
import {
  IN_FLIGHT_COMMAND,
  type SettingCommand,
  type SettingEvent,
  type SettingMachineOptions,
  type SettingRecord,
  transitionSetting,
} from './setting-state.js';
import { itemTarget, parseSettingTag } from './setting-tags.js';

/** What the queue catch-up needs of the delivery service. */
export interface QueueSyncDeps {
  readonly logger: Logger;
  readonly now: () => Date;
  activeSet(stores: Pick<DeliveryStores, 'policies'>): Promise<ActiveSet>;
  machineOptions(set: ActiveSet, path: string): SettingMachineOptions;
  /** Queues setting commands outside any Atomic. */
  send(
    queue: CommandQueuePort,
    deviceId: string,
    commands: readonly { path: string; queued: SettingCommand }[],
  ): Promise<void>;
  onCommandOutcome(stores: DeliveryStores, outcome: CommandAnswer, queue: CommandQueuePort): Promise<void>;
}

/** Machine options for events that never re-check or retry (a `sent` notice). */
const NO_RETRIES = { recheckMs: 0, maxDriftRetries: 0, maxFailureRetries: 0, failureRetryDelayMs: 0 };

/**
 * Catch up with the session engine's queue at check-in. Commands it sent without getting a
 * Status yet move their settings to `sent`; commands it gave up on (no Status after
 * `commandMaxAttempts` sessions, or expired unsent) never produce an outcome, so their settings
 * are failed here instead of waiting forever.
 */
export async function syncWithQueue(
  deps: QueueSyncDeps,
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
        const t = transitionSetting(record, sent, { ...NO_RETRIES, now: deps.now() });
        if (t.record !== record) await stores.deviceSettings.saveDeviceSettings([t.record]);
        continue;
      }
      if (record.updatedAt > (c.completedAt ?? c.createdAt)) continue;
      const verb = 'items' in c.command ? c.command.verb : 'Add';
      await deps.onCommandOutcome(
        stores,
        { deviceId, origin: 'policy', tag: c.tag, verb, target, code: null },
        queue,
      );
    }
  }
  await resendOrphans(deps, stores, deviceId, queue);
}

/**
 * A setting that says `pending`/`sent`/`applied`/`removing` but has no command left in the queue
 * that could answer for it (the command expired or was cancelled): queue that command again
 * (the state machine's `resend`).
 */
async function resendOrphans(
  deps: QueueSyncDeps,
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
  const set = await deps.activeSet(stores);
  const orphans: { path: string; queued: SettingCommand }[] = [];
  const changed: SettingRecord[] = [];
  for (const record of inFlight) {
    const kind = IN_FLIGHT_COMMAND[record.state as keyof typeof IN_FLIGHT_COMMAND];
    if (outstanding.has(`${kind}:${record.path}`)) continue;
    const t = transitionSetting(record, { type: 'resend' }, deps.machineOptions(set, record.path));
    if (t.commands.length === 0) continue;
    if (t.record !== record) changed.push(t.record);
    for (const queued of t.commands) orphans.push({ path: record.path, queued });
  }
  if (changed.length > 0) await stores.deviceSettings.saveDeviceSettings(changed);
  if (orphans.length === 0) return;
  deps.logger.warn({ deviceId, settings: orphans.map((o) => o.path) }, 'policy commands lost; queued again');
  await deps.send(queue, deviceId, orphans);
}
