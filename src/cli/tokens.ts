// `mdm tokens create|list|revoke`: API tokens for the admin API (`Authorization: Bearer …`).
// The token is printed once; only its SHA-256 is stored.
import type { Command } from 'commander';
import { createToken, revokeToken } from '../services/tokens.js';
import { DEFAULT_TOKEN_ROLE, TOKEN_ROLES, type TokenRole } from '../storage/tokens.js';
import { actorOf, CliError, runAction, withContext } from './context.js';
import { oneLine, printHuman, printList } from './output.js';

export function registerTokens(program: Command): void {
  const tokens = program.command('tokens').description('API tokens for the admin API');
  tokens
    .command('create')
    .description('create a token and print it once (store it now: it cannot be shown again)')
    .option('-n, --name <name>', 'what the token is for', 'admin')
    .option(
      '--role <role>',
      `${TOKEN_ROLES.join('|')}: admin everything, operator device actions and commands, auditor read-only`,
      DEFAULT_TOKEN_ROLE,
    )
    .option('--actor <name>', 'who is asking (audit log; default the OS user)')
    .action((opts: { name: string; role: string; actor?: string }, command: Command) =>
      runAction(() =>
        withContext(command, async ({ storage }) => {
          if (!(TOKEN_ROLES as readonly string[]).includes(opts.role))
            throw new CliError(`--role must be one of ${TOKEN_ROLES.join(', ')}`, 2);
          // The audit entry names the token, never its value.
          const { id, token, role } = await createToken(storage, {
            name: opts.name,
            role: opts.role as TokenRole,
            actor: actorOf(opts),
          });
          printHuman(
            `created ${role} token ${id} (${opts.name}); use it as: Authorization: Bearer <token>`,
            process.stderr,
          );
          process.stdout.write(`${token}\n`);
        }),
      ),
    );
  tokens
    .command('list')
    .description('list tokens (never their values)')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }, command: Command) =>
      runAction(() =>
        withContext(command, async ({ storage }) => {
          const list = (await storage.tokens.listTokens()).map(({ hash: _hash, ...t }) => t);
          printList(list, {
            json: opts.json,
            empty: 'no tokens; create one with: mdm tokens create',
            line: (t) => {
              const state = t.revokedAt ? `revoked ${t.revokedAt}` : `last used ${t.lastUsedAt ?? 'never'}`;
              return `${t.id}\t${oneLine(t.name)}\t${t.role}\tcreated ${t.createdAt}\t${state}`;
            },
          });
        }),
      ),
    );
  tokens
    .command('revoke')
    .description('revoke a token')
    .argument('<id>', 'token id (from mdm tokens list)')
    .option('--actor <name>', 'who is asking (audit log; default the OS user)')
    .action((id: string, opts: { actor?: string }, command: Command) =>
      runAction(() =>
        withContext(command, async ({ storage }) => {
          if (!(await revokeToken(storage, { id, actor: actorOf(opts) })))
            throw new CliError(`no live token ${id}`);
          printHuman(`revoked ${id}`);
        }),
      ),
    );
}
