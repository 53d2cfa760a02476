// `mdm devices list|show|lock|wipe|reboot|unenroll`: enrolled devices, their inventory and
// commands, and the device actions (docs/protocol-notes.md#csps, #generic-alerts).
import type { Command } from 'commander';
import type { Config } from '../config.js';
import { DEVICE_ACTIONS, type DeviceAction } from '../dm/actions.js';
import { hideCommandSecrets } from '../dm/command-secrets.js';
import { type DevicePushReport, devicePushReport } from '../push/report.js';
import type { SyncOutcome } from '../push/service.js';
import { AdminCommandError, queueDeviceAction } from '../services/devices.js';
import type { Storage } from '../storage/index.js';
import type { DeviceCertificateProfileRecord } from '../storage/scep.js';
import { describeCommand } from './commands.js';
import { actorOf, CliError, runAction, withContext } from './context.js';
import { oneLine, printHuman, printList } from './output.js';
import { cliPush } from './push.js';

async function deviceDetails(storage: Storage, config: Config, deviceId: string, recent: number) {
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
  const [push] = await devicePushReport(storage, config, [deviceId]);
  const withNodes = async (list: typeof pending) =>
    Promise.all(
      list.map(async (c) => ({
        ...c,
        command: hideCommandSecrets(c.command),
        nodes: await storage.commands.listNodes(c.id),
      })),
    );
  const certificateProfiles = await storage.scep.listDeviceProfiles(deviceId);
  return {
    device,
    checkIn,
    inventory,
    pending: await withNodes(pending),
    recent: await withNodes(commands),
    events,
    push,
    certificateProfiles,
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
        withContext(command, async ({ config, storage }) => {
          const d = await deviceDetails(storage, config, deviceId, Math.max(1, Number(options.recent) || 20));
          if (options.json) {
            process.stdout.write(`${JSON.stringify(d, null, 2)}\n`);
            return;
          }
          const out: string[] = [
            `Device ${d.device.deviceId} (${oneLine(d.device.name ?? 'unnamed')})`,
            `  status ${d.device.status}, user ${d.device.userUpn}, enrolled ${d.device.enrolledAt}${d.device.unenrolledAt ? `, unenrolled ${d.device.unenrolledAt}` : ''}`,
            `  last check-in ${d.checkIn?.lastCheckInAt ?? 'never'}, sessions ${d.checkIn?.sessions ?? 0}, login status ${d.checkIn?.loginStatus ?? '-'}, inventory read ${d.checkIn?.lastInventoryAt ?? 'never'}`,
            ...(d.push ? describePush(d.push) : []),
            ...(d.certificateProfiles.length > 0
              ? [
                  '',
                  `Certificate profiles (${d.certificateProfiles.length})`,
                  ...d.certificateProfiles.map(describeProfile),
                ]
              : []),
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

  devices
    .command('sync')
    .description('wake devices now with a WNS push (queues nothing; at most one push per device per 30 s)')
    .argument('<deviceId...>', 'DeviceIDs')
    .option('--json', 'print JSON')
    .option('--actor <name>', 'who is asking (audit log; default the OS user)')
    .action((deviceIds: string[], options: { json?: boolean; actor?: string }, command: Command) =>
      runAction(() =>
        withContext(command, async ({ config, storage }) => {
          const push = cliPush(config, storage);
          if (!push.enabled)
            throw new CliError(
              'WNS push is not configured: set MDM_WNS_PFN, MDM_WNS_CLIENT_ID and MDM_WNS_CLIENT_SECRET',
            );
          const outcomes = await push.syncDevices(deviceIds, { actor: actorOf(options) });
          printList(outcomes, {
            json: options.json,
            empty: 'no devices',
            header: 'DEVICE ID\tRESULT\tDETAIL',
            line: (o) => `${oneLine(o.deviceId)}\t${o.result}\t${oneLine(syncDetail(o))}`,
          });
          if (outcomes.some((o) => !['sent', 'coalesced'].includes(o.result))) process.exitCode = 1;
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
        withContext(command, async ({ config, storage }) => {
          if (action === 'wipe' && !options.yes)
            throw new CliError('wipe erases the device; repeat with --yes to confirm', 2);
          try {
            const id = await queueDeviceAction(
              storage,
              { deviceId, action, actor: actorOf(options) },
              { push: cliPush(config, storage) },
            );
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

function syncDetail(o: SyncOutcome): string {
  if (o.result === 'sent') return `sent ${o.sentAt}`;
  if (o.result === 'coalesced') return o.dueAt ? `a push went out < 30 s ago; next at ${o.dueAt}` : '';
  return [o.pushResult, o.httpStatus, o.error].filter((x) => x !== undefined).join(' ') || '-';
}

/** The push lines of `mdm devices show`. */
function describePush(p: DevicePushReport): string[] {
  const state =
    p.state === 'failing' && p.lastPush
      ? `failing (${p.lastPush.result}${p.lastPush.httpStatus !== null ? ` ${p.lastPush.httpStatus}` : ''}${p.lastPush.error ? `: ${p.lastPush.error}` : ''})`
      : p.state.replace('_', ' ');
  const lines = [
    `  push ${state}${p.deviceStatus ? `, device push status ${p.deviceStatus.code} (${p.deviceStatus.text})` : ''}`,
  ];
  if (p.channelUri) lines.push(`  push channel ${oneLine(p.channelUri)} (reported ${p.channelReportedAt})`);
  if (p.lastPush)
    lines.push(
      `  last push ${p.lastPush.sentAt ?? 'never sent'} ${p.lastPush.result}, ${p.pushes} sent${p.dueAt ? `, next due ${p.dueAt}` : ''}`,
    );
  if (p.followedBy)
    lines.push(
      `  session after push ${oneLine(p.followedBy.sessionId)} at ${p.followedBy.at}${p.followedBy.secondsAfterPush !== null ? ` (+${p.followedBy.secondsAfterPush.toFixed(1)} s)` : ''}, ${p.followedBy.pushed === null ? 'origin not reported' : p.followedBy.pushed ? 'started by the push (UserAgentOrigin 3)' : `UserAgentOrigin ${oneLine(p.followedBy.userAgentOrigin ?? '')}`}`,
    );
  return lines;
}

/** One certificate profile line of `mdm devices show`. */
function describeProfile(p: DeviceCertificateProfileRecord): string {
  const cert = p.serial ? `, serial ${p.serial}, thumbprint ${p.thumbprint}, valid until ${p.notAfter}` : '';
  const reason = p.reason ? ` (${oneLine(p.reason)})` : '';
  return `  ${oneLine(p.profile)}: ${p.state}${reason}${cert}${p.installedAt ? `, installed ${p.installedAt}` : ''}`;
}
