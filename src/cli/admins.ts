// `mdm admins add|list|remove`: the web console's admin accounts, each with a role (admin,
// operator, auditor). Separate from enrollment users (`mdm users`). README "Web console".
import type { Command } from 'commander';
import { AdminAccountError, addAdminAccount } from '../console/accounts.js';
import { ADMIN_ROLES } from '../storage/admins.js';
import { actorOf, CliError, runAction, withContext } from './context.js';
import { oneLine, printHuman, printList } from './output.js';

export function registerAdmins(program: Command): void {
  const admins = program.command('admins').description('manage the web console admin accounts');

  admins
    .command('add')
    .description('add a console admin account (the password is stored as an scrypt hash)')
    .argument('<name>', 'sign-in name')
    .requiredOption('--role <role>', `one of ${ADMIN_ROLES.join(', ')}`)
    .requiredOption('-p, --password <password>', 'the password (at least 12 characters)')
    .option('--actor <name>', 'who is asking (audit log; default the OS user)')
    .action((name: string, options: { role: string; password: string; actor?: string }, command: Command) =>
      runAction(() =>
        withContext(command, async ({ storage }) => {
          try {
            await addAdminAccount(storage.admins, name, options.role, options.password);
          } catch (err) {
            if (err instanceof AdminAccountError) throw new CliError(err.message);
            throw err;
          }
          await storage.audit.record({
            actor: actorOf(options),
            action: 'admins.add',
            details: { name: name.trim(), role: options.role },
          });
          printHuman(`added ${name.trim()} (${options.role})`);
        }),
      ),
    );

  admins
    .command('list')
    .description('list the console admin accounts')
    .option('--json', 'print JSON')
    .action((options: { json?: boolean }, command: Command) =>
      runAction(() =>
        withContext(command, async ({ storage }) => {
          const list = (await storage.admins.list()).map((a) => ({
            name: a.name,
            role: a.role,
            createdAt: a.createdAt,
          }));
          printList(list, {
            json: options.json,
            empty: 'no admin accounts; add one with: mdm admins add <name> --role admin --password <pw>',
            line: (a) => `${oneLine(a.name)}\t${a.role}\t${a.createdAt}`,
          });
        }),
      ),
    );

  admins
    .command('remove')
    .description('remove a console admin account (its sessions end at once)')
    .argument('<name>', 'sign-in name')
    .option('--actor <name>', 'who is asking (audit log; default the OS user)')
    .action((name: string, options: { actor?: string }, command: Command) =>
      runAction(() =>
        withContext(command, async ({ storage }) => {
          if (!(await storage.admins.remove(name.trim()))) throw new CliError(`no admin ${name.trim()}`);
          await storage.audit.record({
            actor: actorOf(options),
            action: 'admins.remove',
            details: { name: name.trim() },
          });
          printHuman(`removed ${name.trim()}`);
        }),
      ),
    );
}
