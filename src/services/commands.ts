// Admin commands shared by `mdm commands …` and the admin API (docs/api.md): one command for one
// device (`queueAdminCommand`, src/dm/admin.ts), the same command for many devices, cancelling one.
import { commandProblem } from '../dm/actions.js';
import { AdminCommandError, queueAdminCommand } from '../dm/admin.js';
import type { DmCommand } from '../shared/dm-command.js';
import type { Storage } from '../storage/index.js';

export { AdminCommandError, queueAdminCommand };

/** The audit action of an admin command: `commands.get`, `commands.atomic`, … */
export const commandAction = (command: DmCommand) => `commands.${command.verb.toLowerCase()}`;

/**
 * Queues `command` for every device, all or nothing: when the command is invalid or any device is
 * unknown or not enrolled, nothing is queued and the error lists them.
 */
export async function queueBulkCommand(
  storage: Storage,
  r: { readonly deviceIds: readonly string[]; readonly command: DmCommand; readonly actor: string },
): Promise<{ deviceId: string; id: string }[]> {
  const problem = commandProblem(r.command);
  if (problem) throw new AdminCommandError(problem);
  const ids = [...new Set(r.deviceIds)];
  return storage.transaction(async (tx) => {
    const bad: string[] = [];
    for (const id of ids) if ((await tx.devices.getDevice(id))?.status !== 'enrolled') bad.push(id);
    if (bad.length > 0) throw new AdminCommandError(`not enrolled or unknown: ${bad.join(', ')}`);
    const out: { deviceId: string; id: string }[] = [];
    for (const deviceId of ids) {
      const id = await queueAdminCommand(tx, {
        deviceId,
        command: r.command,
        actor: r.actor,
        action: commandAction(r.command),
      });
      out.push({ deviceId, id });
    }
    return out;
  });
}

/** Cancels a pending command; `unknown` or `not-pending` when it cannot. */
export async function cancelCommand(
  storage: Storage,
  r: { readonly commandId: string; readonly actor: string },
): Promise<'cancelled' | 'unknown' | 'not-pending'> {
  return storage.transaction(async (tx) => {
    const c = await tx.commands.get(r.commandId);
    if (!c) return 'unknown';
    if (!(await tx.commands.cancel(r.commandId))) return 'not-pending';
    await tx.audit.record({
      actor: r.actor,
      action: 'commands.cancel',
      deviceId: c.deviceId,
      details: { commandId: r.commandId },
    });
    return 'cancelled';
  });
}
