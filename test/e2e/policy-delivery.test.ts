// End to end over real HTTPS: simulated Windows devices enroll, check in and receive the policies
// of a policy folder. One applies and verifies, one rejects a setting with 500, one drifts between
// sessions, one has a conflict, one cannot apply a setting (old OS, nobody logged on); a setting is
// then unassigned with `mdm policy apply` and removed. Compliance (with a grace period and a
// remediation policy) and the reports (CLI table/CSV, admin API, /metrics) show every state.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultCatalog } from '../../src/catalog/catalog.js';
import { buildProgram } from '../../src/cli/index.js';
import { createLogger } from '../../src/logger.js';
import { VirtualDevice } from '../../src/simulator/device.js';
import { makeProfile } from '../../src/simulator/profile.js';
import type { DeviceSettingRecord } from '../../src/storage/device-settings.js';
import { describeBackends } from '../support/backends.js';
import { request } from '../support/enroll-client.js';
import { startTestServer, type TestServer } from '../support/server.js';

const USER = 'policy@contoso.com';
const PASSWORD = 'Policy-pass-1';
const CAMERA = './Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera';
const CORTANA = './Device/Vendor/MSFT/Policy/Config/Experience/AllowCortana';
const PASSWORD_POLICY = './Device/Vendor/MSFT/Policy/Config/DeviceLock/DevicePasswordEnabled';
const ENTERPRISE_AUTH =
  './Device/Vendor/MSFT/Policy/Config/Accounts/RestrictToEnterpriseDeviceAuthenticationOnly';
const USER_TAILORED = './User/Vendor/MSFT/Policy/Config/Start/HideAppList';
const FIREWALL = './Vendor/MSFT/DeviceStatus/Firewall/Status';

const profiles = {
  ok: makeProfile('policy-ok', { osVersion: '10.0.22631.4037', osEdition: '4' }),
  failing: makeProfile('policy-failing', { osVersion: '10.0.22631.4037', osEdition: '4' }),
  drifting: makeProfile('policy-drifting', {
    osVersion: '10.0.22631.4037',
    osEdition: '4',
    nodes: { [FIREWALL]: '1' },
  }),
  conflicted: makeProfile('policy-conflicted', {
    osVersion: '10.0.22631.4037',
    osEdition: '48',
    nodes: { [FIREWALL]: '1' },
  }),
  old: makeProfile('policy-old', { osVersion: '10.0.19045.4529', osEdition: '4', loginStatus: 'none' }),
};

const POLICIES: Record<string, string> = {
  'camera-off.yaml': 'name: camera-off\nsettings:\n  - path: Camera/AllowCamera\n    value: 0\n',
  'camera-on.yaml': 'name: camera-on\nsettings:\n  - path: Camera/AllowCamera\n    value: 1\n',
  'cortana-off.yaml': 'name: cortana-off\nsettings:\n  - path: Experience/AllowCortana\n    value: 0\n',
  'enterprise-auth.yaml':
    'name: enterprise-auth\nsettings:\n  - path: Accounts/RestrictToEnterpriseDeviceAuthenticationOnly\n    value: 1\n',
  'user-tailored.yaml':
    'name: user-tailored\ntarget:\n  scope: user\nsettings:\n  - path: Start/HideAppList\n    value: 1\n',
  'password-on.yaml':
    'name: password-on\nsettings:\n  - path: DeviceLock/DevicePasswordEnabled\n    value: 0\n',
};

const assignments = (cameraGroups: string) => `groups:
  - name: failing
    devices: [${profiles.failing.deviceId}]
  - name: conflicted
    devices: [${profiles.conflicted.deviceId}]
  - name: old-os
    rules:
      - osVersion: { max: "10.0.19045.99999" }
  - name: camera-devices
    devices: [${profiles.ok.deviceId}]
assignments:
  - policy: camera-off
    include: [${cameraGroups}]
  - policy: camera-on
    include: [conflicted]
  - policy: cortana-off
    include: [failing]
  - policy: enterprise-auth
    include: [all]
    exclude: [conflicted]
  - policy: user-tailored
    include: [all]
    exclude: [conflicted]
verification:
  interval: 0s
  maxDriftRetries: 1
  maxFailureRetries: 1
  failureRetryDelay: 0s
`;

