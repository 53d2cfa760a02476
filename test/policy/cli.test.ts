import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { buildProgram } from '../../src/cli/index.js';
import { policyCommand } from '../../src/cli/policy.js';
import { parseSyncMl } from '../../src/codec/syncml/index.js';

const EXAMPLES = join(import.meta.dirname, '../../csp-catalog/examples');
const dir = mkdtempSync(join(tmpdir(), 'mdm-policy-cli-'));
const bad = join(dir, 'bad.yaml');
writeFileSync(
  bad,
  'name: bad\nsettings:\n  - path: DeviceLock/DevicePasswordEnable\n    value: 0\n' +
    '  - path: Defender/CloudBlockLevel\n    value: Extreme\n',
);

let stdout = '';
let stderr = '';

beforeEach(() => {
  stdout = '';
  stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
});

afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

async function mdm(...args: string[]): Promise<number> {
  process.exitCode = undefined;
  await buildProgram().parseAsync(['node', 'mdm', ...args]);
  return Number(process.exitCode ?? 0);
}

describe('mdm policy check', () => {
  it('exits 0 and summarises valid files', async () => {
    expect(
      await mdm('policy', 'check', join(EXAMPLES, 'bitlocker.yaml'), join(EXAMPLES, 'firewall.yaml')),
    ).toBe(0);
    expect(stdout).toBe(
      `ok   ${join(EXAMPLES, 'bitlocker.yaml')}: bitlocker, 8 settings\n` +
        `ok   ${join(EXAMPLES, 'firewall.yaml')}: firewall, 15 settings\n`,
    );
  });

  it('exits 1 and prints every error as file:line:col', async () => {
    expect(await mdm('policy', 'check', bad, join(EXAMPLES, 'defender.yaml'))).toBe(1);
    const lines = stdout.trimEnd().split('\n');
    // The best suggestion comes first; the runners-up depend on the catalog's ranking.
    const unknown =
      `${bad}:3:11: error: unknown setting \`DeviceLock/DevicePasswordEnable\` ` +
      '(./Device/Vendor/MSFT/Policy/Config/DeviceLock/DevicePasswordEnable): not in the CSP catalog; ' +
      'did you mean one of `DeviceLock/DevicePasswordEnabled`, ';
    expect(lines[0]?.startsWith(unknown), lines[0]).toBe(true);
    expect(lines[0]).toMatch(/\? \[unknown-path\]$/);
    expect(lines[1]).toBe(
      `${bad}:6:12: error: Defender/CloudBlockLevel must be one of 0 (NotConfigured), 2 (High), 4 (HighPlus), ` +
        '6 (ZeroTolerance); got "Extreme" [value-enum]',
    );
    expect(lines.slice(2)).toEqual([
      `FAIL ${bad}: 2 errors`,
      `ok   ${join(EXAMPLES, 'defender.yaml')}: defender-antivirus, 15 settings`,
    ]);
  });

  it('--json gives a machine-readable report', async () => {
    expect(await mdm('policy', 'check', '--json', bad, join(dir, 'missing.yaml'))).toBe(1);
    const report = JSON.parse(stdout) as {
      files: {
        file: string;
        ok: boolean;
        errors: number;
        issues: { line: number; col: number; code: string }[];
      }[];
    };
    expect(
      report.files.map((f) => [f.ok, f.errors, f.issues.map((i) => `${i.line}:${i.col} ${i.code}`)]),
    ).toEqual([
      [false, 2, ['3:11 unknown-path', '6:12 value-enum']],
      [false, 1, ['1:1 file-read']],
    ]);
  });
});

