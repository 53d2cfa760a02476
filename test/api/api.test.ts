// The admin API over real HTTPS on both databases: every answer is checked against the published
// OpenAPI document (test/support/api-client.ts). Three simulated devices enroll; a bulk command
// reaches all three and its results are read back; a policy bundle is validated, planned, applied,
// delivered and verified on the devices, and its status read through the API.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultCatalog } from '../../src/catalog/catalog.js';
import { createToken } from '../../src/services/tokens.js';
import { VirtualDevice } from '../../src/simulator/device.js';
import { makeProfile } from '../../src/simulator/profile.js';
import { type ApiClient, apiClient } from '../support/api-client.js';
import { describeBackends } from '../support/backends.js';
import { startTestServer, type TestServer } from '../support/server.js';

const USER = 'api@contoso.com';
const PASSWORD = 'Api-pass-1';
const CAMERA = './Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera';

const profiles = [
  makeProfile('api-a', { osVersion: '10.0.22631.4037', osEdition: '4' }),
  makeProfile('api-b', { osVersion: '10.0.22631.4037', osEdition: '4' }),
  makeProfile('api-c', { osVersion: '10.0.19045.4529', osEdition: '4' }),
];
const ids = profiles.map((p) => p.deviceId);

const GOOD_BUNDLE = {
  'camera-off.yaml': 'name: camera-off\nsettings:\n  - path: Camera/AllowCamera\n    value: 0\n',
  'assignments.yaml':
    'assignments:\n  - policy: camera-off\n    include: [all]\nverification:\n  interval: 0s\n',
};

