// `mdm commands add|show`: queue a Get/Add/Replace/Delete/Exec for a device and inspect it.
import type { Command } from 'commander';
import { STATUS_TEXT } from '../codec/syncml/codes.js';
import { type ItemCommandRequest, itemCommand } from '../dm/actions.js';
import { hideCommandSecrets } from '../dm/command-secrets.js';
import { AdminCommandError, commandAction, queueAdminCommand } from '../services/commands.js';
import { DM_FORMATS, type DmFormat } from '../shared/dm-command.js';
import type { CommandNode, CommandRecord } from '../storage/commands.js';
import { actorOf, CliError, runAction, withContext } from './context.js';
import { oneLine, printHuman } from './output.js';
import { cliPush } from './push.js';

export function statusLabel(code: number | null | undefined): string {
  if (code === null || code === undefined) return '-';
  return `${code} ${STATUS_TEXT[code] ?? ''}`.trim();
}

/** One command as text lines (state, each node's status, returned values). */
export function describeCommand(c: CommandRecord, nodes: readonly CommandNode[]): string[] {
  const what =
    'items' in c.command
      ? `${c.command.verb} ${c.command.items.map((i) => i.target).join(', ')}`
      : `${c.command.verb} (${c.command.commands.length} commands)`;
  const lines = [
    `${c.id}  ${what}`,
    `    state ${c.state}, status ${statusLabel(c.statusCode)}, origin ${c.origin}${c.tag ? `, tag ${c.tag}` : ''}, attempts ${c.attempts}, queued ${c.createdAt}${c.actor ? ` by ${c.actor}` : ''}`,
  ];
  if (c.failureReason) lines.push(`    failed: ${oneLine(c.failureReason)}`);
  if (c.retryOf) lines.push(`    retry of ${c.retryOf}`);
  for (const n of nodes) {
    const where = `session ${n.sessionId} msg ${n.msgId} cmd ${n.cmdId}`;
    const label = n.path === '' ? n.verb : `  ${n.path} ${n.verb} ${n.targets.join(', ')}`;
    lines.push(`    ${oneLine(label)}: ${statusLabel(n.status)} (${where})`);
    for (const r of n.results)
      lines.push(
        `      = ${oneLine(r.locUri)}: ${oneLine(r.data ?? '')}${r.format ? ` [${oneLine(r.format)}]` : ''}`,
      );
  }
  return lines;
}

interface AddOptions {
  get?: string;
  add?: string;
  replace?: string;
  delete?: string;
  exec?: string;
  value?: string;
  format?: string;
  type?: string;
  priority?: string;
  tag?: string;
  expiresIn?: string;
  actor?: string;
}

function requestOf(o: AddOptions): ItemCommandRequest {
  const verbs = (['get', 'add', 'replace', 'delete', 'exec'] as const).filter((v) => o[v] !== undefined);
  if (verbs.length !== 1)
    throw new CliError('give exactly one of --get, --add, --replace, --delete, --exec', 2);
  const flag = verbs[0]!;
  const verb = ({ get: 'Get', add: 'Add', replace: 'Replace', delete: 'Delete', exec: 'Exec' } as const)[
    flag
  ];
  if ((verb === 'Add' || verb === 'Replace') && o.value === undefined)
    throw new CliError(`--${flag} needs --value`, 2);
  if (o.format !== undefined && !(DM_FORMATS as readonly string[]).includes(o.format)) {
    throw new CliError(`--format must be one of ${DM_FORMATS.join(', ')}`, 2);
  }
  const format = (o.format as DmFormat | undefined) ?? (o.value !== undefined ? 'chr' : undefined);
  return {
    verb,
    target: o[flag]!,
    ...(o.value !== undefined && { value: o.value }),
    ...(format !== undefined && { format }),
    ...(o.type !== undefined && { type: o.type }),
  };
}

export function registerCommands(program: Command): void {
  const commands = program
    .command('commands')
    .description('queue OMA-DM commands for a device and inspect them');

  commands
    .command('add')
    .description("queue one command; it is sent in the device's next session")
    .argument('<deviceId>', 'DeviceID (see mdm devices list)')
    .option('--get <LocURI>', 'read a node, e.g. ./DevDetail/SwV')
    .option('--add <LocURI>', 'create a node (with --value)')
    .option('--replace <LocURI>', 'set a node (with --value)')
    .option('--delete <LocURI>', 'delete a node')
    .option('--exec <LocURI>', 'run an operation node (optional --value)')
    .option('--value <value>', 'Data of the item')
    .option('--format <fmt>', `Meta Format (${DM_FORMATS.join('|')}; default chr when a value is given)`)
    .option('--type <mime>', 'Meta Type, e.g. text/plain')
    .option('--priority <n>', 'higher is sent first (default 0)')
    .option('--tag <tag>', 'correlation tag stored with the command')
    .option('--expires-in <minutes>', 'do not send after this many minutes')
    .option('--actor <name>', 'who is asking (audit log; default the OS user)')
    .action((deviceId: string, options: AddOptions, command: Command) =>
      runAction(() =>
        withContext(command, async ({ config, storage }) => {
          const request = requestOf(options);
          const priority = options.priority === undefined ? undefined : Number(options.priority);
          if (priority !== undefined && !Number.isInteger(priority))
            throw new CliError('--priority must be an integer', 2);
          const minutes = options.expiresIn === undefined ? undefined : Number(options.expiresIn);
          if (minutes !== undefined && !(minutes > 0))
            throw new CliError('--expires-in must be a positive number of minutes', 2);
          try {
            const dmCommand = itemCommand(request);
            const id = await queueAdminCommand(
              storage,
              {
                deviceId,
                command: dmCommand,
                actor: actorOf(options),
                action: commandAction(dmCommand),
                ...(priority !== undefined && { priority }),
                ...(options.tag !== undefined && { tag: options.tag }),
                ...(minutes !== undefined && {
                  expiresAt: new Date(Date.now() + minutes * 60_000).toISOString(),
                }),
              },
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

  commands
    .command('show')
    .description('a command with the status of every node and the values returned')
    .argument('<commandId>', 'id printed by mdm commands add')
    .option('--json', 'print JSON')
    .action((commandId: string, options: { json?: boolean }, command: Command) =>
      runAction(() =>
        withContext(command, async ({ storage }) => {
          const stored = await storage.commands.get(commandId);
          if (!stored) throw new CliError(`no command ${commandId}`);
          const c = { ...stored, command: hideCommandSecrets(stored.command) };
          const nodes = await storage.commands.listNodes(commandId);
          if (options.json) process.stdout.write(`${JSON.stringify({ ...c, nodes }, null, 2)}\n`);
          else printHuman(describeCommand(c, nodes).join('\n'));
        }),
      ),
    );
}