const COMPLIANCE = `rules:
  - name: firewall-on
    exclude: [conflicted]
    require:
      firewall: true
    actions:
      - notify: log
      - remediate: password-on
  - name: firewall-grace
    include: [conflicted]
    gracePeriod: 24h
    require:
      firewall: true
`;

describeBackends('policy delivery', (backend) => {
  let server: TestServer;
  /** What the server logged at warn level and above. */
  const warnings: string[] = [];
  let root: string;
  let policyDir: string;
  let configFile: string;
  const devices: Record<keyof typeof profiles, VirtualDevice> = {} as never;

  async function mdm(...args: string[]): Promise<{ stdout: string; exitCode: number }> {
    const out: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    const writeErr = process.stderr.write.bind(process.stderr);
    process.stdout.write = ((chunk: string) => out.push(String(chunk)) > 0) as typeof process.stdout.write;
    process.stderr.write = (() => true) as typeof process.stderr.write;
    const before = process.exitCode;
    process.exitCode = 0;
    try {
      await buildProgram().parseAsync(['node', 'mdm', '--config', configFile, ...args]);
      return { stdout: out.join(''), exitCode: Number(process.exitCode ?? 0) };
    } finally {
      process.stdout.write = write;
      process.stderr.write = writeErr;
      process.exitCode = before;
    }
  }

  async function settings(name: keyof typeof profiles): Promise<Record<string, DeviceSettingRecord>> {
    const list = await server.storage.deviceSettings.listDeviceSettings(profiles[name].deviceId);
    return Object.fromEntries(list.map((r) => [r.path, r]));
  }

  async function checkIn(name: keyof typeof profiles) {
    const report = await devices[name].checkIn();
    expect(report.ok).toBe(true);
  }

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'mdm-policy-e2e-'));
    policyDir = join(root, 'policies');
    mkdirSync(policyDir, { recursive: true });
    for (const [file, text] of Object.entries(POLICIES)) writeFileSync(join(policyDir, file), text);
    writeFileSync(join(policyDir, 'assignments.yaml'), assignments('all'));
    writeFileSync(join(policyDir, 'compliance.yaml'), COMPLIANCE);
    const sink = new Writable({
      write(chunk, _enc, done) {
        warnings.push(String(chunk));
        done();
      },
    });
    server = await startTestServer({ policyDir }, { backend, logger: createLogger('warn', sink) });
    configFile = join(server.dataDir, '..', 'mdm.yaml');
    writeFileSync(configFile, server.configYaml(`policyDir: ${policyDir}\n`));
    await server.addUser(USER, PASSWORD);
    const catalog = defaultCatalog();
    for (const [name, profile] of Object.entries(profiles)) {
      const device = new VirtualDevice({
        profile,
        catalog,
        tls: { ca: server.tlsCertPem },
        faults: {
          ...(name === 'failing' ? { failPaths: [CORTANA] } : {}),
          ...(name === 'drifting' ? { drift: [{ path: CAMERA, value: '1' }] } : {}),
        },
      });
      await device.enroll(server.url, USER, PASSWORD);
      devices[name as keyof typeof profiles] = device;
    }
  });
  afterAll(async () => {
    for (const d of Object.values(devices)) d.close();
    await server?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  describe('policy delivery end to end', () => {
    it('stores the policy folder at server start', async () => {
      const set = await server.storage.policies.currentPolicySet();
      expect(set.policies.map((p) => p.name).sort()).toEqual([
        'camera-off',
        'camera-on',
        'cortana-off',
        'enterprise-auth',
        'password-on',
        'user-tailored',
      ]);
    });

    it('applies and verifies settings by reading them back in the same session', async () => {
      await checkIn('ok');
      const s = await settings('ok');
      expect(s[CAMERA]).toMatchObject({
        state: 'verified',
        policy: 'camera-off',
        deliveredValue: '0',
        reportedValue: '0',
      });
      expect(s[USER_TAILORED]).toMatchObject({ state: 'verified', reportedValue: '1' });
      expect(s[ENTERPRISE_AUTH]?.state).toBe('verified');
      expect(devices.ok.tree.get(CAMERA)?.value).toBe('0');
    });

    it('records a setting the device rejects with 500 as failed with its status, after a bounded retry', async () => {
      // failureRetryDelay 0s: the one retry allowed is due at once and goes out in the same session.
      await checkIn('failing');
      const s = await settings('failing');
      expect(s[CORTANA]).toMatchObject({
        state: 'failed',
        statusCode: 500,
        failRetries: 1,
        nextCheckAt: null,
      });
      expect(s[CORTANA]?.reason).toBe('apply failed: command failed on the device (gave up after 1 retry)');
      expect(s[CAMERA]?.state).toBe('verified');
      await checkIn('failing'); // final: not sent again
      expect((await settings('failing'))[CORTANA]?.updatedAt).toBe(s[CORTANA]?.updatedAt);
    });

    it('reports conflicts without delivering them, and not-applicable settings', async () => {
      await checkIn('conflicted');
      await checkIn('old');
      const conflicted = await settings('conflicted');
      expect(conflicted[CAMERA]).toMatchObject({ state: 'conflict' });
      expect(conflicted[CAMERA]?.reason).toBe('conflict: camera-off sets "0", camera-on sets "1"');
      expect(devices.conflicted.tree.get(CAMERA)).toBeUndefined();
      const old = await settings('old');
      expect(old[ENTERPRISE_AUTH]).toMatchObject({ state: 'not_applicable' });
      expect(old[ENTERPRISE_AUTH]?.reason).toMatch(/requires OS build 10\.0\.22621/);
      expect(old[USER_TAILORED]).toMatchObject({
        state: 'not_applicable',
        reason: 'user-scoped setting and no user is logged on',
      });
      expect(old[CAMERA]?.state).toBe('verified');
    });

    it('detects drift, re-applies once, then reports the setting drifted', async () => {
      await checkIn('drifting');
      expect((await settings('drifting'))[CAMERA]?.state).toBe('verified');
      await checkIn('drifting'); // the device changed the camera to 1 before this session
      const healed = (await settings('drifting'))[CAMERA]!;
      expect(healed).toMatchObject({ state: 'verified', driftRetries: 1, reportedValue: '0' });
      await checkIn('drifting');
      const drifted = (await settings('drifting'))[CAMERA]!;
      expect(drifted).toMatchObject({ state: 'drifted', reportedValue: '1' });
      expect(drifted.reason).toMatch(/drift persists after 1 re-applies: device reports "1", expected "0"/);
    });

    it('evaluates compliance with grace periods and remediates', async () => {
      const c = async (name: keyof typeof profiles) =>
        server.storage.compliance.getCompliance(profiles[name].deviceId);
      expect(await c('ok')).toMatchObject({ state: 'compliant', reasons: [] });
      expect(await c('conflicted')).toMatchObject({
        state: 'in_grace',
        reasons: ['firewall-grace: firewall disabled'],
      });
      expect((await c('conflicted'))?.graceEndsAt).not.toBeNull();
      expect(await c('drifting')).toMatchObject({ state: 'noncompliant', actionsDone: ['firewall-on'] });
      // The remediation policy reached the noncompliant device only.
      expect((await settings('drifting'))[PASSWORD_POLICY]).toMatchObject({
        state: 'verified',
        policy: 'password-on',
      });
      expect((await settings('ok'))[PASSWORD_POLICY]).toBeUndefined();
    });

    it('removes an unassigned setting with Delete after mdm policy apply', async () => {
      writeFileSync(join(policyDir, 'assignments.yaml'), assignments('camera-devices'));
      const dry = await mdm('policy', 'apply', '--dry-run');
      expect(dry.stdout).toContain(`  - ${CAMERA} (was 0, camera-off)`);
      expect(dry.stdout).toContain('dry run: nothing stored');
      const applied = await mdm('policy', 'apply');
      expect(applied.exitCode).toBe(0);
      expect(applied.stdout).toMatch(/stored revision 2/);
      await checkIn('failing');
      expect((await settings('failing'))[CAMERA]).toMatchObject({ state: 'removed', desiredValue: null });
      expect(devices.failing.tree.get(CAMERA)).toBeUndefined();
      await checkIn('ok');
      expect((await settings('ok'))[CAMERA]?.state).toBe('verified'); // still targeted through its group
    });

    it('refuses an invalid folder and stores nothing', async () => {
      writeFileSync(
        join(policyDir, 'broken.yaml'),
        'name: broken\nsettings:\n  - path: Camera/AllowCamera\n    value: 7\n',
      );
      const result = await mdm('policy', 'apply');
      expect(result.exitCode).toBe(1);
      expect((await server.storage.policies.currentPolicySet()).revision).toBe(2);
      rmSync(join(policyDir, 'broken.yaml'));
    });

    it('reports every state in the CLI, CSV, the admin API and /metrics', async () => {
      const table = (await mdm('report', 'compliance')).stdout;
      expect(table).toMatch(new RegExp(`${profiles.drifting.deviceId}\\s+\\S+\\s+noncompliant`));
      const json = JSON.parse((await mdm('report', 'compliance', '--format', 'json')).stdout) as {
        devices: { deviceId: string; state: string; reasons: string[] }[];
      };
      expect(json.devices.find((d) => d.deviceId === profiles.ok.deviceId)?.state).toBe('compliant');
      expect(json.devices.find((d) => d.deviceId === profiles.conflicted.deviceId)).toMatchObject({
        state: 'in_grace',
        reasons: ['firewall-grace: firewall disabled'],
      });
      const csv = (await mdm('report', 'compliance', '--format', 'csv')).stdout;
      const rows = csv.trim().split('\r\n');
      expect(rows[0]).toMatch(/^device_id,user,enrolled,compliance_state,/);
      expect(
        rows.some(
          (r) => r.startsWith(profiles.failing.deviceId) && r.includes(`cortana-off,${CORTANA},failed`),
        ),
      ).toBe(true);
      expect(rows.some((r) => r.includes(`${CAMERA},removed`))).toBe(true);
      expect(rows.some((r) => r.includes(`${CAMERA},conflict`))).toBe(true);
      expect(rows.some((r) => r.includes(`${ENTERPRISE_AUTH},not_applicable`))).toBe(true);
      expect(rows.some((r) => r.includes(`${CAMERA},drifted`))).toBe(true);

      const token = (await mdm('tokens', 'create', '--name', 'auditor')).stdout.trim();
      const tls = { ca: server.tlsCertPem };
      const get = (path: string, auth?: string) =>
        request(`${server.url}${path}`, {
          method: 'GET',
          headers: auth ? { Authorization: auth } : {},
          ...tls,
        });
      const denied = await get('/api/v1/compliance');
      expect(denied.status).toBe(401);
      expect(denied.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect((await get('/api/v1/compliance', 'Bearer mdm_wrong')).status).toBe(401);
      const all = await get('/api/v1/compliance', `Bearer ${token}`);
      expect(all.status).toBe(200);
      const states = Object.fromEntries(
        (JSON.parse(all.body) as { devices: { deviceId: string; state: string }[] }).devices.map((d) => [
          d.deviceId,
          d.state,
        ]),
      );
      expect(states[profiles.conflicted.deviceId]).toBe('in_grace');
      expect(states[profiles.drifting.deviceId]).toBe('noncompliant');
      const one = await get(`/api/v1/devices/${profiles.failing.deviceId}/compliance`, `Bearer ${token}`);
      expect(JSON.parse(one.body).settingDetails).toContainEqual(
        expect.objectContaining({ path: CORTANA, state: 'failed', statusCode: 500 }),
      );
      const missing = await get('/api/v1/devices/NOPE/compliance', `Bearer ${token}`);
      expect(missing.status).toBe(404);
      expect(JSON.parse(missing.body)).toMatchObject({ status: 404, title: 'Not Found' });
      const status = JSON.parse((await get('/api/v1/policies/camera-off/status', `Bearer ${token}`)).body);
      expect(status).toMatchObject({ name: 'camera-off', active: true, version: 1 });
      expect(status.settings).toMatchObject({ verified: 2, removed: 1, drifted: 1, failed: 0 });
      const csvApi = await get('/api/v1/compliance?format=csv', `Bearer ${token}`);
      expect(csvApi.headers['content-type']).toMatch(/^text\/csv/);

      const metrics = await get('/metrics');
      expect(metrics.body).toMatch(/mdm_devices\{compliance_state="noncompliant"\} 1/);
      expect(metrics.body).toMatch(/mdm_policy_settings\{state="failed"\} 1/);
      expect(metrics.body).toMatch(
        /mdm_command_outcomes_total\{origin="policy",verb="Get",class="2xx"\} \d+/,
      );
      expect(metrics.body).toMatch(/mdm_checkins_total \d+/);
    });

    it('never had to queue a lost policy command again (every exchange committed)', () => {
      expect(warnings.some((w) => w.includes('device is noncompliant'))).toBe(true); // the log is captured
      expect(warnings.filter((w) => w.includes('policy commands lost'))).toEqual([]);
    });
  });
});
