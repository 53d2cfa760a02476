// `mdm report compliance [--format table|csv|json]`: compliance per device (and, as CSV, per
// device × setting with timestamps), read from the database only.
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { complianceReport } from '../reporting/compliance.js';
import { complianceCsv } from '../reporting/csv.js';
import { complianceTable } from '../reporting/table.js';
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
}
