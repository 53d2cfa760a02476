// The `mdm` command line. Every sub-command shares the server's configuration (config file,
// MDM_* variables, flags) and its database. Each command group lives in its own module.
import { Command } from 'commander';
import { ConfigError } from '../config.js';
import { registerAdmins } from './admins.js';
import { registerAudit } from './audit.js';
import { registerBackup } from './backup.js';
import { registerCa } from './ca.js';
import { registerCatalog } from './catalog.js';
import { registerCertificates } from './certificates.js';
import { registerCommands } from './commands.js';
import { registerDb } from './db.js';
import { registerDevices } from './devices.js';
import { registerDoctor } from './doctor.js';
import { exitQuietlyOnBrokenPipe } from './output.js';
import { registerPolicy } from './policy.js';
import { registerPolicyApply } from './policy-apply.js';
import { registerReplay } from './replay.js';
import { registerReport } from './report.js';
import { registerServe } from './serve.js';
import { registerSimulate } from './simulate.js';
import { registerTokens } from './tokens.js';
import { registerUsers } from './users.js';

export type RegisterCommands = (program: Command) => void;

/** Command groups, in the order they appear in `mdm --help`. */
const groups: RegisterCommands[] = [
  registerServe,
  registerUsers,
  registerAdmins,
  registerDevices,
  registerCommands,
  registerAudit,
  registerCa,
  registerCertificates,
  registerDb,
  registerBackup,
  registerDoctor,
  registerCatalog,
  registerPolicy,
  registerPolicyApply,
  registerReport,
  registerTokens,
  registerSimulate,
  registerReplay,
];

export function buildProgram(): Command {
  const program = new Command('mdm')
    .description('Windows device-management server (MS-MDE2 enrollment, OMA-DM management, CSP policy)')
    .option('-c, --config <file>', 'configuration file (YAML or JSON); also MDM_CONFIG')
    .showHelpAfterError()
    .exitOverride();
  for (const register of groups) register(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  exitQuietlyOnBrokenPipe();
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    const code = (err as { code?: string; exitCode?: number }).code;
    if (typeof code === 'string' && code.startsWith('commander.')) {
      process.exitCode = (err as { exitCode?: number }).exitCode ?? 1;
      return;
    }
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exitCode = 2;
      return;
    }
    throw err;
  }
}
