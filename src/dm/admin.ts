// Administrative queueing: every admin command is checked (device enrolled, LocURIs valid), queued
// and written to the audit log (who, what, when).
import type { CommandOrigin, DmCommand } from '../shared/dm-command.js';
import type { Storage } from '../storage/index.js';
import { commandProblem } from './actions.js';

export class AdminCommandError extends Error {
  override name = 'AdminCommandError';
}

export interface AdminCommandRequest {
  readonly deviceId: string;
  readonly command: DmCommand;
  /** Who asked (OS user or --actor). */
  readonly actor: string;
  /** Audit action name, e.g. `commands.add`, `devices.wipe`. */
  readonly action: string;
  readonly origin?: CommandOrigin;
  readonly priority?: number;
  readonly tag?: string;
  readonly expiresAt?: string;
}

function targets(command: DmCommand): string[] {
  return 'commands' in command ? command.commands.flatMap(targets) : command.items.map((i) => i.target);
}

export async function queueAdminCommand(
  storage: Pick<Storage, 'devices' | 'commands' | 'audit'>,
  r: AdminCommandRequest,
  options: {
    /** Wakes the device over WNS once the command is queued (coalesced; src/push/service.ts). */
    readonly push?: { notifyChanged(deviceIds: readonly string[], reason: string): Promise<void> };
  } = {},
): Promise<string> {
  const device = await storage.devices.getDevice(r.deviceId);
  if (!device) throw new AdminCommandError(`no device ${r.deviceId}`);
  if (device.status !== 'enrolled') throw new AdminCommandError(`device ${r.deviceId} is not enrolled`);
  const problem = commandProblem(r.command);
  if (problem) throw new AdminCommandError(problem);
  const id = await storage.commands.enqueue({
    deviceId: r.deviceId,
    command: r.command,
    origin: r.origin ?? 'admin',
    actor: r.actor,
    ...(r.priority !== undefined && { priority: r.priority }),
    ...(r.tag !== undefined && { tag: r.tag }),
    ...(r.expiresAt !== undefined && { expiresAt: r.expiresAt }),
  });
  await storage.audit.record({
    actor: r.actor,
    action: r.action,
    deviceId: r.deviceId,
    details: { commandId: id, verb: r.command.verb, targets: targets(r.command) },
  });
  await options.push?.notifyChanged([r.deviceId], r.action);
  return id;
}
