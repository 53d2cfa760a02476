// A compliance rule's `notify: {webhook: url}` action goes through the webhook outbox: written with
// the evaluation that breached the rule, delivered after the device's session, retried when the
// receiver fails, and visible in the deliveries API. The URL is not a configured endpoint, so the
// notice is sent unsigned, as the rule's own JSON.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { defaultCatalog } from '../../src/catalog/catalog.js';
import { createToken } from '../../src/services/tokens.js';
import { VirtualDevice } from '../../src/simulator/device.js';
import { makeProfile } from '../../src/simulator/profile.js';
import { apiClient } from '../support/api-client.js';
import { describeBackends } from '../support/backends.js';
import { startTestServer, type TestServer } from '../support/server.js';

interface Hit {
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

async function startReceiver() {
  const hits: Hit[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      hits.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      // The first attempt fails: the notice must be retried, not lost.
      res.writeHead(hits.length === 1 ? 503 : 204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/alerts`;
  return { url, hits, close: () => new Promise<void>((r) => server.close(() => r())) };
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 30_000) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describeBackends('compliance notify webhook through the outbox', (backend) => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let server: TestServer;
  let device: VirtualDevice;

  beforeAll(async () => {
    receiver = await startReceiver();
  });
  afterAll(async () => {
    device?.close();
    await server?.close();
    await receiver?.close();
  });

  it('delivers the notice of a breached rule after a failed first attempt', async () => {
    server = await startTestServer({ webhookRetrySeconds: [0, 0] }, { backend });
    await server.addUser('notice@contoso.com', 'Notice-pass-1');
    device = new VirtualDevice({
      profile: makeProfile('notice-1'),
      catalog: defaultCatalog(),
      tls: { ca: server.tlsCertPem },
    });
    await device.enroll(server.url, 'notice@contoso.com', 'Notice-pass-1');
    const token = await createToken(server.storage, { name: 'notice', role: 'admin', actor: 'test' });
    const api = apiClient(server, token.token);
    const applied = await api.post('/api/v1/policies/apply', {
      files: {
        'compliance.yaml': `rules:\n  - name: future-os\n    include: [all]\n    require:\n      osVersionAtLeast: "99.0"\n    actions:\n      - notify: { webhook: "${receiver.url}" }\n`,
      },
    });
    expect(applied.status).toBe(200);
    // The device reports its facts; the rule fails with no grace period, so its action runs.
    for (let i = 0; i < 3 && receiver.hits.length === 0; i++) expect((await device.checkIn()).ok).toBe(true);
    await until('the retried notice', () => receiver.hits.length >= 2);
    const [first, second] = receiver.hits;
    expect(second!.headers['webhook-id']).toBe(first!.headers['webhook-id']);
    expect(second!.headers['content-type']).toBe('application/json');
    expect(second!.headers['webhook-signature']).toBeUndefined();
    expect(JSON.parse(second!.body)).toMatchObject({
      deviceId: device.profile.deviceId,
      state: 'noncompliant',
      rule: 'future-os',
    });
    const deliveries = await api.get('/api/v1/webhooks/deliveries?limit=100');
    expect(deliveries.status).toBe(200);
    const row = deliveries.body.items.find(
      (d: { eventId: string }) => d.eventId === first!.headers['webhook-id'],
    );
    expect(row).toMatchObject({
      eventType: 'compliance.notice',
      url: receiver.url,
      state: 'delivered',
      attempts: 2,
      lastStatus: 204,
    });
  });
});