describe('mdm policy check on a policy folder', () => {
  const FOLDER = join(import.meta.dirname, '../../examples/policy-folder');

  it('checks assignments.yaml and compliance.yaml with their own schemas, not as policies', async () => {
    const files = ['assignments.yaml', 'camera-off.yaml', 'compliance.yaml'].map((f) => join(FOLDER, f));
    expect(await mdm('policy', 'check', ...files)).toBe(0);
    expect(stdout.trimEnd().split('\n')).toEqual([
      `ok   ${files[0]}: assignments: 3 groups, 2 assignments ` +
        '(references to policies and groups are checked with the whole folder)',
      `ok   ${files[1]}: camera-off, 1 setting`,
      `ok   ${files[2]}: compliance: 2 rules (references to policies and groups are checked with the whole folder)`,
    ]);
  });

  it('checks a whole folder, including the names its reserved files refer to', async () => {
    expect(await mdm('policy', 'check', FOLDER)).toBe(0);
    expect(stdout).toBe(
      `ok   ${FOLDER}: policy folder: 3 policies, 3 groups, 2 assignments, 2 compliance rules\n`,
    );

    const folder = mkdtempSync(join(tmpdir(), 'mdm-policy-folder-'));
    writeFileSync(
      join(folder, 'camera.yaml'),
      'name: camera\nsettings:\n  - path: Camera/AllowCamera\n    value: 0\n',
    );
    writeFileSync(join(folder, 'assignments.yaml'), 'assignments:\n  - policy: kamera\n    include: [all]\n');
    writeFileSync(
      join(folder, 'compliance.yaml'),
      'rules:\n  - name: fw\n    require:\n      firewal: true\n',
    );
    stdout = '';
    expect(await mdm('policy', 'check', folder)).toBe(1);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(
      `${join(folder, 'assignments.yaml')}:2:13: error: no policy named kamera in the folder [schema]`,
    );
    expect(lines).toContain(
      `${join(folder, 'compliance.yaml')}:4:7: error: rules.0.require: unknown key \`firewal\` [schema]`,
    );
    // The misspelt assignment leaves camera reaching no group: a warning at its file.
    expect(lines).toContain(
      `${join(folder, 'camera.yaml')}:1:1: warning: policy camera is not assigned to any group (assignments.yaml); it is delivered to no device [unassigned]`,
    );
    expect(lines.at(-1)).toBe(`FAIL ${folder}: 3 errors, 1 warning`); // and: require at least one condition

    stdout = '';
    expect(await mdm('policy', 'check', '--json', join(folder, 'compliance.yaml'))).toBe(1);
    const report = JSON.parse(stdout) as { files: { kind: string; ok: boolean; errors: number }[] };
    expect(report.files).toMatchObject([{ kind: 'compliance', ok: false, errors: 2 }]);
  });
});

describe('mdm policy compile', () => {
  it('--syncml prints the message a device would receive', async () => {
    expect(await mdm('policy', 'compile', join(EXAMPLES, 'password-and-lock-screen.yaml'), '--syncml')).toBe(
      0,
    );
    const message = parseSyncMl(stdout);
    expect(message.final).toBe(true);
    expect(message.commands).toHaveLength(15);
    expect(message.commands[0]).toMatchObject({
      kind: 'Add',
      cmdId: 1,
      items: [{ target: './Device/Vendor/MSFT/Policy/Config/DeviceLock/DevicePasswordEnabled', data: '0' }],
    });
  });

  it('--update uses Replace; without --syncml prints the plans as JSON', async () => {
    expect(await mdm('policy', 'compile', join(EXAMPLES, 'defender.yaml'), '--syncml', '--update')).toBe(0);
    expect(new Set(parseSyncMl(stdout).commands.map((c) => c.kind))).toEqual(new Set(['Replace']));
    stdout = '';
    expect(await mdm('policy', 'compile', join(EXAMPLES, 'defender.yaml'))).toBe(0);
    const plans = JSON.parse(stdout) as { name: string; settings: { node: string; verifyPath: string }[] };
    expect(plans.name).toBe('defender-antivirus');
    expect(plans.settings[0]).toMatchObject({
      node: './Device/Vendor/MSFT/Policy/Config/Defender/AllowRealtimeMonitoring',
      verifyPath: './Device/Vendor/MSFT/Policy/Result/Defender/AllowRealtimeMonitoring',
    });
  });

  it('exits 1 with the errors on stderr when the policy is invalid', async () => {
    expect(await mdm('policy', 'compile', bad, '--syncml')).toBe(1);
    expect(stdout).toBe('');
    expect(stderr.split('\n').filter(Boolean)).toHaveLength(2);
  });
});

describe('the policy command group', () => {
  it('is shared: other modules add sub-commands to the same group', () => {
    const program = new Command('mdm');
    const group = policyCommand(program);
    group.command('apply');
    expect(policyCommand(program)).toBe(group);
    expect(program.commands.filter((c) => c.name() === 'policy')).toHaveLength(1);
    expect(group.commands.map((c) => c.name())).toEqual(['apply']);
  });
});
