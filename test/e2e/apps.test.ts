// Application deployment end to end over real HTTPS, with real MSI packages built by wixl: simulated
// Windows devices download the packages from the server's /content path, check the hash and report
// through the CSPs' Status nodes. Install from a local file, upgrade to a new version (a new
// ProductCode, the old product removed), a bad hash, a download failure, a conflict, a device too old,
// an MSIX install, and the uninstall after unassignment.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { defaultCatalog } from '../../src/catalog/catalog.js';
import { buildProgram } from '../../src/cli/index.js';
import { applyPolicyFolder } from '../../src/policy/delivery/apply-folder.js';
import { formatIssue } from '../../src/policy/language/errors.js';
import { createToken } from '../../src/services/tokens.js';
import { VirtualDevice } from '../../src/simulator/device.js';
import { makeProfile } from '../../src/simulator/profile.js';
import type { DeviceAppRecord } from '../../src/storage/apps.js';
import { apiClient } from '../support/api-client.js';
import { describeBackends } from '../support/backends.js';
import { captureCli } from '../support/cli.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { buildMsi, describeWithWixl } from '../support/wixl.js';

const USER = 'apps@contoso.com';
const PASSWORD = 'Apps-pass-1';
const V1 = '{11111111-0000-0000-0000-000000000001}';
const V2 = '{11111111-0000-0000-0000-000000000002}';
const UPGRADE = '{AAAAAAAA-0000-0000-0000-00000000000A}';
const KEY = `msi:${UPGRADE}`;
const PFN = 'Contoso.Notes_8wekyb3d8bbwe';
const BAD_SHA = '0'.repeat(64);

const profiles = {
  installer: makeProfile('apps-installer', { osVersion: '10.0.22631.4037', osEdition: '4' }),
  badhash: makeProfile('apps-badhash', { osVersion: '10.0.22631.4037', osEdition: '4' }),
  nodownload: makeProfile('apps-nodownload', { osVersion: '10.0.22631.4037', osEdition: '4' }),
  conflicted: makeProfile('apps-conflicted', { osVersion: '10.0.22631.4037', osEdition: '4' }),
  old: makeProfile('apps-old', { osVersion: '10.0.10240.16384', osEdition: '4' }),
  modern: makeProfile('apps-modern', { osVersion: '10.0.22631.4037', osEdition: '4' }),
};
type Name = keyof typeof profiles;

