// The `apps:` section: MSI identity read from real packages built with wixl, URL packages, MSIX, and
// every mistake reported at its `file:line:col`.

import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultCatalog } from '../../src/catalog/catalog.js';
import { parsePropertyTable } from '../../src/policy/apps/msi.js';
import { loadPolicyFile } from '../../src/policy/language/load.js';
import { buildMsi, describeWithWixl } from '../support/wixl.js';
import { check, issuesOf } from './fixtures.js';

const PRODUCT = '{11111111-2222-3333-4444-555555555555}';
const UPGRADE = '{AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE}';
const SHA = 'ab'.repeat(32);

describe('apps: section (no package tools needed)', () => {
  it('accepts an MSI by URL and an MSIX by URL, with defaults for the install job', () => {
    const r = check(
      `name: p\napps:\n  - msi: { url: "https://cdn.contoso.com/tool.msi", productId: "${PRODUCT.toLowerCase()}", version: "1.2.3", sha256: ${SHA} }\n` +
        '    retryCount: 1\n' +
        '  - msix:\n      url: https://cdn.contoso.com/app.msix\n      packageFamilyName: Contoso.App_8wekyb3d8bbwe\n      version: "2.0.0.0"\n' +
        '    dependencies: [{ url: "https://cdn.contoso.com/vclibs.appx" }]\n',
    );
    expect(issuesOf(r)).toEqual([]);
    expect(r.policy?.settings).toEqual([]);
    expect(r.policy?.apps).toEqual([
      {
        key: `msi:${PRODUCT}`,
        kind: 'msi',
        id: PRODUCT,
        name: PRODUCT,
        version: '1.2.3',
        content: { url: 'https://cdn.contoso.com/tool.msi', sha256: SHA },
        commandLine: '/quiet',
        timeoutMinutes: 5,
        retryCount: 1,
        retryIntervalMinutes: 5,
      },
      {
        key: 'msix:Contoso.App_8wekyb3d8bbwe',
        kind: 'msix',
        id: 'Contoso.App_8wekyb3d8bbwe',
        name: 'Contoso.App_8wekyb3d8bbwe',
        version: '2.0.0.0',
        content: { url: 'https://cdn.contoso.com/app.msix' },
        dependencies: [{ url: 'https://cdn.contoso.com/vclibs.appx' }],
      },
    ]);
  });

  it('reports each mistake at its key or value', () => {
    const r = check(
      'name: p\napps:\n' +
        `  - msi: { url: "http://cdn.contoso.com/tool.msi", productId: "nope", version: "1.2.3", sha256: ${SHA} }\n` +
        '  - msi: tool.msi\n    msix: { url: "https://x.contoso.com/a.msix", packageFamilyName: A.B_8wekyb3d8bbwe, version: "1.0" }\n' +
        '  - msix: { url: "https://x.contoso.com/a.msix", packageFamilyName: A.B_8wekyb3d8bbwe, version: "1.0" }\n    timeout: 3\n' +
        '  - msi: { url: "https://x.contoso.com/a.msi", productid: "x" }\n' +
        '  - msi: missing.msi\n' +
        '  - msi: 5\n',
    );
    expect(issuesOf(r)).toEqual([
      '3:17 error schema `apps[0].msi.url`: expected an https:// URL',
      '3:63 error schema `apps[0].msi.productId`: expected a GUID in braces, e.g. {12345678-9ABC-DEF0-1234-56789ABCDEF0}',
      '4:5 error schema app has both `msi` and `msix`; list them as two apps',
      '7:14 error schema `timeout` applies to MSI packages only',
      '8:10 error schema missing required key `apps[3].msi.productId`',
      '8:10 error schema missing required key `apps[3].msi.version`',
      '8:10 error schema missing required key `apps[3].msi.sha256`',
      '8:48 error schema unknown key `productid` in `apps[3].msi`; did you mean `productId`? (allowed: url, productId, version, sha256, upgradeCode)',
      expect.stringMatching(
        /^9:10 error file-read cannot read `missing\.msi` \(.*missing\.msi\): no such file$/,
      ),
      '10:10 error schema `apps[5].msi` must be a file path or a mapping, not number 5',
    ]);
  });

  it('a policy needs settings or apps; apps belong in device policies', () => {
    expect(issuesOf(check('name: p\n'))).toEqual([
      '1:1 error schema a policy needs `settings`, `apps` or `certificates` (none is given)',
    ]);
    const user = check(
      `name: p\ntarget: { scope: user }\napps:\n  - msi: { url: "https://c.contoso.com/t.msi", productId: "${PRODUCT}", version: "1.0", sha256: ${SHA} }\n`,
    );
    expect(issuesOf(user)).toEqual([
      '4:5 error scope-mismatch apps are installed for the whole device (./Device/…); put them in a policy without `target.scope: user`',
    ]);
  });

  it('reads the msiinfo Property export', () => {
    const text =
      'Property\tValue\r\ns72\tl0\r\nProperty\tProperty\r\nProductCode\t{A}\r\nProductVersion\t1.0.0\r\n';
    expect(parsePropertyTable(text)).toEqual({ productCode: '{A}', productVersion: '1.0.0' });
  });
});

describeWithWixl('apps: local MSI packages built with wixl', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'mdm-apps-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads ProductCode, ProductVersion and UpgradeCode from the Property table and hosts the file', async () => {
    const msi = buildMsi({ productCode: PRODUCT, upgradeCode: UPGRADE, version: '1.2.3' }, 'tool.msi', dir);
    writeFileSync(join(dir, 'tool.yaml'), 'name: tool\napps:\n  - msi: tool.msi\n    commandLine: /qn\n');
    const r = await loadPolicyFile(join(dir, 'tool.yaml'), { catalog: defaultCatalog() });
    expect(issuesOf(r)).toEqual([]);
    const sha256 = createHash('sha256').update(readFileSync(msi)).digest('hex');
    expect(r.policy?.apps).toEqual([
      {
        key: `msi:${UPGRADE}`,
        kind: 'msi',
        id: PRODUCT,
        name: 'Contoso Tool',
        version: '1.2.3',
        content: { sha256, size: readFileSync(msi).length, file: 'tool.msi' },
        commandLine: '/qn',
        timeoutMinutes: 5,
        retryCount: 3,
        retryIntervalMinutes: 5,
      },
    ]);
    expect(r.validated?.hosted).toEqual([{ sha256, size: readFileSync(msi).length, path: msi }]);
  });

  it('a file that is not an MSI is a clear error at the value', async () => {
    writeFileSync(join(dir, 'fake.msi'), 'not an msi');
    writeFileSync(join(dir, 'fake.yaml'), 'name: fake\napps:\n  - msi: fake.msi\n');
    const r = await loadPolicyFile(join(dir, 'fake.yaml'), { catalog: defaultCatalog() });
    expect(issuesOf(r)).toEqual([
      expect.stringMatching(
        /^3:10 error app-package cannot read the MSI Property table of `fake\.msi`: not a readable MSI package \(.+\)$/,
      ),
    ]);
  });
});
