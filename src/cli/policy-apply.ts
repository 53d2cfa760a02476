// `mdm policy apply [dir] [--dry-run]`: validate the whole policy folder, print the plan per
// device group, then store the new policy versions (the server delivers them at each device's
// next check-in). Nothing is stored when any file has an error.
import type { Command } from 'commander';
import { Catalog, defaultCatalog } from '../catalog/catalog.js';
import { formatPlan, readActiveSet } from '../policy/delivery/policy-set.js';
import { formatIssue } from '../policy/language/errors.js';
import { pushPolicyRevision } from '../push/policy.js';
import { applyFolder } from '../services/policy.js';
import { createEventSink } from '../webhooks/events.js';
import { actorOf, configFor, runAction, withContext } from './context.js';
import { printHuman } from './output.js';
import { policyCommand } from './policy.js';
import { cliPush } from './push.js';

export function registerPolicyApply(program: Command): void {
  policyCommand(program)
    .command('apply')
    .description(
      'Validate the policy folder, print the plan per device group and store the new policy versions',
    )
    .argument('[dir]', 'policy folder (default: policyDir / MDM_POLICY_DIR)')
    .option('--dry-run', 'print the plan only; store nothing')
    .option('--json', 'print the result as JSON')
    .option('--catalog <dir>', 'CSP catalog folder (default: the bundled csp-catalog/)')
    .option('--actor <name>', 'who is asking (audit log; default the OS user)')
    .action(
      (
        dir: string | undefined,
        opts: { dryRun?: boolean; json?: boolean; catalog?: string; actor?: string },
        command: Command,
      ) =>
        runAction(async () => {
          const folderDir = dir ?? configFor(command).policyDir;
          const catalog = opts.catalog ? Catalog.load(opts.catalog) : defaultCatalog();
          await withContext(command, async ({ storage, config }) => {
            const push = cliPush(config, storage);
            const before = push.enabled && !opts.dryRun ? await readActiveSet(storage.policies) : undefined;
            const result = await applyFolder(storage, folderDir, {
              events: createEventSink(config.webhooks),
              catalog,
              dryRun: opts.dryRun === true,
              actor: actorOf(opts),
              source: folderDir,
            });
            // A new revision wakes the devices it changes something for (WNS push, coalesced).
            if (result.stored?.created && before) await pushPolicyRevision(push, storage, before);
            const errors = result.folder.issues.filter((i) => i.severity === 'error');
            if (opts.json) {
              process.stdout.write(
                `${JSON.stringify(
                  {
                    valid: result.valid,
                    issues: result.folder.issues,
                    plan: result.plan,
                    ...(result.stored
                      ? { revision: result.stored.revision, changes: result.stored.changes }
                      : {}),
                  },
                  null,
                  2,
                )}\n`,
              );
            } else {
              for (const issue of result.folder.issues) printHuman(formatIssue(issue), process.stderr);
              if (result.valid) {
                printHuman(
                  `${result.folder.policies.length} policies, ${result.folder.compliance.length} compliance rules in ${folderDir}`,
                );
                printHuman(formatPlan(result.plan));
              }
              if (!result.valid) printHuman(`${errors.length} error(s); nothing stored`, process.stderr);
              else if (opts.dryRun) printHuman('dry run: nothing stored');
              else if (result.stored && !result.stored.created) {
                printHuman(`no changes (revision ${result.stored.revision})`);
              } else if (result.stored) {
                const summary = result.stored.changes
                  .map((c) => `${c.change} ${c.name} v${c.version}`)
                  .join(', ');
                printHuman(
                  `stored revision ${result.stored.revision}: ${summary || 'assignments or compliance rules changed'}`,
                );
              }
            }
            if (!result.valid) process.exitCode = 1;
          });
        }),
    );
}