describeWithWixl('application deployment', () => {
  describeBackends('apps end to end', (backend) => {
    let server: TestServer;
    let root: string;
    let dir: string;
    let sha1: string;
    const devices = {} as Record<Name, VirtualDevice>;

    const assignments = (installerPolicy: string | null) => `groups:
  - name: installer
    devices: [${profiles.installer.deviceId}, ${profiles.old.deviceId}]
  - name: badhash
    devices: [${profiles.badhash.deviceId}]
  - name: nodownload
    devices: [${profiles.nodownload.deviceId}]
  - name: conflicted
    devices: [${profiles.conflicted.deviceId}]
  - name: modern
    devices: [${profiles.modern.deviceId}]
assignments:
  - policy: tool
    include: [${installerPolicy === 'tool' ? 'installer, ' : ''}conflicted]
  - policy: tool-next
    include: [${installerPolicy === 'tool-next' ? 'installer, ' : ''}conflicted]
  - policy: broken
    include: [badhash]
  - policy: unreachable
    include: [nodownload]
  - policy: notes
    include: [modern]
verification:
  maxFailureRetries: 1
  failureRetryDelay: 0s
`;

    async function apply(installerPolicy: string | null) {
      writeFileSync(join(dir, 'assignments.yaml'), assignments(installerPolicy));
      const result = await applyPolicyFolder(server.storage.policies, dir, {
        catalog: defaultCatalog(),
        content: server.storage.apps,
      });
      expect(result.folder.issues.filter((i) => i.severity === 'error').map(formatIssue)).toEqual([]);
      expect(result.stored?.created).toBe(true);
    }

    async function app(name: Name, key = KEY): Promise<DeviceAppRecord | undefined> {
      return (await server.storage.apps.listDeviceApps(profiles[name].deviceId)).find(
        (r) => r.appKey === key,
      );
    }

    async function checkIn(name: Name) {
      const report = await devices[name].checkIn();
      expect(report.ok, report.error).toBe(true);
    }

    beforeAll(async () => {
      root = mkdtempSync(join(tmpdir(), 'mdm-apps-e2e-'));
      dir = join(root, 'policies');
      mkdirSync(join(dir, 'files'), { recursive: true });
      const tool1 = buildMsi(
        { productCode: V1, upgradeCode: UPGRADE, version: '1.0.0' },
        'tool-1.msi',
        join(dir, 'files'),
      );
      buildMsi({ productCode: V2, upgradeCode: UPGRADE, version: '2.0.0' }, 'tool-2.msi', join(dir, 'files'));
      sha1 = createHash('sha256').update(readFileSync(tool1)).digest('hex');
      writeFileSync(
        join(dir, 'files', 'notes.msix'),
        '<?xml version="1.0"?><Package><Identity Name="Contoso.Notes" Publisher="CN=Contoso" Version="3.1.0.0"/></Package>',
      );
      writeFileSync(join(dir, 'files', 'vclibs.appx'), 'framework package');
      server = await startTestServer({}, { backend });
      await server.addUser(USER, PASSWORD);
      writeFileSync(
        join(dir, 'tool.yaml'),
        'name: tool\napps:\n  - msi: files/tool-1.msi\n    commandLine: /qn\n',
      );
      writeFileSync(join(dir, 'tool-next.yaml'), 'name: tool-next\napps:\n  - msi: files/tool-2.msi\n');
      // The hash of a package the server does host, but not that package's: the device must refuse it.
      writeFileSync(
        join(dir, 'broken.yaml'),
        `name: broken\napps:\n  - msi: { url: "${server.url}/content/${sha1}", productId: "{22222222-0000-0000-0000-000000000001}", version: "1.0.0", sha256: "${BAD_SHA}" }\n`,
      );
      writeFileSync(
        join(dir, 'unreachable.yaml'),
        `name: unreachable\napps:\n  - msi: { url: "${server.url}/content/${'f'.repeat(64)}", productId: "{33333333-0000-0000-0000-000000000001}", version: "1.0.0", sha256: "${'f'.repeat(64)}" }\n`,
      );
      writeFileSync(
        join(dir, 'notes.yaml'),
        `name: notes\napps:\n  - msix: { file: files/notes.msix, packageFamilyName: ${PFN}, version: "3.1.0.0" }\n    dependencies: [files/vclibs.appx]\n`,
      );
      await apply('tool');
      const catalog = defaultCatalog();
      for (const [name, profile] of Object.entries(profiles)) {
        const device = new VirtualDevice({ profile, catalog, tls: { ca: server.tlsCertPem } });
        await device.enroll(server.url, USER, PASSWORD);
        devices[name as Name] = device;
      }
    });
    afterAll(async () => {
      for (const d of Object.values(devices)) d.close();
      await server?.close();
      if (root) rmSync(root, { recursive: true, force: true });
    });

    it('serves a hosted package by its SHA-256 (ranges too) and nothing else', async () => {
      const res = await fetchWithCa(server, `/content/${sha1}`);
      expect(res.status).toBe(200);
      expect(createHash('sha256').update(res.body).digest('hex')).toBe(sha1);
      const part = await fetchWithCa(server, `/content/${sha1}`, { range: 'bytes=0-7' });
      expect(part.status).toBe(206);
      expect(part.body.readUInt32BE(0)).toBe(0xd0cf11e0);
      expect((await fetchWithCa(server, `/content/${BAD_SHA}`)).status).toBe(404);
      expect((await fetchWithCa(server, '/content/../../etc/passwd')).status).toBe(404);
    });

    it('installs an MSI from a local file: downloaded through the server, hash checked, Status read back', async () => {
      await checkIn('installer');
      expect(await app('installer')).toMatchObject({
        state: 'installing',
        appId: V1,
        desiredVersion: '1.0.0',
      });
      expect(devices.installer.apps.inventory()).toEqual([]);
      await checkIn('installer'); // the device ran the job between sessions
      expect(devices.installer.apps.inventory()).toMatchObject([
        { kind: 'msi', id: V1, version: '1.0.0', sha256: sha1 },
      ]);
      expect(await app('installer')).toMatchObject({
        state: 'installed',
        cspStatus: 70,
        installedId: V1,
        installedVersion: '1.0.0',
        lastError: null,
        reason: null,
      });
    });

    it('upgrades to a new version and removes the old product', async () => {
      await apply('tool-next');
      await checkIn('installer');
      expect(await app('installer')).toMatchObject({
        state: 'installing',
        appId: V2,
        reason: 'upgrade from 1.0.0',
      });
      await checkIn('installer');
      expect(await app('installer')).toMatchObject({
        state: 'installed',
        installedId: V2,
        installedVersion: '2.0.0',
      });
      expect(devices.installer.apps.inventory().map((a) => [a.id, a.version])).toEqual([[V2, '2.0.0']]);
    });

    it('fails on a hash mismatch with the CSP status and error, retried once, then final', async () => {
      await checkIn('badhash');
      await checkIn('badhash');
      const first = await app('badhash', 'msi:{22222222-0000-0000-0000-000000000001}');
      expect(first).toMatchObject({
        state: 'failed',
        cspStatus: 60,
        lastError: String(0x80091007 | 0),
        lastErrorDesc: 'The hash value is not correct.',
        attempts: 1,
        reason: 'installation failed (Status 60)',
      });
      expect(devices.badhash.apps.inventory()).toEqual([]);
      await checkIn('badhash'); // retry due at once (failureRetryDelay 0s): install queued again
      await checkIn('badhash');
      expect(await app('badhash', 'msi:{22222222-0000-0000-0000-000000000001}')).toMatchObject({
        state: 'failed',
        attempts: 2,
        nextRetryAt: null,
        reason: 'installation failed (Status 60) (gave up after 2 attempts)',
      });
    });

    it('fails on a download failure (HTTP 404) with Status 30', async () => {
      await checkIn('nodownload');
      await checkIn('nodownload');
      expect(await app('nodownload', 'msi:{33333333-0000-0000-0000-000000000001}')).toMatchObject({
        state: 'failed',
        cspStatus: 30,
        lastError: String((0x80190000 + 404) | 0),
        reason: 'download failed (Status 30)',
      });
    });

    it('reports conflicting versions of one app as a conflict, and a device too old as not applicable', async () => {
      await checkIn('conflicted');
      const c = await app('conflicted');
      expect(c?.state).toBe('conflict');
      expect(c?.reason).toBe(`conflict: tool wants 1.0.0 (${V1}), tool-next wants 2.0.0 (${V2})`);
      expect(devices.conflicted.apps.inventory()).toEqual([]);
      await checkIn('old');
      expect(await app('old')).toMatchObject({
        state: 'not_applicable',
        reason: 'MSI installation needs Windows 10.0.10586 or later; device runs 10.0.10240.16384',
      });
    });

    it('installs an MSIX package with its dependency and reads the version from the inventory', async () => {
      await checkIn('modern');
      expect(await app('modern', `msix:${PFN}`)).toMatchObject({ state: 'installing' });
      await checkIn('modern');
      expect(await app('modern', `msix:${PFN}`)).toMatchObject({
        state: 'installed',
        cspStatus: 3,
        installedVersion: '3.1.0.0',
      });
      expect(devices.modern.apps.inventory()).toMatchObject([{ kind: 'msix', id: PFN, version: '3.1.0.0' }]);
    });

    it('the report shows each state: CLI table, CSV and JSON, and /metrics', async () => {
      const configFile = join(root, 'mdm.yaml');
      writeFileSync(configFile, server.configYaml());
      const mdm = (...args: string[]) =>
        captureCli(() => buildProgram().parseAsync(['node', 'mdm', '--config', configFile, ...args]));
      const json = await mdm('report', 'apps', '--format', 'json');
      expect(json.code, json.err).toBe(0);
      const rows = (
        JSON.parse(json.out) as { apps: { deviceId: string; state: string; lastErrorHex: string | null }[] }
      ).apps;
      const stateOf = (name: Name) =>
        rows.filter((r) => r.deviceId === profiles[name].deviceId).map((r) => r.state);
      expect(stateOf('installer')).toEqual(['installed']);
      expect(stateOf('badhash')).toEqual(['failed']);
      expect(stateOf('conflicted')).toEqual(['conflict']);
      expect(stateOf('old')).toEqual(['not_applicable']);
      expect(stateOf('modern')).toEqual(['installed']);
      expect(rows.find((r) => r.deviceId === profiles.badhash.deviceId)?.lastErrorHex).toBe('0x80091007');
      const csv = await mdm('report', 'apps', '--format', 'csv');
      const lines = csv.out.trimEnd().split('\r\n');
      expect(lines[0]).toBe(
        'device_id,app,kind,name,policy,state,app_id,desired_version,installed_version,csp_status,status_code,' +
          'last_error,last_error_hex,last_error_desc,reason,attempts,next_retry_at,sent_at,installed_at,verified_at,' +
          'next_check_at,reinstalls,updated_at',
      );
      expect(lines).toHaveLength(rows.length + 1);
      const bad = lines.find((l) => l.startsWith(`${profiles.badhash.deviceId},`))!;
      expect(bad).toContain(
        ',failed,{22222222-0000-0000-0000-000000000001},1.0.0,,60,200,-2146889721,0x80091007,The hash value is not correct.,',
      );
      const table = await mdm('report', 'apps', '--state', 'failed');
      expect(table.out.split('\n')[0]).toMatch(
        /^DEVICE\s+APP\s+STATE\s+VERSION\s+INSTALLED\s+ERROR\s+REASON$/,
      );
      expect(table.out).toContain('0x80091007 The hash value is not correct.');
      expect((await mdm('report', 'apps', '--state', 'nope')).code).toBe(2);
      const metrics = await fetchWithCa(server, '/metrics');
      const text = metrics.body.toString('utf8');
      expect(text).toMatch(/^mdm_apps\{kind="msi",state="installed"\} 1$/m);
      expect(text).toMatch(/^mdm_apps\{kind="msi",state="failed"\} 2$/m);
      expect(text).toMatch(/^mdm_apps\{kind="msi",state="conflict"\} 1$/m);
      expect(text).toMatch(/^mdm_apps\{kind="msix",state="installed"\} 1$/m);
    });

    it('the admin API lists each app with its devices per state, one app by key, ProductCode or name, and the device detail has its apps', async () => {
      const { token } = await createToken(server.storage, {
        name: 'apps-auditor',
        role: 'auditor',
        actor: 'test',
      });
      const api = apiClient(server, token);
      const list = await api.get('/api/v1/apps');
      expect(list.status).toBe(200);
      const byKey = new Map(
        (list.body.items as { app: string; states: Record<string, number> }[]).map((a) => [a.app, a]),
      );
      expect(byKey.get(KEY)).toMatchObject({
        kind: 'msi',
        assigned: true,
        devices: 3,
        states: { installed: 1, conflict: 1, not_applicable: 1, failed: 0 },
        versions: [
          { policy: 'tool', appId: V1, version: '1.0.0', source: 'files/tool-1.msi', sha256: sha1 },
          { policy: 'tool-next', appId: V2, version: '2.0.0', source: 'files/tool-2.msi' },
        ],
      });
      expect(byKey.get(`msix:${PFN}`)).toMatchObject({ kind: 'msix', devices: 1, states: { installed: 1 } });
      expect(byKey.get('msi:{22222222-0000-0000-0000-000000000001}')?.states.failed).toBe(1);
      expect((await api.get('/api/v1/apps?kind=msix')).body.items.map((a: { app: string }) => a.app)).toEqual(
        [`msix:${PFN}`],
      );
      expect((await api.get('/api/v1/apps?policy=broken')).body.items).toHaveLength(1);

      const one = await api.get(`/api/v1/apps/${encodeURIComponent(KEY)}`);
      expect(one.status).toBe(200);
      expect(one.body.app.app).toBe(KEY);
      expect(one.body.devices.map((d: { deviceId: string; state: string }) => [d.state, d.deviceId])).toEqual(
        [
          ['installed', profiles.installer.deviceId],
          ['conflict', profiles.conflicted.deviceId],
          ['not_applicable', profiles.old.deviceId],
        ],
      );
      const bad = await api.get('/api/v1/apps/%7B22222222-0000-0000-0000-000000000001%7D?state=failed');
      expect(bad.status).toBe(200);
      expect(bad.body.devices).toMatchObject([
        {
          deviceId: profiles.badhash.deviceId,
          state: 'failed',
          cspStatus: 60,
          statusCode: 200,
          lastErrorHex: '0x80091007',
          lastErrorDesc: 'The hash value is not correct.',
        },
      ]);
      expect((await api.get(`/api/v1/apps/${PFN}`)).body.app.app).toBe(`msix:${PFN}`);
      const missing = await api.get('/api/v1/apps/no-such-app');
      expect(missing.status).toBe(404);
      expect(missing.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect((await api.get(`/api/v1/apps/${encodeURIComponent(KEY)}?state=nope`)).status).toBe(400);

      const csv = await api.get(`/api/v1/apps/${encodeURIComponent(KEY)}?format=csv`);
      expect(csv.headers['content-type']).toMatch(/^text\/csv/);
      const lines = csv.text.trimEnd().split('\r\n');
      expect(lines[0]).toMatch(/^device_id,app,kind,name,policy,state,/);
      expect(lines).toHaveLength(4);
      const summary = (await api.get('/api/v1/apps?format=csv')).text.trimEnd().split('\r\n');
      expect(summary[0]).toBe(
        'app,kind,name,assigned,policies,versions,devices,pending,installing,installed,failed,conflict,removing,removed,not_applicable',
      );
      expect(summary.find((l) => l.startsWith(`${KEY},`))).toContain(
        ',true,tool tool-next,1.0.0 2.0.0,3,0,0,1,0,1,0,0,1',
      );

      const report = await api.get('/api/v1/reports/apps?state=installed');
      expect(report.body.items.map((r: { deviceId: string }) => r.deviceId).sort()).toEqual(
        [profiles.installer.deviceId, profiles.modern.deviceId].sort(),
      );
      const reportCsv = await api.call('GET', `/api/v1/reports/apps?deviceId=${profiles.badhash.deviceId}`, {
        headers: { accept: 'text/csv' },
      });
      expect(reportCsv.text).toContain(
        ',failed,{22222222-0000-0000-0000-000000000001},1.0.0,,60,200,-2146889721,0x80091007,',
      );

      const detail = await api.get(`/api/v1/devices/${profiles.installer.deviceId}`);
      expect(detail.status).toBe(200);
      expect(detail.body.apps).toMatchObject([
        {
          app: KEY,
          state: 'installed',
          appId: V2,
          desiredVersion: '2.0.0',
          installedVersion: '2.0.0',
          lastError: null,
        },
      ]);
    });

    /** The re-verification interval (verification.interval, 24 h by default) has passed for an app. */
    async function intervalPassed(name: Name, key = KEY) {
      const r = (await app(name, key))!;
      const past = new Date(Date.parse(r.nextCheckAt ?? r.updatedAt) - 24 * 3600_000).toISOString();
      await server.storage.apps.saveDeviceApps([{ ...r, nextCheckAt: past }]);
    }

    async function checkInUntil(name: Name, key: string, state: string) {
      for (let i = 0; i < 4 && (await app(name, key))?.state !== state; i++) await checkIn(name);
      return app(name, key);
    }

    it('re-verifies installed apps after the interval: removed outside MDM or at another version, they are re-installed', async () => {
      expect(devices.installer.apps.removeOutsideMdm('msi', V2)).toBe(true);
      await checkIn('installer'); // the interval has not passed: nothing is read
      expect(await app('installer')).toMatchObject({ state: 'installed', reinstalls: 0 });
      expect(devices.installer.apps.inventory()).toEqual([]);

      await intervalPassed('installer');
      await checkIn('installer'); // Status and Version answered 404: back to delivery
      expect(await app('installer')).toMatchObject({
        reinstalls: 1,
        reason: 're-install: the device no longer has the app (Status not found)',
      });
      expect(await checkInUntil('installer', KEY, 'installed')).toMatchObject({
        state: 'installed',
        installedId: V2,
        installedVersion: '2.0.0',
        reinstalls: 1,
        reason: null,
      });
      expect(devices.installer.apps.inventory().map((a) => [a.id, a.version])).toEqual([[V2, '2.0.0']]);

      expect(devices.installer.apps.changeVersionOutsideMdm('msi', V2, '1.5.0')).toBe(true);
      await intervalPassed('installer');
      await checkIn('installer');
      expect(await app('installer')).toMatchObject({
        reinstalls: 2,
        reason: 're-install: the device reports version 1.5.0, expected 2.0.0',
      });
      expect(await checkInUntil('installer', KEY, 'installed')).toMatchObject({
        installedVersion: '2.0.0',
        reinstalls: 2,
      });
      expect(devices.installer.apps.inventory().map((a) => [a.id, a.version])).toEqual([[V2, '2.0.0']]);

      const notes = `msix:${PFN}`;
      expect(devices.modern.apps.removeOutsideMdm('msix', PFN)).toBe(true);
      await intervalPassed('modern', notes);
      await checkIn('modern');
      expect(await app('modern', notes)).toMatchObject({
        reinstalls: 1,
        reason: 're-install: the device no longer has the app (inventory not found)',
      });
      expect(await checkInUntil('modern', notes, 'installed')).toMatchObject({ installedVersion: '3.1.0.0' });
      expect(devices.modern.apps.inventory()).toMatchObject([{ kind: 'msix', id: PFN, version: '3.1.0.0' }]);
      // Confirmed at the next verification, and not re-installed again.
      await intervalPassed('modern', notes);
      await checkIn('modern');
      expect(await app('modern', notes)).toMatchObject({ state: 'installed', reinstalls: 1 });
      expect((await app('modern', notes))?.verifiedAt).not.toBeNull();
    });

    it('uninstalls when unassigned', async () => {
      await apply(null);
      await checkIn('installer');
      expect(await app('installer')).toMatchObject({ state: 'removed', installedId: null, policy: null });
      expect(devices.installer.apps.inventory()).toEqual([]);
      expect(await app('old')).toMatchObject({ state: 'not_applicable' });
      await checkIn('old');
      expect(await app('old')).toMatchObject({ state: 'removed' });
    });
  });
});

async function fetchWithCa(
  server: TestServer,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Buffer }> {
  const https = await import('node:https');
  return new Promise((resolve, reject) => {
    const req = https.get(`${server.url}${path}`, { ca: server.tlsCertPem, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
  });
}
