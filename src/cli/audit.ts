// `mdm audit list`: the audit log of administrative actions (who, what, when), newest first.

import { createWriteStream, type WriteStream } from 'node:fs';
import type { Command } from 'commander';
import { CSV_COLUMNS, toAuditRecord, toCsvRow } from '../audit/format.js';
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

  audit
    .command('export')
    .description('audit events oldest first, in the SIEM schema (mdm.audit/1), as JSON lines or CSV')
    .requiredOption(
      '--since <when>',
      'from this time: ISO-8601 (2026-01-31, 2026-01-31T08:00Z) or an age (7d, 12h, 30m)',
    )
    .option('--until <when>', 'before this time (same forms)')
    .option('--format <format>', 'jsonl or csv', 'jsonl')
    .option('-o, --output <file>', 'write to this file instead of stdout')
    .action((options: { since: string; until?: string; format: string; output?: string }, command: Command) =>
      runAction(async () => {
        if (options.format !== 'jsonl' && options.format !== 'csv')
          throw new CliError('--format must be jsonl or csv', 2);
        const since = parseWhen(options.since, '--since');
        const until = options.until === undefined ? undefined : parseWhen(options.until, '--until');
        await withContext(command, async ({ storage }) => {
          const file: WriteStream | undefined = options.output
            ? createWriteStream(options.output, { mode: 0o600 })
            : undefined;
          const write = async (text: string) => {
            if (!file) {
              process.stdout.write(text);
              return;
            }
            // Back-pressure: wait for the file stream to drain.
            if (!file.write(text)) await new Promise<void>((resolve) => file.once('drain', resolve));
          };
          if (options.format === 'csv') await write(`${CSV_COLUMNS.join(',')}\r\n`);
          let after = 0;
          let count = 0;
          for (;;) {
            const entries = await storage.audit.after(after, {
              limit: 1000,
              since,
              ...(until !== undefined && { until }),
            });
            if (entries.length === 0) break;
            let chunk = '';
            for (const e of entries) {
              const record = toAuditRecord(e);
              chunk += options.format === 'csv' ? `${toCsvRow(record)}\r\n` : `${JSON.stringify(record)}\n`;
            }
            await write(chunk);
            count += entries.length;
            after = entries.at(-1)!.id;
          }
          if (file) {
            await new Promise<void>((resolve, reject) =>
              file.end((err?: Error | null) => (err ? reject(err) : resolve())),
            );
            process.stderr.write(`${count} audit event(s) written to ${options.output}\n`);
          }
        });
      }),
    );
}

/** ISO-8601 date or date-time, or an age (`7d`, `12h`, `30m`, `45s`) back from now; as ISO UTC. */
export function parseWhen(value: string, flag: string, now: Date = new Date()): string {
  const age = /^(\d+)([smhd])$/.exec(value.trim());
  if (age) {
    const unit = { s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7 }[age[2] as 's' | 'm' | 'h' | 'd'];
    return new Date(now.getTime() - Number(age[1]) * unit).toISOString();
  }
  if (/^\d{4}-\d\d-\d\d([T ][\d:.]+(Z|[+-]\d\d:?\d\d)?)?$/i.test(value.trim())) {
    const t = Date.parse(value.trim());
    if (!Number.isNaN(t)) return new Date(t).toISOString();
  }
  throw new CliError(
    `${flag} ${value}: expected an ISO-8601 date or time (2026-01-31T08:00Z) or an age (7d, 12h)`,
    2,
  );
}
