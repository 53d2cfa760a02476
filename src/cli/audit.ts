// `mdm audit list`: the audit log of administrative actions (who, what, when), newest first.
import type { Command } from 'commander';
import type { AuditEntry } from '../storage/audit.js';
import { CliError, runAction, withContext } from './context.js';
import { oneLine, printList } from './output.js';

/** One entry as a line: when, who, what, on which device, and its details. */
export function describeAuditEntry(e: AuditEntry): string {
  const details = Object.entries(e.details)
    .map(
      ([k, v]) =>
        `${k}=${Array.isArray(v) ? v.join(',') : typeof v === 'object' ? JSON.stringify(v) : String(v)}`,
    )
    .join(' ');
  return [e.at, e.actor, e.action, e.deviceId ?? '-', details].map((f) => oneLine(f)).join('\t');
}

export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('the audit log of administrative actions');

  audit
    .command('list')
    .description('who did what and when, newest first')
    .option('--device <deviceId>', 'only actions on this device')
    .option('--limit <n>', 'how many entries', '50')
    .option('--json', 'print JSON')
    .action((options: { device?: string; limit: string; json?: boolean }, command: Command) =>
      runAction(() =>
        withContext(command, async ({ storage }) => {
          const limit = Number(options.limit);
          if (!Number.isInteger(limit) || limit < 1)
            throw new CliError('--limit must be a positive integer', 2);
          const entries = await storage.audit.list({
            limit,
            ...(options.device !== undefined && { deviceId: options.device }),
          });
          printList(entries, {
            json: options.json,
            empty: 'no audit entries',
            header: 'AT\tACTOR\tACTION\tDEVICE\tDETAILS',
            line: describeAuditEntry,
          });
        }),
      ),
    );
}
