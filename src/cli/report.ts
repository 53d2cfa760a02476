// `mdm report compliance [--format table|csv|json]`: compliance per device (and, as CSV, per
// device × setting with timestamps), read from the database only.
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { appReport, appsCsv, appsTable } from '../reporting/apps.js';
import { complianceReport } from '../reporting/compliance.js';
import { complianceCsv } from '../reporting/csv.js';
import { complianceTable } from '../reporting/table.js';
import { APP_STATES, type AppState } from '../storage/apps.js';
import { CliError, runAction, withContext } from './context.js';
import { printHuman } from './output.js';

const FORMATS = ['table', 'csv', 'json'] as const;

export function registerReport(program: Command): void {
  const report = program.command('report').description('reports from the database (compliance, delivery)');
  report
    .command('compliance')
    .description('compliance per device; CSV has one row per device × setting with timestamps')
    .option('-f, --format <format>', `output format: ${FORMATS.join(', ')}`, 'table')
    .option('-o, --output <file>', 'write to a file instead of stdout')
    .action((opts: { format: string; output?: string }, command: Command) =>
      runAction(async () => {
        if (!(FORMATS as readonly string[]).includes(opts.format)) {
          throw new CliError(`unknown format ${opts.format}; use one of ${FORMATS.join(', ')}`, 2);
        }
        await withContext(command, async ({ storage }) => {
          let text: string;
          if (opts.format === 'csv') text = await complianceCsv(storage);
          else if (opts.format === 'json')
            text = `${JSON.stringify({ devices: await complianceReport(storage) }, null, 2)}\n`;
          else text = `${complianceTable(await complianceReport(storage))}\n`;
          if (opts.output) await writeFile(opts.output, text);
          // CSV and JSON are data and printed as they are; the table is for a terminal.
          else if (opts.format === 'table') printHuman(text);
          else process.stdout.write(text);
        });
      }),
    );
  report
    .command('apps')
    .description('app deployment per device × app: state, CSP status and error, versions (docs/apps.md)')
    .option('-f, --format <format>', `output format: ${FORMATS.join(', ')}`, 'table')
    .option('-o, --output <file>', 'write to a file instead of stdout')
    .option('--device <id>', 'only this device')
    .option('--state <state>', 'only records in this state')
    .action((opts: { format: string; output?: string; device?: string; state?: string }, command: Command) =>
      runAction(async () => {
        if (!(FORMATS as readonly string[]).includes(opts.format)) {
          throw new CliError(`unknown format ${opts.format}; use one of ${FORMATS.join(', ')}`, 2);
        }
        if (opts.state !== undefined && !(APP_STATES as readonly string[]).includes(opts.state)) {
          throw new CliError(`unknown state ${opts.state}; use one of ${APP_STATES.join(', ')}`, 2);
        }
        await withContext(command, async ({ storage }) => {
          const rows = await appReport(storage, {
            ...(opts.device ? { deviceId: opts.device } : {}),
            ...(opts.state ? { state: opts.state as AppState } : {}),
          });
          const text =
            opts.format === 'csv'
              ? appsCsv(rows)
              : opts.format === 'json'
                ? `${JSON.stringify({ apps: rows }, null, 2)}\n`
                : `${appsTable(rows)}\n`;
          if (opts.output) await writeFile(opts.output, text);
          else if (opts.format === 'table') printHuman(text);
          else process.stdout.write(text);
        });
      }),
    );
}