describeBackends('admin API', (backend) => {
  let server: TestServer;
  let admin: ApiClient;
  let operator: ApiClient;
  let auditor: ApiClient;
  const tokens: Record<string, { id: string; token: string }> = {};
  const devices: VirtualDevice[] = [];

  beforeAll(async () => {
    server = await startTestServer({}, { backend });
    await server.addUser(USER, PASSWORD);
    for (const role of ['admin', 'operator', 'auditor'] as const) {
      tokens[role] = await createToken(server.storage, { name: `${role}-bot`, role, actor: 'test' });
    }
    admin = apiClient(server, tokens.admin!.token);
    operator = apiClient(server, tokens.operator!.token);
    auditor = apiClient(server, tokens.auditor!.token);
    const catalog = defaultCatalog();
    for (const profile of profiles) {
      const device = new VirtualDevice({ profile, catalog, tls: { ca: server.tlsCertPem } });
      await device.enroll(server.url, USER, PASSWORD);
      expect((await device.checkIn()).ok).toBe(true);
      devices.push(device);
    }
  });
  afterAll(async () => {
    for (const d of devices) d.close();
    await server?.close();
  });

  const checkInAll = async () => {
    for (const d of devices) expect((await d.checkIn()).ok).toBe(true);
  };

  describe('access', () => {
    it('answers 401 without a token, with a malformed one and with a revoked one', async () => {
      expect((await admin.get('/api/v1/devices', null)).status).toBe(401);
      expect((await admin.get('/api/v1/devices', 'mdm_not-a-token')).status).toBe(401);
      const t = await createToken(server.storage, { name: 'short-lived', role: 'admin', actor: 'test' });
      expect((await admin.get('/api/v1/devices', t.token)).status).toBe(200);
      const revoked = await admin.post(`/api/v1/tokens/${t.id}/revoke`);
      expect(revoked.status).toBe(200);
      expect(revoked.body.revokedAt).not.toBeNull();
      const after = await admin.get('/api/v1/devices', t.token);
      expect(after.status).toBe(401);
      expect(after.headers['www-authenticate']).toMatch(/invalid_token/);
    });

    it('refuses a role too weak with 403 and writes the refusal to the audit log', async () => {
      const denied = await auditor.post(`/api/v1/devices/${ids[0]}/actions/lock`);
      expect(denied.status).toBe(403);
      expect(denied.body.detail).toMatch(/operator/);
      expect((await operator.post('/api/v1/policies/apply', { files: GOOD_BUNDLE })).status).toBe(403);
      expect((await operator.get('/api/v1/tokens')).status).toBe(403);
      const log = await admin.get('/api/v1/audit?action=api.forbidden');
      expect(log.status).toBe(200);
      expect(log.body.items.map((e: { actor: string }) => e.actor)).toEqual(
        expect.arrayContaining(['auditor-bot', 'operator-bot']),
      );
      expect(JSON.stringify(log.body)).not.toContain(tokens.auditor!.token);
    });

    it('serves health, readiness and version without a token', async () => {
      expect((await admin.get('/healthz', null)).body).toEqual({ status: 'ok' });
      expect((await admin.get('/readyz', null)).body).toEqual({ status: 'ready', database: true });
      expect((await admin.get('/version', null)).body).toMatchObject({ name: 'windows-mdm-server' });
    });
  });

  describe('devices', () => {
    it('pages through the fleet with a cursor, in the order asked', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const path: string = `/api/v1/devices?limit=2&sort=deviceId&order=desc${cursor ? `&cursor=${cursor}` : ''}`;
        const res = await auditor.get(path);
        expect(res.status).toBe(200);
        expect(res.body.items.length).toBeLessThanOrEqual(2);
        seen.push(...res.body.items.map((d: { deviceId: string }) => d.deviceId));
        cursor = res.body.nextCursor;
        pages++;
      } while (cursor);
      expect(pages).toBe(2);
      expect(seen).toEqual([...ids].sort().reverse());
      const byCheckIn = await auditor.get('/api/v1/devices?limit=1&sort=lastCheckInAt');
      const next = await auditor.get(
        `/api/v1/devices?limit=5&sort=lastCheckInAt&cursor=${byCheckIn.body.nextCursor}`,
      );
      expect(
        [...byCheckIn.body.items, ...next.body.items].map((d: { deviceId: string }) => d.deviceId).sort(),
      ).toEqual([...ids].sort());
    });

    it('filters by status, user, OS version, check-in time and text', async () => {
      const q = async (query: string) =>
        ((await auditor.get(`/api/v1/devices?${query}`)).body.items as { deviceId: string }[]).map(
          (d) => d.deviceId,
        );
      expect((await q('status=enrolled')).sort()).toEqual([...ids].sort());
      expect(await q('status=unenrolled')).toEqual([]);
      expect(await q('osVersion=10.0.19045')).toEqual([ids[2]]);
      expect((await q(`user=${USER.toUpperCase()}`)).length).toBe(3);
      expect(await q(`q=${ids[1]!.slice(4, 14).toLowerCase()}`)).toEqual([ids[1]]);
      expect(await q('checkedInBefore=2000-01-01T00:00:00Z')).toEqual([]);
      expect((await q('checkedInAfter=2000-01-01T00:00:00Z')).length).toBe(3);
      expect((await q('compliance=unknown')).length).toBe(3);
      const csv = await auditor.get('/api/v1/devices?format=csv');
      expect(csv.headers['content-type']).toMatch(/^text\/csv/);
      expect(csv.text.split('\r\n')[0]).toMatch(
        /^deviceId,.*,status,.*,lastCheckInAt,complianceState,serialNumber$/,
      );
      expect(csv.text.trim().split('\r\n')).toHaveLength(4);
    });

    it('refuses bad list input with problem+json naming the parameter', async () => {
      for (const query of [
        'limit=0',
        'sort=color',
        'checkedInAfter=yesterday',
        'cursor=garbage',
        'nosuch=1',
        'format=xml',
      ]) {
        const res = await auditor.get(`/api/v1/devices?${query}`);
        expect(res.status, query).toBe(400);
      }
      expect((await auditor.get('/api/v1/devices?limit=0')).body.errors[0]).toMatchObject({
        in: 'query',
        path: 'limit',
      });
    });

    it('shows one device with inventory, check-in, settings, commands and events; 404 for an unknown one', async () => {
      const res = await auditor.get(`/api/v1/devices/${ids[0]}`);
      expect(res.status).toBe(200);
      expect(res.body.device.deviceId).toBe(ids[0]);
      expect(res.body.checkIn.sessions).toBeGreaterThanOrEqual(1);
      expect(res.body.inventory.find((i: { locUri: string }) => i.locUri === './DevDetail/SwV')?.value).toBe(
        '10.0.22631.4037',
      );
      expect((await auditor.get('/api/v1/devices/nope')).status).toBe(404);
    });

    it('runs device actions: wipe needs the DeviceID as confirmation, rename, retire', async () => {
      const noConfirm = await operator.post(`/api/v1/devices/${ids[2]}/actions/wipe`, {});
      expect(noConfirm.status).toBe(400);
      expect(noConfirm.body.errors[0].path).toBe('confirm');
      expect((await operator.post(`/api/v1/devices/${ids[2]}/actions/wipe`, { confirm: 'yes' })).status).toBe(
        400,
      );
      const lock = await operator.post(`/api/v1/devices/${ids[2]}/actions/lock`);
      expect(lock.status).toBe(202);
      const queued = await operator.get(`/api/v1/commands/${lock.body.commandId}`);
      expect(queued.body).toMatchObject({ state: 'pending', origin: 'action', actor: 'operator-bot' });
      expect(queued.body.command.items[0].target).toBe('./Vendor/MSFT/RemoteLock/Lock');
      const rename = await operator.post(`/api/v1/devices/${ids[2]}/actions/rename`, { name: 'Front desk' });
      expect(rename.status).toBe(200);
      expect((await auditor.get(`/api/v1/devices/${ids[2]}`)).body.device.name).toBe('Front desk');
      expect((await operator.post(`/api/v1/devices/${ids[2]}/actions/rename`, {})).status).toBe(400);
      expect((await operator.post(`/api/v1/devices/${ids[2]}/actions/explode`)).status).toBe(400);
      expect((await operator.post('/api/v1/devices/nope/actions/lock')).status).toBe(404);
      const sync = await operator.post(`/api/v1/devices/${ids[2]}/actions/sync`);
      expect(sync.status).toBe(202);
      expect(sync.body.push).toBe('unavailable');
      const audit = await auditor.get(`/api/v1/audit?deviceId=${ids[2]}&actor=operator-bot`);
      expect(audit.body.items.map((e: { action: string }) => e.action)).toEqual(
        expect.arrayContaining(['devices.lock', 'devices.rename', 'devices.sync']),
      );
      // The lock reaches the device in its next session.
      expect((await devices[2]!.checkIn()).ok).toBe(true);
      expect((await auditor.get(`/api/v1/commands/${lock.body.commandId}`)).body.state).toBe('done');
    });
  });

  describe('commands', () => {
    it('delivers a bulk Get to three devices and reads every result back', async () => {
      const res = await operator.post('/api/v1/commands', {
        devices: ids,
        command: { verb: 'Get', items: [{ target: './DevDetail/SwV' }] },
      });
      expect(res.status).toBe(201);
      expect(res.body.commands.map((c: { deviceId: string }) => c.deviceId)).toEqual(ids);
      await checkInAll();
      for (const [i, c] of (res.body.commands as { deviceId: string; id: string }[]).entries()) {
        const got = await auditor.get(`/api/v1/commands/${c.id}`);
        expect(got.body).toMatchObject({ deviceId: c.deviceId, state: 'done', statusCode: 200 });
        expect(got.body.nodes[0].results[0]).toMatchObject({
          locUri: './DevDetail/SwV',
          data: profiles[i]!.osVersion,
        });
      }
    });

    it('queues by device filter and for one device; cancels a pending command once', async () => {
      const byFilter = await operator.post('/api/v1/commands', {
        filter: { osVersion: '10.0.22631' },
        command: { verb: 'Get', items: [{ target: './DevDetail/OEM' }] },
      });
      expect(byFilter.status).toBe(201);
      expect(byFilter.body.commands.map((c: { deviceId: string }) => c.deviceId).sort()).toEqual(
        [ids[0], ids[1]].sort(),
      );
      const one = await operator.post(`/api/v1/devices/${ids[0]}/commands`, {
        command: { verb: 'Replace', items: [{ target: CAMERA, format: 'int', data: '1' }] },
        tag: 'manual',
      });
      expect(one.status).toBe(201);
      expect(one.headers.location).toBe(`/api/v1/commands/${one.body.id}`);
      const cancelled = await operator.post(`/api/v1/commands/${one.body.id}/cancel`);
      expect(cancelled.status).toBe(200);
      expect(cancelled.body.state).toBe('cancelled');
      expect((await operator.post(`/api/v1/commands/${one.body.id}/cancel`)).status).toBe(409);
      expect((await operator.post('/api/v1/commands/nope/cancel')).status).toBe(404);
      expect((await auditor.get('/api/v1/commands/nope')).status).toBe(404);
      await checkInAll();
    });

    it('refuses commands as mdm commands add does, and bad bodies', async () => {
      const bad = async (body: unknown, status = 400, path = `/api/v1/devices/${ids[0]}/commands`) => {
        const res = await operator.post(path, body);
        expect(res.status, JSON.stringify(body)).toBe(status);
        return res.body;
      };
      expect((await bad({ command: { verb: 'Get', items: [{ target: 'DevDetail/SwV' }] } })).detail).toMatch(
        /starts with \.\//,
      );
      expect(
        (await bad({ command: { verb: 'Exec', items: [{ target: './A' }, { target: './B' }] } })).detail,
      ).toMatch(/exactly one item/);
      await bad({ command: { verb: 'Atomic', commands: [{ verb: 'Get', items: [{ target: './A' }] }] } });
      await bad({ command: { verb: 'Launch', items: [] } });
      await bad({ command: { verb: 'Get', items: [{ target: './A' }] }, extra: 1 });
      await bad(
        { command: { verb: 'Get', items: [{ target: './A' }] } },
        404,
        '/api/v1/devices/nope/commands',
      );
      await bad(
        { command: { verb: 'Get', items: [{ target: './A' }] }, devices: [ids[0], 'nope'] },
        409,
        '/api/v1/commands',
      );
      await bad({ command: { verb: 'Get', items: [{ target: './A' }] } }, 400, '/api/v1/commands');
      const notJson = await operator.call('POST', `/api/v1/devices/${ids[0]}/commands`, {
        raw: '{"command":',
      });
      expect(notJson.status).toBe(400);
      const wrongType = await operator.call('POST', `/api/v1/devices/${ids[0]}/commands`, {
        raw: 'command=x',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expect(wrongType.status).toBe(415);
      // Nothing of the refused bulk command was queued.
      const pending = await server.storage.commands.listForDevice(ids[0]!, { states: ['pending'] });
      expect(pending.filter((c) => JSON.stringify(c.command).includes('"./A"'))).toEqual([]);
    });
  });

  describe('policies', () => {
    it('validates a document with file:line:col diagnostics', async () => {
      const bad = await auditor.post('/api/v1/policies/validate', {
        file: 'camera.yaml',
        text: 'name: camera\nsettings:\n  - path: Camera/AllowCamera\n    value: 7\n',
      });
      expect(bad.status).toBe(200);
      expect(bad.body.ok).toBe(false);
      expect(bad.body.issues[0]).toMatchObject({ file: 'camera.yaml', line: 4, severity: 'error' });
      const good = await auditor.post('/api/v1/policies/validate', { files: GOOD_BUNDLE });
      expect(good.body).toMatchObject({ ok: true, kind: 'folder', errors: 0 });
      expect(
        (await auditor.post('/api/v1/policies/validate', { files: { '../x.yaml': 'a: 1' } })).status,
      ).toBe(400);
      expect((await auditor.post('/api/v1/policies/validate', { file: 'x.yaml' })).status).toBe(400);
    });

    it('plans, refuses a broken folder without storing, applies, delivers, verifies and reports', async () => {
      const before = await server.storage.policies.currentRevision();
      const plan = await auditor.post('/api/v1/policies/plan', { files: GOOD_BUNDLE });
      expect(plan.status).toBe(200);
      expect(plan.body.valid).toBe(true);
      expect(plan.body.revision).toBeUndefined();
      expect(plan.body.plan[0]).toMatchObject({ group: 'all', devices: 3 });
      expect(plan.body.plan[0].added.map((s: { path: string }) => s.path)).toContain(CAMERA);
      const broken = await admin.post('/api/v1/policies/apply', {
        files: {
          ...GOOD_BUNDLE,
          'broken.yaml': 'name: broken\nsettings:\n  - path: Camera/NoSuchThing\n    value: 1\n',
        },
      });
      expect(broken.status).toBe(422);
      expect(broken.body.issues.find((i: { file: string }) => i.file === 'broken.yaml')).toMatchObject({
        line: 3,
      });
      expect(await server.storage.policies.currentRevision()).toBe(before);
      const applied = await admin.post('/api/v1/policies/apply', { files: GOOD_BUNDLE });
      expect(applied.status).toBe(200);
      expect(applied.body).toMatchObject({ valid: true, created: true, revision: before + 1 });
      const again = await admin.post('/api/v1/policies/apply', { files: GOOD_BUNDLE });
      expect(again.body).toMatchObject({ created: false, revision: before + 1 });
      await checkInAll();
      for (const d of devices) expect(d.tree.get(CAMERA)?.value).toBe('0');
      const status = await auditor.get('/api/v1/policies/camera-off/status');
      expect(status.status).toBe(200);
      expect(status.body.settings.verified).toBe(3);
      expect(status.body.devices.map((d: { deviceId: string }) => d.deviceId).sort()).toEqual(
        [...ids].sort(),
      );
      const list = await auditor.get('/api/v1/policies');
      expect(list.body.items).toEqual([
        expect.objectContaining({
          name: 'camera-off',
          active: true,
          version: 1,
          settings: expect.objectContaining({ verified: 3 }),
        }),
      ]);
      const one = await auditor.get('/api/v1/policies/camera-off');
      expect(one.body.definition).toMatchObject({ name: 'camera-off' });
      expect((await auditor.get('/api/v1/policies/nope')).status).toBe(404);
      const revisions = await auditor.get('/api/v1/policy-revisions');
      expect(revisions.body.items[0].revision).toBe(before + 1);
      const diff = await auditor.get(`/api/v1/policy-revisions/${before + 1}/diff`);
      expect(diff.status).toBe(200);
      expect(diff.body.changes.length).toBeGreaterThan(0);
      expect((await auditor.get('/api/v1/policy-revisions/999/diff')).status).toBe(404);
      const report = await auditor.get(`/api/v1/reports/settings?policy=camera-off&state=verified`);
      expect(report.body.items).toHaveLength(3);
      const summary = await auditor.get('/api/v1/reports/settings/summary?format=csv');
      expect(summary.text).toMatch(/^path,policy,devices,states\r\n/);
      const compliance = await auditor.get('/api/v1/compliance');
      expect(compliance.body.devices).toHaveLength(3);
      const audit = await auditor.get('/api/v1/audit?action=policy.');
      expect(audit.body.items[0]).toMatchObject({ actor: 'admin-bot', action: 'policy.apply' });
    });
  });

  describe('apps', () => {
    const record = (deviceId: string, appKey: string, name: string, state: 'installed' | 'removed') => ({
      deviceId,
      appKey,
      kind: 'msi' as const,
      state,
      policy: state === 'removed' ? null : 'tools',
      name,
      appId: appKey.slice(4),
      desiredVersion: '1.0.0',
      plan: null,
      installedId: null,
      installedVersion: state === 'installed' ? '1.0.0' : null,
      cspStatus: state === 'installed' ? 70 : null,
      statusCode: 200,
      lastError: null,
      lastErrorDesc: null,
      reason: state === 'removed' ? 'unassigned' : null,
      attempts: 1,
      nextRetryAt: null,
      sentAt: '2026-01-01T00:00:00.000Z',
      installedAt: '2026-01-01T00:10:00.000Z',
      verifiedAt: '2026-01-01T00:10:00.000Z',
      nextCheckAt: '2026-01-02T00:10:00.000Z',
      reinstalls: 0,
      updatedAt: '2026-01-01T00:10:00.000Z',
    });
    const A = 'msi:{0A000000-0000-0000-0000-000000000001}';
    const B = 'msi:{0B000000-0000-0000-0000-000000000001}';

    it('lists apps that only device records still name, finds one by key or ProductCode, and refuses an ambiguous name', async () => {
      await server.storage.apps.saveDeviceApps([
        record('API-APPS-1', A, 'Contoso Tool', 'installed'),
        record('API-APPS-2', A, 'Contoso Tool', 'removed'),
        record('API-APPS-1', B, 'Contoso Tool', 'removed'),
      ]);
      const list = await auditor.get('/api/v1/apps');
      expect(list.status).toBe(200);
      expect(list.body.items).toMatchObject([
        { app: A, assigned: false, versions: [], devices: 2, states: { installed: 1, removed: 1 } },
        { app: B, assigned: false, devices: 1, states: { removed: 1 } },
      ]);
      const one = await auditor.get(`/api/v1/apps/${encodeURIComponent(A)}`);
      expect(one.body.devices.map((d: { deviceId: string }) => d.deviceId)).toEqual([
        'API-APPS-1',
        'API-APPS-2',
      ]);
      const byProduct = await auditor.get('/api/v1/apps/0b000000-0000-0000-0000-000000000001');
      expect(byProduct.body.app.app).toBe(B);
      const ambiguous = await auditor.get('/api/v1/apps/contoso%20tool');
      expect(ambiguous.status).toBe(409);
      expect(ambiguous.body.detail).toContain(A);
      const removed = await auditor.get('/api/v1/reports/apps?state=removed&format=csv');
      expect(removed.headers['content-type']).toMatch(/^text\/csv/);
      expect(removed.text.trimEnd().split('\r\n')).toHaveLength(3);
      expect((await auditor.get('/api/v1/reports/apps?state=gone')).status).toBe(400);
      expect((await auditor.get('/api/v1/apps?format=xml')).status).toBe(400);
    });
  });

  describe('catalog, users, tokens, audit', () => {
    it('searches the catalog and shows one node, with suggestions for a wrong path', async () => {
      const hits = await auditor.get('/api/v1/catalog/search?q=camera%20allow&limit=5');
      expect(hits.body.items.map((n: { path: string }) => n.path)).toContain(CAMERA);
      const node = await auditor.get(`/api/v1/catalog/node?path=${encodeURIComponent(CAMERA)}`);
      expect(node.body.node).toMatchObject({ path: CAMERA, format: 'int' });
      const missing = await auditor.get(`/api/v1/catalog/node?path=${encodeURIComponent(`${CAMERA}x`)}`);
      expect(missing.status).toBe(404);
      expect(missing.body.didYouMean).toContain(CAMERA);
      expect((await auditor.get('/api/v1/catalog/search')).status).toBe(400);
    });

    it('adds and removes users; creates tokens with roles; never shows a secret', async () => {
      const added = await admin.post('/api/v1/users', { upn: 'new@contoso.com', password: 'Secret-pass-9' });
      expect(added.status).toBe(201);
      expect((await admin.post('/api/v1/users', { upn: 'new@contoso.com', password: 'x' })).status).toBe(409);
      expect((await admin.post('/api/v1/users', { upn: 'has space', password: 'x' })).status).toBe(400);
      expect((await auditor.get('/api/v1/users')).body.items.map((u: { upn: string }) => u.upn)).toContain(
        'new@contoso.com',
      );
      expect((await admin.call('DELETE', '/api/v1/users/new@contoso.com')).status).toBe(204);
      expect((await admin.call('DELETE', '/api/v1/users/new@contoso.com')).status).toBe(404);
      const created = await admin.post('/api/v1/tokens', { name: 'ci' });
      expect(created.status).toBe(201);
      expect(created.body.role).toBe('auditor');
      expect((await auditor.get('/api/v1/devices', created.body.token)).status).toBe(200);
      expect((await admin.post('/api/v1/tokens', { name: 'x', role: 'root' })).status).toBe(400);
      const listed = await admin.get('/api/v1/tokens');
      expect(listed.text).not.toContain(created.body.token);
      expect(listed.text).not.toContain('hash');
      const audit = await admin.get('/api/v1/audit?actor=admin-bot&limit=500');
      expect(audit.text).not.toContain('Secret-pass-9');
      expect(audit.text).not.toContain(created.body.token);
      expect(audit.body.items.map((e: { action: string }) => e.action)).toEqual(
        expect.arrayContaining([
          'users.add',
          'users.remove',
          'tokens.create',
          'tokens.revoke',
          'policy.apply',
        ]),
      );
      expect((await admin.post('/api/v1/tokens/nope/revoke')).status).toBe(404);
    });

    it('pages through the audit log newest first', async () => {
      const all = (await auditor.get('/api/v1/audit?limit=500')).body.items as { id: number }[];
      expect(all.length).toBeGreaterThan(3);
      const paged: number[] = [];
      let cursor: string | null = null;
      do {
        const path: string = `/api/v1/audit?limit=3${cursor ? `&cursor=${cursor}` : ''}`;
        const res = await auditor.get(path);
        paged.push(...res.body.items.map((e: { id: number }) => e.id));
        cursor = res.body.nextCursor;
      } while (cursor);
      expect(paged).toEqual(all.map((e) => e.id));
      expect((await auditor.get('/api/v1/audit?since=not-a-date')).status).toBe(400);
    });

    it('retires a device: pending commands cancelled, enrollment ended', async () => {
      const q = await operator.post(`/api/v1/devices/${ids[2]}/commands`, {
        command: { verb: 'Get', items: [{ target: './DevDetail/FwV' }] },
      });
      expect((await operator.post(`/api/v1/devices/${ids[2]}/actions/retire`, {})).status).toBe(400);
      const retired = await operator.post(`/api/v1/devices/${ids[2]}/actions/retire`, { confirm: ids[2] });
      expect(retired.status).toBe(200);
      expect(retired.body.cancelledCommands).toBe(1);
      expect((await auditor.get(`/api/v1/commands/${q.body.id}`)).body.state).toBe('cancelled');
      expect((await auditor.get(`/api/v1/devices/${ids[2]}`)).body.device.status).toBe('unenrolled');
      expect((await operator.post(`/api/v1/devices/${ids[2]}/actions/lock`)).status).toBe(409);
    });
  });
});

describe('admin API rate limit and document', () => {
  let server: TestServer;
  let client: ApiClient;
  beforeAll(async () => {
    server = await startTestServer({ apiRateLimit: 3 });
    client = apiClient(
      server,
      (await createToken(server.storage, { name: 'busy', role: 'auditor', actor: 'test' })).token,
    );
  });
  afterAll(async () => {
    await server?.close();
  });

  it('answers 429 with Retry-After past the per-token limit', async () => {
    for (let i = 0; i < 3; i++) expect((await client.get('/api/v1/users')).status).toBe(200);
    const limited = await client.get('/api/v1/users');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    const other = await createToken(server.storage, { name: 'other', role: 'auditor', actor: 'test' });
    expect((await client.get('/api/v1/users', other.token)).status).toBe(200);
  });

  it('publishes the OpenAPI document and a reference page without a token', async () => {
    const doc = await client.get('/api/v1/openapi.json', null);
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe('3.1.0');
    const page = await client.get('/api/v1/docs', null);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.text).toContain('/api/v1/devices/{id}/commands');
  });
});
