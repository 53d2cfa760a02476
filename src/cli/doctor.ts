// `mdm doctor [--upn user@domain] [--json]`: one line per check of the deployment (names, TLS
// certificate and chain, enrollment CA, clock, database, policy folder, and where configured WNS
// push, SCEP and webhook endpoints); exit 1 when one fails.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { type CheckResult, runDoctor } from '../doctor/doctor.js';
import { CliError, configFor, runAction } from './context.js';
import { oneLine } from './output.js';

const LABEL: Record<CheckResult['status'], string> = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL', skip: 'skip' };

export function formatCheck(c: CheckResult): string {
  const fix = c.fix && (c.status === 'fail' || c.status === 'warn') ? ` — fix: ${c.fix}` : '';
  return `${LABEL[c.status]} ${c.id.padEnd(16)} ${oneLine(c.message)}${oneLine(fix)}`;
}

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description(
      'check the deployment the way Windows meets it (DNS, TLS, CA, clock, database, policies, push, SCEP, webhooks)',
    )
    .option('--upn <user@domain>', 'also check enterpriseenrollment.<domain> for this user')
    .option('--trust <pem>', 'roots the devices trust besides the public ones (an enterprise root)')
    .option('--json', 'print JSON')
    .action((options: { upn?: string; trust?: string; json?: boolean }, command: Command) =>
      runAction(async () => {
        const config = configFor(command);
        let trustedRoots: string | undefined;
        if (options.trust) {
          try {
            trustedRoots = readFileSync(options.trust, 'utf8');
          } catch (err) {
            throw new CliError(
              `--trust ${options.trust}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`,
            );
          }
        }
        const report = await runDoctor(config, {
          ...(options.upn !== undefined && { upn: options.upn }),
          ...(trustedRoots && { trustedRoots }),
        });
        if (options.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        else for (const c of report.checks) process.stdout.write(`${formatCheck(c)}\n`);
        if (!report.ok) process.exitCode = 1;
      }),
    );
}
