// One folder loader for the disk and for a bundle held in memory (src/policy/language/file-source.ts):
// the same files give the same policies, hash, side files and `file:line:col` issues either way,
// and a bundle never reads outside itself.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultCatalog } from '../../src/catalog/catalog.js';
import { memorySource } from '../../src/policy/language/file-source.js';
import { loadPolicyFolder, type PolicyFolder } from '../../src/policy/language/folder.js';

const ADMX_INSTALL = './Device/Vendor/MSFT/Policy/ConfigOperations/ADMXInstall/Contoso/Policy/ContosoAdmx';
const ADMX =
  '<?xml version="1.0"?>\n<policyDefinitions revision="1.0" schemaVersion="1.0">\n</policyDefinitions>\n';

const FILES: Record<string, string | Buffer> = {
  'edge/contoso.yaml': `name: contoso\nsettings:\n  - path: ${ADMX_INSTALL}\n    file: admx/contoso.admx\n`,
  'edge/admx/contoso.admx': ADMX,
  'assignments.yaml': 'assignments:\n  - policy: contoso\n    include: [all]\n',
};

describe('policy folders from the disk and from memory', () => {
  const root = mkdtempSync(join(tmpdir(), 'mdm-file-source-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  function onDisk(files: Record<string, string | Buffer>): string {
    const dir = mkdtempSync(join(root, 'folder-'));
    for (const [name, data] of Object.entries(files)) {
      mkdirSync(join(dir, name, '..'), { recursive: true });
      writeFileSync(join(dir, name), data);
    }
    return dir;
  }
  const inMemory = (files: Record<string, string | Buffer>) =>
    memorySource(
      join(root, 'nowhere'),
      new Map(Object.entries(files).map(([n, d]) => [n, Buffer.isBuffer(d) ? d : Buffer.from(d)])),
    );
  const relativeOf = (f: PolicyFolder, dir: string) => ({
    hash: f.hash,
    policies: f.policies,
    sideFiles: f.sideFiles,
    issues: f.issues.map((i) => ({ ...i, file: relative(dir, i.file) })),
  });

  it('loads the same folder, side files and hash either way', async () => {
    const catalog = defaultCatalog();
    const dir = onDisk(FILES);
    const disk = await loadPolicyFolder(dir, { catalog });
    const source = inMemory(FILES);
    const memory = await loadPolicyFolder(source.root, { catalog, source });
    expect(disk.issues).toEqual([]);
    expect(relativeOf(memory, source.root)).toEqual(relativeOf(disk, dir));
    expect(memory.sideFiles).toEqual({ 'edge/admx/contoso.admx': Buffer.from(ADMX) });
    // The side file is part of the hash: another ADMX under the same YAML is another folder.
    const edited = { ...FILES, 'edge/admx/contoso.admx': ADMX.replace('1.0"', '1.1"') };
    const other = inMemory(edited);
    expect((await loadPolicyFolder(other.root, { catalog, source: other })).hash).not.toBe(memory.hash);
  });

  it('reports a broken payload at its own line, the same way on disk and in memory', async () => {
    const catalog = defaultCatalog();
    const broken = { ...FILES, 'edge/admx/contoso.admx': ADMX.replace('</policyDefinitions>', '</policy>') };
    const dir = onDisk(broken);
    const source = inMemory(broken);
    const disk = await loadPolicyFolder(dir, { catalog });
    const memory = await loadPolicyFolder(source.root, { catalog, source });
    expect(relativeOf(memory, source.root).issues).toEqual(relativeOf(disk, dir).issues);
    expect(relativeOf(disk, dir).issues).toContainEqual(
      expect.objectContaining({ file: join('edge', 'admx', 'contoso.admx'), line: 3, code: 'value-format' }),
    );
  });

  it('never reads outside the bundle: an absolute or escaping file: is no such file', async () => {
    const catalog = defaultCatalog();
    const outside = join(root, 'secret.admx');
    writeFileSync(outside, ADMX);
    for (const name of [outside, '../secret.admx']) {
      const files = {
        'p.yaml': `name: p\nsettings:\n  - path: ${ADMX_INSTALL}\n    file: ${name}\n`,
      };
      const source = inMemory(files);
      const r = await loadPolicyFolder(source.root, { catalog, source });
      expect(r.issues.filter((i) => i.severity === 'error')).toEqual([
        expect.objectContaining({
          line: 4,
          col: 11,
          code: 'file-read',
          message: expect.stringMatching(/no such file$/),
        }),
      ]);
    }
  });
});
