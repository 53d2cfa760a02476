// `mdm policy apply` against a real database with enrolled devices: every policy that reaches no
// device group is warned about (the folder is still stored), and the plan shows how many enrolled
// devices each group has, matched with the same group rules delivery uses.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/index.js';
import { openSqliteStorage } from '../../src/storage/sqlite/index.js';
import { enrollInStorage } from '../policy-delivery/engine.js';
import { type CliRun, captureCli } from '../support/cli.js';

const CAMERA = './Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera';

let root: string;
let folder: string;
let configFile: string;
const dbFile = () => join(root, 'data', 'mdm.sqlite');

function mdm(...args: string[]): Promise<CliRun> {
  return captureCli(() => buildProgram().parseAsync(['node', 'mdm', '--config', configFile, ...args]));
}

function write(files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) writeFileSync(join(folder, name), text);
}

const policy = (name: string, path: string, value: number) =>
  `name: ${name}\nsettings:\n  - path: ${path}\n    value: ${value}\n`;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'mdm-policy-apply-'));
  folder = join(root, 'policies');
  mkdirSync(folder);
  configFile = join(root, 'mdm.yaml');
  writeFileSync(configFile, `dataDir: ${join(root, 'data')}\ncertsDir: ${join(root, 'certs')}\n`);
  const storage = openSqliteStorage({ file: dbFile(), checkpointIntervalMs: 0 });
  await enrollInStorage(storage, 'D-ALICE', { user: 'alice@contoso.com', osVersion: '10.0.22631.4037' });
  await enrollInStorage(storage, 'D-BOB', { user: 'bob@contoso.com', osVersion: '10.0.19045.4529' });
  await enrollInStorage(storage, 'D-GONE', { user: 'alice@contoso.com', osVersion: '10.0.22631.4037' });
  await storage.devices.markUnenrolled('D-GONE');
  storage.close();
  write({
    'camera.yaml': policy('camera', 'Camera/AllowCamera', 0),
    'cortana.yaml': policy('cortana', 'Experience/AllowCortana', 0),
    'forgotten.yaml': policy('forgotten', 'DeviceLock/DevicePasswordEnabled', 0),
    'cancelled.yaml': policy('cancelled', 'Accounts/RestrictToEnterpriseDeviceAuthenticationOnly', 1),
    'fix.yaml': policy('fix', 'Bluetooth/AllowDiscoverableMode', 0),
    'assignments.yaml': `groups:
  - name: finance
    users: [alice@contoso.com]
  - name: windows-11
    rules:
      - osVersion: { min: "10.0.22000" }
  - name: kiosks
    devices: [D-NONE]
assignments:
  - policy: camera
    include: [finance]
  - policy: cortana
    include: [all]
    exclude: [kiosks]
  - policy: cancelled
    include: [kiosks]
    exclude: [kiosks]
`,
    'compliance.yaml': `rules:
  - name: fw
    require:
      firewall: true
    actions:
      - remediate: fix
`,
  });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('mdm policy apply', () => {
  it('warns about every policy that reaches no group, and still stores the folder', async () => {
    const r = await mdm('policy', 'apply', folder);
    expect(r.code).toBe(0);
    expect(r.err.trimEnd().split('\n')).toEqual([
      `${join(folder, 'cancelled.yaml')}:1:1: warning: policy cancelled reaches no group: every group its ` +
        'assignments include is excluded again; it is delivered to no device [unassigned]',
      `${join(folder, 'forgotten.yaml')}:1:1: warning: policy forgotten is not assigned to any group ` +
        '(assignments.yaml); it is delivered to no device [unassigned]',
    ]);
    // Remediation policies reach devices through compliance: no warning for `fix`.
    expect(r.err).not.toContain('policy fix');
    expect(r.out).toMatch(/^stored revision 1: /m);
  });

  it('shows the number of enrolled devices of each group in the plan', async () => {
    write({ 'camera.yaml': policy('camera', 'Camera/AllowCamera', 1) });
    const r = await mdm('policy', 'apply', folder, '--dry-run');
    expect(r.code).toBe(0);
    const plan = r.out.split('\n').filter((l) => l.startsWith('group ') || l.startsWith('  '));
    expect(plan).toEqual([
      'group all (2 devices): no changes',
      'group finance (1 device):',
      `  ~ ${CAMERA}: 0 → 1 (camera)`,
      'group windows-11 (1 device): no changes',
      'group kiosks (0 devices): no changes',
    ]);
    expect(r.out).toContain('dry run: nothing stored');
  });

  it('gives the counts and the warnings in --json too', async () => {
    const r = await mdm('policy', 'apply', folder, '--dry-run', '--json');
    const json = JSON.parse(r.out) as {
      plan: { group: string; devices: number; added: { path: string }[] }[];
      issues: { code: string; severity: string; message: string }[];
    };
    expect(json.plan.map((p) => [p.group, p.devices])).toEqual([
      ['all', 2],
      ['finance', 1],
      ['windows-11', 1],
      ['kiosks', 0],
    ]);
    expect(json.issues.filter((i) => i.code === 'unassigned').map((i) => i.severity)).toEqual([
      'warning',
      'warning',
    ]);
    expect(json.plan.find((p) => p.group === 'all')?.added).toEqual([]);
  });

  it('says nothing once every policy reaches a group', async () => {
    write({
      'assignments.yaml': `assignments:
  - policy: camera
    include: [all]
  - policy: cortana
    include: [all]
  - policy: cancelled
    include: [all]
  - policy: forgotten
    include: [all]
`,
    });
    const r = await mdm('policy', 'apply', folder);
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    expect(r.out).toContain('group all (2 devices):');
  });
});
