// `mdm devices list|show|lock|wipe|reboot|unenroll`: enrolled devices, their inventory and
// commands, and the device actions (docs/protocol-notes.md#csps, #generic-alerts).
import type { Command } from 'commander';
import { DEVICE_ACTIONS, type DeviceAction } from '../dm/actions.js';
import { AdminCommandError, queueDeviceAction } from '../services/devices.js';
import type { Storage } from '../storage/index.js';
import { describeCommand } from './commands.js';
import { actorOf, CliError, runAction, withContext } from './context.js';
import { oneLine, printHuman, printList } from './output.js';

async function deviceDetails(storage: Storage, deviceId: string, recent: number) {
  const device = await storage.devices.getDevice(deviceId);
  if (!device) throw new CliError(`no device ${deviceId}`);
  const [checkIn, inventory, pending, commands, events] = await Promise.all([
    storage.checkIns.get(deviceId),
    storage.inventory.list(deviceId),
    storage.commands.listForDevice(deviceId, { states: ['pending', 'sent'], limit: 500 }),
    storage.commands.listForDevice(deviceId, {
      states: ['done', 'failed', 'expired', 'cancelled'],
      limit: recent,
    }),
    storage.events.list(deviceId, 20),
  ]);
  const withNodes = async (list: typeof pending) =>
    Promise.all(list.map(async (c) => ({ ...c, nodes: await storage.commands.listNodes(c.id) })));
  return {
    device,
    checkIn,
    inventory,
    pending: await withNodes(pending),
    recent: await withNodes(commands),
    events,
  };
}

export function registerDevices(program: Command): void {
  const devices = program
    .command('devices')
    .description('enrolled devices, their inventory, commands and actions');

  devices
    .command('list')
    .description('list devices with their last check-in')
    .option('--json', 'print JSON')
    .action((options: { json?: boolean }, command: Command) =>
      runAction(() =>
        withContext(command, async ({ storage }) => {
          const rows = [];
          for (const d of await storage.devices.listDevices()) {
            const checkIn = await storage.checkIns.get(d.deviceId);
            const pending = await storage.commands.listForDevice(d.deviceId, {
              states: ['pending', 'sent'],
              limit: 1000,
            });
            rows.push({
              deviceId: d.deviceId,
              name: d.name,
              status: d.status,
              user: d.userUpn,
              lastCheckInAt: checkIn?.lastCheckInAt ?? null,
              pendingCommands: pending.length,
            });
          }
          printList(rows, {
            json: options.json,
            empty: 'no devices enrolled yet',
            header: 'DEVICE ID\tNAME\tSTATUS\tLAST CHECK-IN\tPENDING',
            line: (r) =>
              `${oneLine(r.deviceId)}\t${oneLine(r.name ?? '-')}\t${r.status}\t${r.lastCheckInAt ?? 'never'}\t${r.pendingCommands}`,
          });
        }),
      ),
    );

  devices
    .command('show')
    .description('a device: inventory, last check-in, pending and recent commands with statuses and values')
    .argument('<deviceId>', 'DeviceID')
    .option('--recent <n>', 'finished commands to show', '20')
    .option('--json', 'print JSON')
    .action((deviceId: string, options: { json?: boolean; recent: string }, command: Command) =>
      runAction(() =>
        withContext(command, async ({ storage }) => {
          const d = await deviceDetails(storage, deviceId, Math.max(1, Number(options.recent) || 20));
          if (options.json) {
            process.stdout.write(`${JSON.stringify(d, null, 2)}\n`);
            return;
          }
          const out: string[] = [
            `Device ${d.device.deviceId} (${oneLine(d.device.name ?? 'unnamed')})`,
            `  status ${d.device.status}, user ${d.device.userUpn}, enrolled ${d.device.enrolledAt}${d.device.unenrolledAt ? `, unenrolled ${d.device.unenrolledAt}` : ''}`,
            `  last check-in ${d.checkIn?.lastCheckInAt ?? 'never'}, sessions ${d.checkIn?.sessions ?? 0}, login status ${d.checkIn?.loginStatus ?? '-'}, inventory read ${d.checkIn?.lastInventoryAt ?? 'never'}`,
            '',
            `Inventory (${d.inventory.length})`,
            ...d.inventory.map(
              (i) => `  ${oneLine(i.locUri)} = ${oneLine(i.value ?? '')}  (${i.reportedAt})`,
            ),
            '',
            `Pending commands (${d.pending.length})`,
            ...d.pending.flatMap((c) => describeCommand(c, c.nodes).map((l) => `  ${l}`)),
            '',
            `Recent commands (${d.recent.length})`,
            ...d.recent.flatMap((c) => describeCommand(c, c.nodes).map((l) => `  ${l}`)),
          ];
          if (d.events.length > 0) {
            out.push('', `Events (${d.events.length})`);
            for (const e of d.events)
              out.push(
                `  ${e.receivedAt} ${e.alertCode} ${oneLine(e.type)}${e.data !== null ? ` = ${oneLine(e.data)}` : ''}`,
              );
          }
          printHuman(out.join('\n'));
        }),
      ),
    );

  for (const action of Object.keys(DEVICE_ACTIONS) as DeviceAction[]) {
    const sub = devices
      .command(action)
      .description(`queue: ${DEVICE_ACTIONS[action].description}`)
      .argument('<deviceId>', 'DeviceID')
      .option('--actor <name>', 'who is asking (audit log; default the OS user)');
    if (action === 'wipe') sub.option('--yes', 'confirm: the device loses all its data');
    sub.action((deviceId: string, options: { actor?: string; yes?: boolean }, command: Command) =>
      runAction(() =>
        withContext(command, async ({ storage }) => {
          if (action === 'wipe' && !options.yes)
            throw new CliError('wipe erases the device; repeat with --yes to confirm', 2);
          try {
            const id = await queueDeviceAction(storage, { deviceId, action, actor: actorOf(options) });
            printHuman(id);
          } catch (err) {
            if (err instanceof AdminCommandError) throw new CliError(err.message);
            throw err;
          }
        }),
      ),
    );
  }
}
