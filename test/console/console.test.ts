// The web console in headless Chromium against the real HTTPS server: simulated Windows devices
// enroll and check in, an admin signs in and reads the dashboard, reports and audit log; writes
// without the CSRF token are refused. Screenshots of each page go to test-results/console/.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { defaultCatalog } from '../../src/catalog/catalog.js';
import { addAdminAccount } from '../../src/console/accounts.js';
import { complianceReport } from '../../src/reporting/compliance.js';
import { applyBundle } from '../../src/services/policy.js';
import { VirtualDevice } from '../../src/simulator/device.js';
import { makeProfile } from '../../src/simulator/profile.js';
import { enrollInStorage } from '../policy-delivery/engine.js';
import { describeBrowser, launchChromium, SCREENSHOT_DIR } from '../support/browser.js';
import { startTestServer, type TestServer } from '../support/server.js';

const USER = 'console@contoso.com';
const USER_PASSWORD = 'Console-user-1';
const ADMIN_PASSWORD = 'console-admin-pass';
const AUDITOR_PASSWORD = 'console-auditor-pass';
const CAMERA = './Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera';
const SIMULATED = 3;
const ADMX_INSTALL = './Device/Vendor/MSFT/Policy/ConfigOperations/ADMXInstall/Contoso/Policy/ContosoAdmx';
const ADMX = `<?xml version="1.0" encoding="utf-8"?>
<policyDefinitions revision="1.0" schemaVersion="1.0">
  <policyNamespaces>
    <target prefix="contoso" namespace="Contoso.Policies" />
  </policyNamespaces>
  <resources minRequiredRevision="1.0" />
  <categories>
    <category name="Contoso" displayName="Contoso" />
  </categories>
</policyDefinitions>
`;
const BULK = 997;

const POLICIES: Record<string, string> = {
  'camera-off.yaml': 'name: camera-off\nsettings:\n  - path: Camera/AllowCamera\n    value: 0\n',
  'assignments.yaml':
    'assignments:\n  - policy: camera-off\n    include: [all]\nverification:\n  interval: 0s\n',
};

