// Device actions shared by the `mdm devices …` commands and the admin API (docs/api.md): every one
// checks the device, queues or records the change and writes the audit log, in one place.
import { ACTION_PRIORITY, type DeviceAction, deviceActionCommand } from '../dm/actions.js';
import { AdminCommandError, queueAdminCommand } from '../dm/admin.js';
import type { Storage } from '../storage/index.js';
import type { EventSink } from '../webhooks/events.js';

export { AdminCommandError };

/** Queues a device action (lock, wipe, reboot, unenroll) ahead of other work; returns the command id. */
export async function queueDeviceAction(
  storage: Storage,
  r: { readonly deviceId: string; readonly action: DeviceAction; readonly actor: string },
  options: Parameters<typeof queueAdminCommand>[2] = {},
): Promise<string> {
  const device = await storage.devices.getDevice(r.deviceId);
  if (!device) throw new AdminCommandError(`no device ${r.deviceId}`);
  return queueAdminCommand(
    storage,
    {
      deviceId: r.deviceId,
      command: deviceActionCommand(r.action, device.providerId),
      actor: r.actor,
      action: `devices.${r.action}`,
      origin: 'action',
      priority: ACTION_PRIORITY,
    },
    options,
  );
}

/** Sets the device's display name; false for an unknown device. */
export async function renameDevice(
  storage: Storage,
  r: { readonly deviceId: string; readonly name: string; readonly actor: string },
): Promise<boolean> {
  return storage.transaction(async (tx) => {
    const before = await tx.devices.getDevice(r.deviceId);
    if (!before || !(await tx.devices.renameDevice(r.deviceId, r.name))) return false;
    await tx.audit.record({
      actor: r.actor,
      action: 'devices.rename',
      deviceId: r.deviceId,
      details: { from: before.name, to: r.name },
    });
    return true;
  });
}

/**
 * Retire: the server stops managing the device at once. Its pending commands are cancelled and its
 * enrollment ends (certificates revoked, so the device can no longer authenticate; MS-MDE2 3.1.4
 * the certificate is the device's credential). Queue `unenroll` first to have the device remove
 * the enrollment itself. Returns false for an unknown device.
 */
export async function retireDevice(
  storage: Storage,
  r: { readonly deviceId: string; readonly actor: string; readonly events?: EventSink },
): Promise<{ cancelledCommands: number; wasEnrolled: boolean } | undefined> {
  return storage.transaction(async (tx) => {
    if (!(await tx.devices.getDevice(r.deviceId))) return undefined;
    const cancelledCommands = await tx.commands.cancelPending(r.deviceId);
    const wasEnrolled = await tx.devices.markUnenrolled(r.deviceId);
    await tx.audit.record({
      actor: r.actor,
      action: 'devices.retire',
      deviceId: r.deviceId,
      details: { cancelledCommands, wasEnrolled },
    });
    if (wasEnrolled)
      await r.events?.emit(tx, 'device.unenrolled', { deviceId: r.deviceId, reason: 'retired' });
    return { cancelledCommands, wasEnrolled };
  });
}
