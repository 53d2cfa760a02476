// Webhooks to a local receiver: Standard Webhooks signatures verified, a delivery retried after the
// receiver fails twice, and an undelivered event kept across a server restart. Events come from
// real changes: an enrollment, a check-in, a device action's answer, a policy apply through the API.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { defaultCatalog } from '../../src/catalog/catalog.js';
import { createToken } from '../../src/services/tokens.js';
import { VirtualDevice } from '../../src/simulator/device.js';
import { makeProfile } from '../../src/simulator/profile.js';
import { verifyWebhook } from '../../src/webhooks/sign.js';
import { apiClient } from '../support/api-client.js';
import { describeBackends } from '../support/backends.js';
import { startTestServer, type TestServer } from '../support/server.js';

const SECRET = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;

interface Received {
  readonly id: string;
  readonly type: string;
  readonly data: Record<string, unknown>;
  readonly verified: boolean;
}

/** A receiver that answers 500 to the first `failFirst` deliveries of each event id. */
async function startReceiver(failFirst: () => number) {
  const received: Received[] = [];
  const attempts = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const id = String(req.headers['webhook-id']);
      const n = (attempts.get(id) ?? 0) + 1;
      attempts.set(id, n);
      if (n <= failFirst()) {
        res.writeHead(500).end();
        return;
      }
      const verified = verifyWebhook(
        SECRET,
        {
          id,
          timestamp: String(req.headers['webhook-timestamp']),
          signature: String(req.headers['webhook-signature']),
        },
        body,
      );
      const parsed = JSON.parse(body) as { type: string; data: Record<string, unknown> };
      received.push({ id, type: parsed.type, data: parsed.data, verified });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return { url, received, attempts, close: () => new Promise<void>((r) => server.close(() => r())) };
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 20_000) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describeBackends('webhooks', (backend) => {
  let failures = 2;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let server: TestServer;
  let device: VirtualDevice;

  beforeAll(async () => {
    receiver = await startReceiver(() => failures);
  });
  afterAll(async () => {
    device?.close();
    await server?.close();
    await receiver?.close();
  });

  const config = () => ({
    webhooks: [{ url: receiver.url, secret: SECRET, events: [] }],
    webhookRetrySeconds: [0, 0, 0],
  });

  it('signs every event, retries after two failures, and reports delivery state', async () => {
    server = await startTestServer(config(), { backend });
    await server.addUser('hook@contoso.com', 'Hook-pass-1');
    device = new VirtualDevice({
      profile: makeProfile('hook-1'),
      catalog: defaultCatalog(),
      tls: { ca: server.tlsCertPem },
    });
    await device.enroll(server.url, 'hook@contoso.com', 'Hook-pass-1');
    expect((await device.checkIn()).ok).toBe(true);
    const token = await createToken(server.storage, { name: 'hooks', role: 'admin', actor: 'test' });
    const api = apiClient(server, token.token);
    const lock = await api.post(`/api/v1/devices/${device.profile.deviceId}/actions/lock`);
    expect(lock.status).toBe(202);
    expect((await device.checkIn()).ok).toBe(true);
    const applied = await api.post('/api/v1/policies/apply', {
      files: {
        'camera.yaml': 'name: camera\nsettings:\n  - path: Camera/AllowCamera\n    value: 0\n',
        'assignments.yaml': 'assignments:\n  - policy: camera\n    include: [all]\n',
        'compliance.yaml':
          'rules:\n  - name: camera-off\n    include: [all]\n    require:\n      settingsVerified: [camera]\n',
      },
    });
    expect(applied.status).toBe(200);
    // The device takes the setting and reads it back: its state and the device's compliance change.
    expect((await device.checkIn()).ok).toBe(true);
    expect((await device.checkIn()).ok).toBe(true);
    const types = () => receiver.received.map((r) => r.type);
    const settingPath = './Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera';
    // Deliveries are retried and may arrive in any order: wait for the verified change itself.
    await until(
      'the events',
      () =>
        [
          'device.enrolled',
          'device.checked_in',
          'command.completed',
          'policy.revision_applied',
          'setting.state_changed',
          'compliance.changed',
        ].every((t) => types().includes(t)) &&
        receiver.received.some((r) => r.type === 'setting.state_changed' && r.data.to === 'verified'),
    );
    const settingChanges = receiver.received
      .filter((r) => r.type === 'setting.state_changed')
      .map((r) => r.data);
    expect(settingChanges).toContainEqual(
      expect.objectContaining({
        deviceId: device.profile.deviceId,
        path: settingPath,
        policy: 'camera',
        to: 'verified',
      }),
    );
    for (const c of settingChanges) expect(c.from).not.toBe(c.to);
    const compliance = await api.get(`/api/v1/devices/${device.profile.deviceId}/compliance`);
    const complianceChanges = receiver.received
      .filter((r) => r.type === 'compliance.changed')
      .map((r) => r.data);
    expect(complianceChanges.at(-1)).toMatchObject({
      deviceId: device.profile.deviceId,
      to: compliance.body.state,
    });
    expect(receiver.received.every((r) => r.verified)).toBe(true);
    const enrolled = receiver.received.find((r) => r.type === 'device.enrolled')!;
    expect(enrolled.data).toMatchObject({ deviceId: device.profile.deviceId, userUpn: 'hook@contoso.com' });
    expect(receiver.attempts.get(enrolled.id)).toBe(3);
    expect(receiver.received.find((r) => r.type === 'command.completed')!.data).toMatchObject({
      commandId: lock.body.commandId,
      statusCode: 200,
    });
    expect(receiver.received.find((r) => r.type === 'policy.revision_applied')!.data).toMatchObject({
      revision: applied.body.revision,
    });
    // A forged signature does not verify.
    expect(
      verifyWebhook(
        SECRET,
        { id: enrolled.id, timestamp: String(Math.floor(Date.now() / 1000)), signature: 'v1,AAAA' },
        '{}',
      ),
    ).toBe(false);
    const deliveries = await api.get('/api/v1/webhooks/deliveries?limit=500');
    const row = deliveries.body.items.find((d: { eventId: string }) => d.eventId === enrolled.id);
    expect(row).toMatchObject({ state: 'delivered', attempts: 3, lastStatus: 204, url: receiver.url });
  });

  it('keeps an undelivered event across a restart and delivers it afterwards', async () => {
    const restart = async (retry: number[]) => {
      const { dataDir, certsDir } = server;
      const databaseUrl = server.config.databaseUrl;
      const port = Number(new URL(server.url).port);
      const snapshot = device.snapshot();
      device.close();
      await server.close({ keepFiles: true });
      server = await startTestServer(
        { ...config(), port, webhookRetrySeconds: retry, ...(databaseUrl && { databaseUrl }) },
        { backend, dataDir, certsDir },
      );
      device = VirtualDevice.restore(snapshot, { catalog: defaultCatalog(), tls: { ca: server.tlsCertPem } });
    };
    // Next attempt 5 s after a failure: time enough to stop the server with the event still pending.
    await restart([5, 0, 0, 0]);
    failures = 1000;
    const before = receiver.received.length;
    const token = await createToken(server.storage, { name: 'restart', role: 'operator', actor: 'test' });
    const queued = await apiClient(server, token.token).post(
      `/api/v1/devices/${device.profile.deviceId}/actions/reboot`,
    );
    expect(queued.status).toBe(202);
    expect((await device.checkIn()).ok).toBe(true);
    const completed = async () =>
      (await server.storage.webhooks.list({ limit: 500 })).find(
        (d) => d.eventType === 'command.completed' && d.payload.includes(queued.body.commandId),
      );
    await until('a failed attempt', async () => ((await completed())?.attempts ?? 0) >= 1);
    await restart([0, 0, 0, 0]);
    failures = 0;
    await until('the event after the restart', () =>
      receiver.received
        .slice(before)
        .some((r) => r.type === 'command.completed' && r.data.commandId === queued.body.commandId),
    );
    expect(receiver.received.slice(before).every((r) => r.verified)).toBe(true);
    await until('the delivered state', async () => (await completed())?.state === 'delivered');
    expect(await completed()).toMatchObject({ state: 'delivered', attempts: 2, lastStatus: 204 });
  });
});