describeBrowser('web console in Chromium', () => {
  let server: TestServer;
  let browser: Browser;
  let root: string;
  const devices: VirtualDevice[] = [];
  const profiles = Array.from({ length: SIMULATED }, (_, i) =>
    makeProfile(`console-${i}`, { osVersion: '10.0.22631.4037', osEdition: '4' }),
  );

  async function signedIn(name: string, password: string): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({
      viewport: { width: 1280, height: 900 },
      acceptDownloads: true,
    });
    const page = await context.newPage();
    await page.goto(`${server.url}/console`);
    await page.getByLabel('Name').fill(name);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
    return { context, page };
  }

  /** No horizontal scrolling at 1280 px. */
  async function fitsWidth(page: Page): Promise<void> {
    const width = await page.evaluate<number>('document.documentElement.scrollWidth');
    expect(width).toBeLessThanOrEqual(1280);
  }

  /** Status of a GET from the page itself (its cookies, its origin). */
  const status = (page: Page, path: string) =>
    page.evaluate<number, string>(async (p) => (await fetch(p, { credentials: 'same-origin' })).status, path);

  const shot = (page: Page, name: string) =>
    page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });

  let policyDir: string;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'mdm-console-'));
    policyDir = join(root, 'policies');
    mkdirSync(policyDir);
    for (const [file, text] of Object.entries(POLICIES)) writeFileSync(join(policyDir, file), text);
    server = await startTestServer({ policyDir });
    await server.ready;
    await server.addUser(USER, USER_PASSWORD);
    await addAdminAccount(server.storage.admins, 'alice', 'admin', ADMIN_PASSWORD);
    await addAdminAccount(server.storage.admins, 'audrey', 'auditor', AUDITOR_PASSWORD);
    const catalog = defaultCatalog();
    for (const profile of profiles) {
      const device = new VirtualDevice({ profile, catalog, tls: { ca: server.tlsCertPem } });
      await device.enroll(server.url, USER, USER_PASSWORD);
      expect((await device.checkIn()).ok).toBe(true);
      devices.push(device);
    }
    // The rest of the fleet: enrolled, never checked in.
    for (let i = 0; i < BULK; i++) {
      await enrollInStorage(server.storage, `BULK-${String(i).padStart(4, '0')}`, {
        user: `user${i}@contoso.com`,
      });
    }
    browser = await launchChromium(server.tlsCertPem);
  }, 240_000);
  afterAll(async () => {
    await browser?.close();
    for (const d of devices) d.close();
    await server?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('shows the sign-in form, refuses a wrong password and signs in', async () => {
    const context = await browser.newContext({
      viewport: { width: 1280, height: 900 },
    });
    const page = await context.newPage();
    await page.goto(`${server.url}/console`);
    await page.getByRole('heading', { name: 'Sign in to the MDM console' }).waitFor();
    await shot(page, 'sign-in');
    await page.getByLabel('Name').fill('alice');
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toBe('Wrong name or password.');
    // Keyboard only: the password field has the focus after a failure; Enter submits.
    await page.keyboard.type(ADMIN_PASSWORD);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
    expect(await page.locator('#who').textContent()).toBe('alice (admin)');
    // After sign-in the focus is on the page's content; on a fresh load the first Tab reaches the
    // skip link, which moves the focus there.
    expect(await page.evaluate<string>('document.activeElement.id')).toBe('main');
    await page.reload();
    await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
    await page.keyboard.press('Tab');
    expect(await page.evaluate<string>('document.activeElement.textContent')).toBe('Skip to content');
    await page.keyboard.press('Enter');
    expect(await page.evaluate<string>('document.activeElement.id')).toBe('main');
    const [cookie] = await context.cookies();
    expect(cookie).toMatchObject({
      name: '__Host-mdm-console',
      httpOnly: true,
      secure: true,
      sameSite: 'Strict',
    });
    // The cookie is not readable from the page's script.
    expect(await page.evaluate<string>('document.cookie')).toBe('');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to the MDM console' }).waitFor();
    expect(await status(page, '/api/v1/compliance')).toBe(401);
    await context.close();
  });

  it('renders the dashboard with the numbers of the simulated fleet', async () => {
    const { context, page } = await signedIn('alice', ADMIN_PASSWORD);
    await page.getByTestId('device-count').waitFor();
    expect(await page.getByTestId('device-count').textContent()).toBe(String(SIMULATED + BULK));
    // Each simulated device verified the camera setting in its first session.
    const verified = await server.storage.deviceSettings.querySettings({ state: 'verified' });
    expect(verified.filter((s) => s.path === CAMERA)).toHaveLength(SIMULATED);
    expect(await page.getByTestId('setting-verified').textContent()).toBe(String(SIMULATED));
    expect(await page.getByTestId('checkins-24h').textContent()).toBe(String(SIMULATED));
    // Devices never seen (the bulk of the fleet) count as not seen for 7 days.
    expect(await page.getByTestId('stale-count').textContent()).toBe(String(BULK));
    // Compliance states: the same counts as the report the server computes.
    const report = await complianceReport(server.storage);
    const byState = new Map<string, number>();
    for (const d of report) byState.set(d.state, (byState.get(d.state) ?? 0) + 1);
    for (const [state, n] of byState)
      expect(await page.getByTestId(`compliance-${state}`).textContent()).toBe(String(n));
    await fitsWidth(page);
    await shot(page, 'dashboard');
    await context.close();
  });

  it('downloads the compliance CSV', async () => {
    const { context, page } = await signedIn('alice', ADMIN_PASSWORD);
    await page.goto(`${server.url}/console#/reports`);
    await page.getByRole('heading', { name: 'Compliance report' }).waitFor();
    await page.getByRole('link', { name: profiles[0]!.deviceId }).waitFor();
    await fitsWidth(page);
    await shot(page, 'reports');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Download compliance CSV' }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/\.csv$/);
    const csv = readFileSync((await download.path())!, 'utf8');
    const lines = csv.trim().split(/\r?\n/);
    expect(lines[0]).toMatch(/^device_id,user,enrolled,compliance_state,/);
    for (const p of profiles) {
      expect(
        lines.some((l) => l.startsWith(`${p.deviceId},`) && l.includes(CAMERA) && l.includes('verified')),
      ).toBe(true);
    }
    await context.close();
  });

  it('refuses a write from the signed-in page without the CSRF token', async () => {
    const { context, page } = await signedIn('alice', ADMIN_PASSWORD);
    const refused = await page.evaluate(async () => {
      const res = await fetch('/console/session', { method: 'DELETE', credentials: 'same-origin' });
      return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
    });
    expect(refused.status, refused.body).toBe(403);
    expect(refused.type).toMatch(/^application\/problem\+json/);
    // Still signed in: the refused request changed nothing.
    expect(await status(page, '/console/session')).toBe(200);
    await context.close();
  });

  it('finds a device by search among 1,000, opens it, queues a sync and a Get and shows the result', async () => {
    const { context, page } = await signedIn('alice', ADMIN_PASSWORD);
    const target = profiles[1]!;
    await page.getByRole('link', { name: 'Devices' }).click();
    await page.getByRole('heading', { name: 'Devices', level: 1 }).waitFor();
    await expect.poll(() => page.getByTestId('devices-shown').textContent()).toBe('50 shown, page 1');
    // Server-side paging: the second page starts where the first ended.
    const firstOnPage1 = await page.locator('#devices-table tbody tr td a').first().textContent();
    await page.getByRole('button', { name: 'Next page' }).click();
    await expect.poll(() => page.getByTestId('devices-shown').textContent()).toBe('50 shown, page 2');
    expect(await page.locator('#devices-table tbody tr td a').first().textContent()).not.toBe(firstOnPage1);
    await fitsWidth(page);
    await shot(page, 'devices');
    // Search by a part of the DeviceID.
    await page.getByLabel('Search devices').fill(target.deviceId.slice(4, 20));
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await expect.poll(() => page.getByTestId('devices-shown').textContent()).toBe('1 shown, page 1');
    await page.getByRole('link', { name: target.deviceId }).click();
    await page.getByRole('heading', { name: `Device ${target.deviceName} (${target.deviceId})` }).waitFor();
    // Settings with desired and reported values and their state.
    const camera = page.locator('section[aria-labelledby="dev-settings"] tr').filter({ hasText: CAMERA });
    await expect.poll(() => camera.textContent()).toContain('verified');
    await fitsWidth(page);
    await shot(page, 'device');

    await page.getByRole('button', { name: 'Sync' }).click();
    await expect.poll(() => page.locator('#action-outcome').textContent()).toMatch(/^Sync: /);
    await page.getByLabel('Read a node (Get command)').fill('./DevDetail/SwV');
    await page.getByRole('button', { name: 'Queue Get' }).click();
    await expect.poll(() => page.locator('#action-outcome').textContent()).toMatch(/Get: pending/);
    // The device checks in; the page shows the result as it arrives.
    expect((await devices[1]!.checkIn()).ok).toBe(true);
    await page.getByTestId('command-outcome').waitFor({ timeout: 15_000 });
    expect(await page.getByTestId('command-outcome').getAttribute('data-state')).toBe('done');
    expect(await page.getByTestId('command-result').textContent()).toContain(
      `./DevDetail/SwV = ${target.osVersion}`,
    );
    await context.close();
  }, 90_000);

  it('shows a policy error at its line, then plans and applies a valid folder that devices verify', async () => {
    const { context, page } = await signedIn('alice', ADMIN_PASSWORD);
    await page.getByRole('link', { name: 'Policy editor' }).click();
    await page.getByRole('heading', { name: 'Policy editor' }).waitFor();
    // The editor opens on the stored folder: the files the server was started with.
    await expect
      .poll(() => page.getByTestId('folder-origin').textContent())
      .toMatch(/^The stored folder, revision \d+/);
    expect(await page.locator('#file-name-0').inputValue()).toBe('assignments.yaml');
    expect(await page.locator('#file-text-0').inputValue()).toBe(POLICIES['assignments.yaml']);
    expect(await page.locator('#file-name-1').inputValue()).toBe('camera-off.yaml');
    expect(await page.locator('#file-text-1').inputValue()).toBe(POLICIES['camera-off.yaml']);
    await page
      .locator('#file-text-0')
      .fill(
        'assignments:\n  - policy: camera-off\n    include: [all]\n  - policy: cortana-off\n    include: [all]\nverification:\n  interval: 0s\n',
      );
    await page.getByLabel('Add a file').fill('cortana-off.yaml');
    await page.getByRole('button', { name: 'Add file' }).click();
    await page
      .locator('#file-text-2')
      .fill('name: cortana-off\nsettings:\n  - path: Experience/AllowCortanaa\n    value: 0\n');
    await page.getByRole('button', { name: 'Validate' }).click();
    const diagnostic = page.getByTestId('file-diagnostics-2').getByTestId('diagnostic').first();
    await diagnostic.waitFor();
    expect(await diagnostic.textContent()).toMatch(/^cortana-off\.yaml:3:\d+ error /);
    // The line it names is marked in the listing.
    expect(await page.getByTestId('file-diagnostics-2').locator('.bad').textContent()).toBe(
      '  - path: Experience/AllowCortanaa',
    );
    await fitsWidth(page);
    await shot(page, 'policy-editor-error');
    // Planning refuses too; nothing is stored.
    const before = (await server.storage.policies.currentPolicySet()).policies.map((p) => p.name);
    await page.getByRole('button', { name: 'Plan' }).click();
    await expect.poll(() => page.getByTestId('issue-summary').textContent()).toMatch(/^\d+ error/);

    await page
      .locator('#file-text-2')
      .fill('name: cortana-off\nsettings:\n  - path: Experience/AllowCortana\n    value: 0\n');
    await page.getByRole('button', { name: 'Plan' }).click();
    await page.getByRole('button', { name: 'Confirm and apply' }).waitFor();
    expect(await page.locator('#policy-result').textContent()).toContain(
      './Device/Vendor/MSFT/Policy/Config/Experience/AllowCortana',
    );
    expect((await server.storage.policies.currentPolicySet()).policies.map((p) => p.name)).toEqual(before);
    await shot(page, 'policy-plan');
    await page.getByRole('button', { name: 'Confirm and apply' }).click();
    await expect.poll(() => page.getByTestId('applied').textContent()).toMatch(/^Applied: revision \d+$/);
    const appliedRevision = Number((await page.getByTestId('applied').textContent())!.replace(/\D+/g, ''));
    await page.getByRole('button', { name: 'Reload the stored folder' }).click();
    await expect
      .poll(() => page.getByTestId('folder-origin').textContent())
      .toBe(`The stored folder, revision ${appliedRevision}: applying these files replaces it.`);
    expect(await page.locator('#file-name-2').inputValue()).toBe('cortana-off.yaml');
    // The simulated devices check in and verify the new setting.
    for (const d of devices) expect((await d.checkIn()).ok).toBe(true);
    await page.goto(`${server.url}/console#/policies/cortana-off`);
    const row = page.getByRole('row').filter({ hasText: 'Experience/AllowCortana' });
    await expect.poll(() => row.textContent()).toContain(`verified ${SIMULATED}:`);
    await fitsWidth(page);
    await shot(page, 'policy');
    await page.goto(`${server.url}/console#/policies`);
    await page.getByRole('link', { name: 'cortana-off' }).waitFor();
    await shot(page, 'policies');
    await context.close();
  }, 90_000);

  it('edits an ADMX side file: its error at its line in the side pane, then plan, apply, on disk, verified', async () => {
    // The stored folder gains a policy that ingests an ADMX file and trusts a root certificate.
    const revision = await server.storage.policies.currentRevision();
    const stored = (await server.storage.policies.revisionFiles(revision))!;
    const files = {
      ...stored,
      'assignments.yaml': stored['assignments.yaml']!.replace(
        'verification:',
        '  - policy: contoso-admx\n    include: [all]\nverification:',
      ),
      'contoso/contoso-admx.yaml':
        `name: contoso-admx\nsettings:\n  - path: ${ADMX_INSTALL}\n    file: contoso.admx\n` +
        '  - path: ./Device/Vendor/MSFT/RootCATrustedCertificates/Root/ABCD/EncodedCertificate\n' +
        '    file: root.cer\n',
    };
    const setup = await applyBundle(
      server.storage,
      files,
      { catalog: defaultCatalog(), dryRun: false, actor: 'test', source: 'test', policyDir },
      {
        'contoso/contoso.admx': { text: ADMX },
        'contoso/root.cer': { base64: Buffer.from([0x30, 0x82, 0x01]).toString('base64') },
      },
    );
    expect(setup.valid, JSON.stringify(setup.folder.issues)).toBe(true);

    const { context, page } = await signedIn('alice', ADMIN_PASSWORD);
    await page.goto(`${server.url}/console#/editor`);
    await page.getByRole('heading', { name: 'Policy editor' }).waitFor();
    // The side files are listed; the ADMX file opens in the second pane.
    const sideFiles = page.locator('#side-files');
    await expect.poll(() => sideFiles.textContent()).toContain('contoso/contoso.admx');
    expect(await sideFiles.textContent()).toContain('contoso/root.cer');
    expect(await sideFiles.textContent()).toContain('binary, 3 bytes');
    await page.getByRole('button', { name: 'Open contoso/contoso.admx' }).click();
    const pane = page.getByLabel('Contents of contoso/contoso.admx');
    // The keyboard focus moves into the pane.
    expect(await page.evaluate<string>('document.activeElement.id')).toBe('side-file-text');
    expect(await pane.inputValue()).toBe(ADMX);
    // Break it: an element left open.
    await pane.fill(ADMX.replace('displayName="Contoso" />', 'displayName="Contoso">'));
    await page.getByRole('button', { name: 'Validate' }).click();
    const diagnostic = page.getByTestId('side-file-diagnostics').getByTestId('diagnostic').first();
    await diagnostic.waitFor();
    expect(await diagnostic.textContent()).toMatch(/^contoso\/contoso\.admx:9:3 error value-format: /);
    expect(await page.getByTestId('side-file-diagnostics').locator('.bad').textContent()).toBe(
      '  </categories>',
    );
    await fitsWidth(page);
    await shot(page, 'policy-editor-side-file-error');
    // Fix it (a new revision of the ADMX file) and replace the certificate with an upload.
    const fixed = ADMX.replace('revision="1.0" schemaVersion', 'revision="1.1" schemaVersion');
    await pane.fill(fixed);
    const cert = Buffer.from([0x30, 0x82, 0x02, 0x0a, 0xff]);
    await page
      .getByLabel('Replace contoso/root.cer with an upload')
      .setInputFiles({ name: 'new.cer', mimeType: 'application/pkix-cert', buffer: cert });
    await expect.poll(() => sideFiles.textContent()).toContain('binary, 5 bytes');
    await page.getByRole('button', { name: 'Plan' }).click();
    await page.getByRole('button', { name: 'Confirm and apply' }).waitFor();
    expect(await page.locator('#policy-result').textContent()).toContain(ADMX_INSTALL);
    await page.getByRole('button', { name: 'Confirm and apply' }).click();
    await expect.poll(() => page.getByTestId('applied').textContent()).toMatch(/^Applied: revision \d+$/);
    // On disk, in the server's policy folder, and kept with the revision.
    expect(readFileSync(join(policyDir, 'contoso', 'contoso.admx'), 'utf8')).toBe(fixed);
    expect(readFileSync(join(policyDir, 'contoso', 'root.cer'))).toEqual(cert);
    const applied = await server.storage.policies.currentRevision();
    expect((await server.storage.policies.revisionSideFiles(applied))['contoso/contoso.admx']).toEqual({
      text: fixed,
    });
    // The simulated devices ingest the ADMX file and report it back: verified.
    for (const d of devices) expect((await d.checkIn()).ok).toBe(true);
    const verified = await server.storage.deviceSettings.querySettings({ state: 'verified' });
    expect(verified.filter((s) => s.path === ADMX_INSTALL)).toHaveLength(SIMULATED);
    await page.goto(`${server.url}/console#/policies/contoso-admx`);
    const row = page.getByRole('row').filter({ hasText: 'ADMXInstall/Contoso' });
    await expect.poll(() => row.textContent()).toContain(`verified ${SIMULATED}:`);
    await context.close();
  }, 90_000);

  it("shows a device's apps with state, versions and the CSP's last error", async () => {
    const deviceId = 'BULK-0000';
    const base = {
      deviceId,
      kind: 'msi' as const,
      policy: 'tools',
      plan: null,
      installedId: null,
      installedVersion: null,
      cspStatus: null,
      statusCode: null,
      lastError: null,
      lastErrorDesc: null,
      reason: null,
      attempts: 1,
      nextRetryAt: null,
      sentAt: '2026-01-01T00:00:00.000Z',
      installedAt: null,
      verifiedAt: null,
      nextCheckAt: null,
      reinstalls: 0,
      updatedAt: '2026-01-01T00:00:00.000Z',
    };
    await server.storage.apps.saveDeviceApps([
      {
        ...base,
        appKey: 'msi:{AAAAAAAA-0000-0000-0000-00000000000A}',
        state: 'installed',
        name: 'Contoso Tool',
        appId: '{11111111-0000-0000-0000-000000000001}',
        desiredVersion: '1.0.0',
        installedId: '{11111111-0000-0000-0000-000000000001}',
        installedVersion: '1.0.0',
        cspStatus: 70,
        installedAt: '2026-01-01T00:10:00.000Z',
        verifiedAt: '2026-01-02T00:10:00.000Z',
      },
      {
        ...base,
        appKey: 'msi:{22222222-0000-0000-0000-000000000001}',
        state: 'failed',
        name: 'Contoso VPN',
        appId: '{22222222-0000-0000-0000-000000000001}',
        desiredVersion: '4.2.0',
        cspStatus: 60,
        statusCode: 200,
        lastError: String(0x80091007 | 0),
        lastErrorDesc: 'The hash value is not correct.',
        reason: 'installation failed (Status 60)',
      },
    ]);
    const { context, page } = await signedIn('audrey', AUDITOR_PASSWORD);
    await page.goto(`${server.url}/console#/device/${deviceId}`);
    await page.getByRole('heading', { name: 'Apps', level: 2 }).waitFor();
    const rows = page.locator('section[aria-labelledby="dev-apps"] tbody tr');
    await expect.poll(() => rows.count()).toBe(2);
    const tool = await rows.filter({ hasText: 'Contoso Tool' }).textContent();
    expect(tool).toContain('installed');
    expect(tool).toContain('2026-01-02 00:10:00');
    const vpn = await rows.filter({ hasText: 'Contoso VPN' }).textContent();
    expect(vpn).toContain('failed');
    expect(vpn).toContain('0x80091007 The hash value is not correct.');
    expect(vpn).toContain('installation failed (Status 60)');
    await fitsWidth(page);
    await shot(page, 'device-apps');
    await page.goto(`${server.url}/console#/reports`);
    await page.getByRole('link', { name: 'Download app deployment CSV' }).waitFor();
    await context.close();
  }, 90_000);

  it('hides the wipe action from an auditor, whose wipe the API refuses with 403', async () => {
    const { context, page } = await signedIn('audrey', AUDITOR_PASSWORD);
    const target = profiles[2]!.deviceId;
    await page.goto(`${server.url}/console#/device/${target}`);
    await page.getByRole('heading', { name: new RegExp(`^Device .*${target}`) }).waitFor();
    expect(await page.getByText('Your role (auditor) can read only.').count()).toBe(1);
    expect(await page.getByRole('button', { name: /wipe/i }).count()).toBe(0);
    expect(await page.getByLabel(/type the device ID/).count()).toBe(0);
    const refused = await page.evaluate(async (id) => {
      const session = (await (await fetch('/console/session')).json()) as { csrfToken: string };
      const res = await fetch(`/api/v1/devices/${id}/actions/wipe`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrfToken },
        body: JSON.stringify({ confirm: id }),
      });
      return { status: res.status, type: res.headers.get('content-type'), body: await res.json() };
    }, target);
    expect(refused.status).toBe(403);
    expect(refused.type).toMatch(/^application\/problem\+json/);
    expect(await server.storage.commands.listForDevice(target, { states: ['pending'], limit: 10 })).toEqual(
      [],
    );
    await page.goto(`${server.url}/console#/audit`);
    await page.getByRole('heading', { name: 'Audit log' }).waitFor();
    // The refusal is in the audit log under the auditor's name; the admin's apply under hers.
    await page.getByLabel('Actor').fill('console:audrey');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByRole('cell', { name: 'api.forbidden' }).first().waitFor();
    await page.getByLabel('Actor').fill('console:alice');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByRole('cell', { name: 'policy.apply', exact: true }).first().waitFor();
    await fitsWidth(page);
    await shot(page, 'audit');
    await page.goto(`${server.url}/console#/catalog`);
    await page.getByLabel('Search the CSP catalog').fill('AllowCamera');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.getByRole('button', { name: CAMERA }).click();
    await page.getByRole('heading', { name: CAMERA }).waitFor();
    await fitsWidth(page);
    await shot(page, 'catalog');
    await context.close();
  }, 90_000);
});
