// `mdm policy …`: check policy files against the CSP catalog and show what devices would receive.
// Other modules add sub-commands to the same group through `policyCommand(program)`.
import type { Command } from 'commander';
import { Catalog, defaultCatalog } from '../catalog/catalog.js';
import type { CatalogLookup } from '../catalog/types.js';
import { type CheckResult, checkPath } from '../policy/language/check.js';
import { applyCommands } from '../policy/language/compile.js';
import { formatIssue, type PolicyIssue } from '../policy/language/errors.js';
import { loadPolicyFile } from '../policy/language/load.js';
import { policyJsonSchemaText } from '../policy/language/schema.js';
import type { CompiledPolicy } from '../policy/language/types.js';
import { printHuman } from './output.js';
import { renderSyncMl } from './policy-syncml.js';

/** The `policy` command group, created on first use so several modules can add sub-commands. */
export function policyCommand(program: Command): Command {
  const existing = program.commands.find((c) => c.name() === 'policy');
  if (existing) return existing;
  return program
    .command('policy')
    .description('Declarative policies: check YAML files against the CSP catalog, compile them to SyncML');
}

export interface CommandOutput {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout is text for a terminal (neutralised when printed), not JSON or XML. */
  readonly human?: boolean;
}

function catalogFrom(dir: string | undefined): CatalogLookup {
  return dir ? Catalog.load(dir) : defaultCatalog();
}

function counts(issues: readonly PolicyIssue[]): { errors: number; warnings: number } {
  const errors = issues.filter((i) => i.severity === 'error').length;
  return { errors, warnings: issues.length - errors };
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** `mdm policy check`: every issue of every file or folder; exit code 1 when any has an error. */
export async function checkPolicies(
  files: readonly string[],
  options: { json?: boolean; catalog: CatalogLookup },
): Promise<CommandOutput> {
  const results: CheckResult[] = [];
  for (const file of files) results.push(await checkPath(file, options.catalog));
  const failed = results.some((r) => !r.ok);
  if (options.json) {
    const report = results.map(({ summary: _summary, ...r }) => ({ ...r, ...counts(r.issues) }));
    return {
      exitCode: failed ? 1 : 0,
      stdout: `${JSON.stringify({ files: report }, null, 2)}\n`,
      stderr: '',
    };
  }
  let out = '';
  for (const r of results) {
    for (const i of r.issues) out += `${formatIssue(i)}\n`;
    const { errors, warnings } = counts(r.issues);
    const warned = warnings > 0 ? `, ${plural(warnings, 'warning')}` : '';
    out += r.ok
      ? `ok   ${r.file}: ${r.summary}${warned}\n`
      : `FAIL ${r.file}: ${plural(errors, 'error')}${warned}\n`;
  }
  return { exitCode: failed ? 1 : 0, stdout: out, stderr: '', human: true };
}

export interface CompileOptions {
  readonly catalog: CatalogLookup;
  readonly syncml?: boolean;
  /** Render the later-delivery verbs (Replace) instead of the first delivery (Add). */
  readonly update?: boolean;
  readonly deviceId?: string;
  readonly serverUrl?: string;
}

/** Plans as JSON, catalog nodes shown by path. */
function planJson(policy: CompiledPolicy): string {
  const settings = policy.settings.map(({ node, ...plan }) => ({ ...plan, node: node.path }));
  return `${JSON.stringify({ ...policy, settings }, null, 2)}\n`;
}

/** `mdm policy compile`: the command plans, or the SyncML message a device would receive. */
export async function compilePolicyCommand(file: string, options: CompileOptions): Promise<CommandOutput> {
  const result = await loadPolicyFile(file, { catalog: options.catalog });
  const diagnostics = result.issues.map((i) => `${formatIssue(i)}\n`).join('');
  if (!result.policy) return { exitCode: 1, stdout: '', stderr: diagnostics };
  if (!options.syncml) return { exitCode: 0, stdout: planJson(result.policy), stderr: diagnostics };
  const commands = applyCommands(result.policy, options.update ? 'update' : 'first');
  const xml = renderSyncMl(commands, {
    sessionId: '1',
    msgId: 2,
    target: options.deviceId ?? 'urn:uuid:00000000-0000-0000-0000-000000000000',
    source: options.serverUrl ?? 'https://localhost/ManagementServer/MDM.svc',
  });
  return { exitCode: 0, stdout: `${xml}\n`, stderr: diagnostics };
}

function emit(output: CommandOutput): void {
  if (output.stdout) (output.human ? printHuman : (t: string) => process.stdout.write(t))(output.stdout);
  if (output.stderr) printHuman(output.stderr, process.stderr);
  if (output.exitCode !== 0) process.exitCode = output.exitCode;
}

export function registerPolicy(program: Command): void {
  const group = policyCommand(program);
  group
    .command('check')
    .description(
      'Check policy files (or whole policy folders, with their assignments.yaml and compliance.yaml) ' +
        'against the CSP catalog; prints file:line:col for every problem',
    )
    .argument('<files...>', 'policy YAML files or policy folders')
    .option('--json', 'machine-readable report')
    .option('--catalog <dir>', 'CSP catalog folder (default: the bundled csp-catalog/)')
    .action(async (files: string[], opts: { json?: boolean; catalog?: string }) => {
      emit(await checkPolicies(files, { json: opts.json === true, catalog: catalogFrom(opts.catalog) }));
    });
  group
    .command('compile')
    .description('Compile a policy to command plans (JSON), or with --syncml to the SyncML a device receives')
    .argument('<file>', 'policy YAML file')
    .option('--syncml', 'print the SyncML message instead of the JSON plans')
    .option('--update', 'use the verbs of a later delivery (Replace) instead of the first (Add)')
    .option('--device-id <id>', 'SyncHdr Target (the device id) for --syncml')
    .option('--server-url <url>', 'SyncHdr Source (the management URL) for --syncml')
    .option('--catalog <dir>', 'CSP catalog folder (default: the bundled csp-catalog/)')
    .action(
      async (
        file: string,
        opts: { syncml?: boolean; update?: boolean; deviceId?: string; serverUrl?: string; catalog?: string },
      ) => {
        emit(
          await compilePolicyCommand(file, {
            catalog: catalogFrom(opts.catalog),
            syncml: opts.syncml === true,
            update: opts.update === true,
            ...(opts.deviceId ? { deviceId: opts.deviceId } : {}),
            ...(opts.serverUrl ? { serverUrl: opts.serverUrl } : {}),
          }),
        );
      },
    );
  group
    .command('schema')
    .description('Print the JSON Schema of policy files (the same as csp-catalog/policy.schema.json)')
    .action(() => {
      process.stdout.write(policyJsonSchemaText());
    });
}
