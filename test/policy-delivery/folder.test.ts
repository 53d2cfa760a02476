// The policy folder as a whole: reserved files, cross-references with file:line:col, the plan per
// device group, and `mdm policy apply` storing nothing unless everything is valid.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultCatalog } from '../../src/catalog/catalog.js';
import { createLogger } from '../../src/logger.js';
import { applyPolicyFolder, loadPolicyFolderOnStart } from '../../src/policy/delivery/apply-folder.js';
import { formatPlan } from '../../src/policy/delivery/policy-set.js';
import { formatIssue } from '../../src/policy/language/errors.js';
import { loadPolicyFolder } from '../../src/policy/language/folder.js';
import type { Storage } from '../../src/storage/index.js';
import { openSqliteStorage } from '../../src/storage/sqlite/index.js';

const CAMERA = './Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera';
let dir: string;
let storage: Storage;
const catalog = defaultCatalog();

function write(files: Record<string, string>) {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mdm-folder-'));
  storage = openSqliteStorage({ file: ':memory:' });
});
afterEach(async () => {
  await storage.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('policy folder', () => {
  it('loads policies from nested folders and the reserved assignments/compliance files', async () => {
    write({
      'security/camera.yaml': 'name: camera\nsettings:\n  - path: Camera/AllowCamera\n    value: 0\n',
      'assignments.yaml': 'groups:\n  - name: kiosks\n    models: []\n',
    });
    const bad = await loadPolicyFolder(dir, { catalog });
    expect(bad.issues.map(formatIssue)).toEqual([
      expect.stringMatching(/assignments\.yaml:3:5: error: groups\.0: unknown key `models` \[schema\]$/),
    ]);
    write({
      'assignments.yaml':
        'groups:\n  - name: kiosks\n    rules:\n      - models: ["Kiosk*"]\nassignments:\n  - policy: camera\n    include: [all]\n    exclude: [kiosks]\n',
      'compliance.yaml': 'rules:\n  - name: fw\n    require:\n      firewall: true\n',
    });
    const ok = await loadPolicyFolder(dir, { catalog });
    expect(ok.issues).toEqual([]);
    expect(ok.policies.map((p) => [p.name, p.file])).toEqual([['camera', join('security', 'camera.yaml')]]);
    expect(ok.assignments.assignments).toEqual([{ policy: 'camera', include: ['all'], exclude: ['kiosks'] }]);
    expect(ok.compliance.map((r) => r.name)).toEqual(['fw']);
  });

  it('points at unknown policies, groups and remediation policies', async () => {
    write({
      'camera.yaml': 'name: camera\nsettings:\n  - path: Camera/AllowCamera\n    value: 0\n',
      'copy.yaml': 'name: camera\nsettings:\n  - path: Camera/AllowCamera\n    value: 1\n',
      'assignments.yaml': 'assignments:\n  - policy: camra\n    include: [all, laptops]\n',
      'compliance.yaml':
        'rules:\n  - name: fw\n    require:\n      firewall: true\n    actions:\n      - remediate: fix\n',
    });
    const folder = await loadPolicyFolder(dir, { catalog });
    expect(folder.issues.map(formatIssue)).toEqual([
      expect.stringMatching(/assignments\.yaml:2:13: error: no policy named camra in the folder \[schema\]$/),
      expect.stringMatching(/assignments\.yaml:3:20: error: no group named laptops .*\[schema\]$/),
      // The typo leaves the real policy unassigned.
      expect.stringMatching(
        /camera\.yaml:1:1: warning: policy camera is not assigned to any group \(assignments\.yaml\); it is delivered to no device \[unassigned\]$/,
      ),
      expect.stringMatching(/compliance\.yaml:6:20: error: no policy named fix in the folder \[schema\]$/),
      expect.stringMatching(
        /copy\.yaml:1:1: error: policy name camera is already used by .*camera\.yaml \[schema\]$/,
      ),
    ]);
  });

  it('plans per group, stores versions, and stores nothing for an invalid folder', async () => {
    write({
      'camera.yaml': 'name: camera\nsettings:\n  - path: Camera/AllowCamera\n    value: 0\n',
      'cortana.yaml': 'name: cortana\nsettings:\n  - path: Experience/AllowCortana\n    value: 0\n',
      'assignments.yaml':
        'groups:\n  - name: lab\n    devices: [D1]\nassignments:\n  - policy: camera\n    include: [all]\n  - policy: cortana\n    include: [lab]\n',
    });
    const first = await applyPolicyFolder(storage.policies, dir, { catalog });
    expect(first.stored).toMatchObject({ revision: 1, created: true });
    expect(formatPlan(first.plan)).toBe(
      [
        'group all:',
        `  + ${CAMERA} = 0 (camera)`,
        'group lab:',
        '  + ./Device/Vendor/MSFT/Policy/Config/Experience/AllowCortana = 0 (cortana)',
      ].join('\n'),
    );
    write({ 'camera.yaml': 'name: camera\nsettings:\n  - path: Camera/AllowCamera\n    value: 1\n' });
    const dry = await applyPolicyFolder(storage.policies, dir, { catalog, dryRun: true });
    expect(dry.stored).toBeUndefined();
    expect(formatPlan(dry.plan)).toContain(`  ~ ${CAMERA}: 0 → 1 (camera)`);
    expect((await storage.policies.currentPolicySet()).revision).toBe(1);
    write({ 'broken.yaml': 'name: broken\nsettings:\n  - path: Camera/AllowCamera\n    value: 9\n' });
    const broken = await applyPolicyFolder(storage.policies, dir, { catalog });
    expect(broken.valid).toBe(false);
    expect(broken.folder.issues[0]?.file).toMatch(/broken\.yaml$/);
    expect((await storage.policies.currentPolicySet()).revision).toBe(1);
  });

  it('plans conflicts inside a group', async () => {
    write({
      'a.yaml': 'name: a\nsettings:\n  - path: Camera/AllowCamera\n    value: 0\n',
      'b.yaml': 'name: b\nsettings:\n  - path: Camera/AllowCamera\n    value: 1\n',
      'assignments.yaml':
        'assignments:\n  - policy: a\n    include: [all]\n  - policy: b\n    include: [all]\n',
    });
    const result = await applyPolicyFolder(storage.policies, dir, { catalog, dryRun: true });
    expect(formatPlan(result.plan)).toBe(
      `group all:\n  ! ${CAMERA}: conflicting values, not delivered until resolved`,
    );
  });

  it('keeps the stored set when the folder is invalid at server start, and says why', async () => {
    const lines: string[] = [];
    const logger = createLogger(
      'info',
      new Writable({
        write(chunk, _enc, done) {
          lines.push(String(chunk));
          done();
        },
      }),
    );
    write({ 'camera.yaml': 'name: camera\nsettings:\n  - path: Camera/AllowCamera\n    value: 0\n' });
    await loadPolicyFolderOnStart(storage.policies, dir, catalog, logger);
    expect((await storage.policies.currentPolicySet()).revision).toBe(1);
    write({ 'camera.yaml': 'name: camera\nsettings:\n  - path: Camera/AllowCamra\n    value: 0\n' });
    const result = await loadPolicyFolderOnStart(storage.policies, dir, catalog, logger);
    expect(result?.valid).toBe(false);
    expect((await storage.policies.currentPolicySet()).revision).toBe(1);
    const error = lines.map((l) => JSON.parse(l)).find((l) => l.level === 50);
    expect(error.msg).toBe('policy folder has errors; keeping the stored policies');
    expect(error.issues[0]).toMatch(/camera\.yaml:3:11: error: .*\[unknown-path\]$/);
  });
});
