// `mdm users add|list|remove`: the enrollment users (OnPremise and Federated sign-in).
import type { Command } from 'commander';
import { addUser, removeUser, UserError } from '../services/users.js';
import { actorOf, CliError, runAction, withContext } from './context.js';
import { oneLine, printHuman, printList } from './output.js';

export function registerUsers(program: Command): void {
  const users = program.command('users').description('manage the users allowed to enroll devices');

  users
    .command('add')
    .description('add a user (the password is stored as an scrypt hash)')
    .argument('<upn>', 'user principal name, e.g. user@contoso.com (what the user types on the device)')
    .requiredOption('-p, --password <password>', 'the password')
    .option('--actor <name>', 'who is asking (audit log; default the OS user)')
    .action((upn: string, options: { password: string; actor?: string }, command: Command) =>
      runAction(() =>
        withContext(command, async ({ storage }) => {
          try {
            // The audit entry names the user, never the password.
            await addUser(storage, { upn, password: options.password, actor: actorOf(options) });
          } catch (err) {
            if (err instanceof UserError) throw new CliError(err.message);
            throw err;
          }
          printHuman(`added ${upn.trim()}`);
        }),
      ),
    );

  users
    .command('list')
    .description('list the users')
    .option('--json', 'print JSON')
    .action((options: { json?: boolean }, command: Command) =>
      runAction(() =>
        withContext(command, async ({ storage }) => {
          const list = (await storage.users.listUsers()).map((u) => ({ upn: u.upn, createdAt: u.createdAt }));
          printList(list, {
            json: options.json,
            empty: 'no users; add one with: mdm users add <upn> --password <pw>',
            line: (u) => `${oneLine(u.upn)}\t${u.createdAt}`,
          });
        }),
      ),
    );

  users
    .command('remove')
    .description('remove a user (devices already enrolled stay enrolled)')
    .argument('<upn>', 'user principal name')
    .option('--actor <name>', 'who is asking (audit log; default the OS user)')
    .action((upn: string, options: { actor?: string }, command: Command) =>
      runAction(() =>
        withContext(command, async ({ storage }) => {
          if (!(await removeUser(storage, { upn, actor: actorOf(options) })))
            throw new CliError(`no user ${upn.trim()}`);
          printHuman(`removed ${upn.trim()}`);
        }),
      ),
    );
}
