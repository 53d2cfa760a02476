// Operations: /metrics families the admin API adds (HTTP durations per route family, OMA-DM
// exchange durations, enrollments by result, queue depth, Node process defaults) and graceful
// shutdown (stop accepting, let a request in flight finish, cut one that outlives the timeout).
import https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultCatalog } from '../../src/catalog/catalog.js';
import { VirtualDevice } from '../../src/simulator/device.js';
import { makeProfile } from '../../src/simulator/profile.js';
import { request } from '../support/enroll-client.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe('metrics', () => {
  let server: TestServer;
  let device: VirtualDevice;
  beforeAll(async () => {
    server = await startTestServer();
    await server.addUser('ops@contoso.com', 'Ops-pass-1');
    device = new VirtualDevice({
      profile: makeProfile('ops-1'),
      catalog: defaultCatalog(),
      tls: { ca: server.tlsCertPem },
    });
    await device.enroll(server.url, 'ops@contoso.com', 'Ops-pass-1');
    expect((await device.checkIn()).ok).toBe(true);
    await server.storage.commands.enqueue({
      deviceId: device.profile.deviceId,
      command: { verb: 'Get', items: [{ target: './DevDetail/OEM' }] },
      origin: 'admin',
    });
  });
  afterAll(async () => {
    device?.close();
    await server?.close();
  });

  it('adds request and exchange durations, enrollments by result, queue depth and process defaults', async () => {
    await request(`${server.url}/api/v1/devices`, { serverCa: server.tlsCertPem });
    const res = await request(`${server.url}/metrics`, { serverCa: server.tlsCertPem });
    expect(res.status).toBe(200);
    const line = (re: RegExp) =>
      res.body.split('\n').find((l) => re.test(l)) ??
      `${re} not in\n${res.body
        .split('\n')
        .filter((l) => l.startsWith('mdm_'))
        .join('\n')}`;
    expect(
      line(/^mdm_http_request_duration_seconds_count\{family="omadm",method="POST",class="2xx"\} [1-9]/),
    ).not.toMatch(/not in\n/);
    expect(
      line(/^mdm_http_request_duration_seconds_count\{family="enrollment",method="POST",class="2xx"\} [1-9]/),
    ).not.toMatch(/not in\n/);
    expect(
      line(/^mdm_http_request_duration_seconds_count\{family="api",method="GET",class="4xx"\} 1$/),
    ).not.toMatch(/not in\n/);
    expect(line(/^mdm_omadm_exchange_duration_seconds_count [1-9]/)).not.toMatch(/not in\n/);
    expect(line(/^mdm_enrollments_total\{result="issued"\} 1$/)).not.toMatch(/not in\n/);
    expect(line(/^mdm_command_queue_depth\{state="pending"\} 1$/)).not.toMatch(/not in\n/);
    expect(line(/^process_cpu_user_seconds_total /)).not.toMatch(/not in\n/);
    expect(line(/^nodejs_heap_size_used_bytes /)).not.toMatch(/not in\n/);
  });
});

describe('graceful shutdown', () => {
  /** Starts a POST whose body is sent only when `finish` is called; resolves with the status. */
  function slowRequest(server: TestServer) {
    const url = new URL(`${server.url}/EnrollmentServer/Discovery.svc`);
    let finish!: () => void;
    const done = new Promise<number>((resolve, reject) => {
      const req = https.request(
        url,
        {
          method: 'POST',
          ca: server.tlsCertPem,
          agent: false,
          headers: { 'content-type': 'application/soap+xml; charset=utf-8', 'content-length': '2' },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.write('{');
      finish = () => req.end('}');
    });
    return { done, finish: () => finish() };
  }

  it('stops accepting, lets a request in flight finish, then closes', async () => {
    const server = await startTestServer({ shutdownTimeoutSeconds: 10 });
    const slow = slowRequest(server);
    await new Promise((r) => setTimeout(r, 200));
    let closed = false;
    const closing = server.close({ graceful: true }).then(() => {
      closed = true;
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(closed).toBe(false);
    await expect(request(`${server.url}/healthz`, { serverCa: server.tlsCertPem })).rejects.toThrow();
    slow.finish();
    expect(await slow.done).toBeGreaterThanOrEqual(400);
    await closing;
    expect(closed).toBe(true);
  });

  it('cuts a request that outlives the timeout', async () => {
    const server = await startTestServer({ shutdownTimeoutSeconds: 1 });
    const slow = slowRequest(server);
    // The connection is reset while the server closes: take the rejection as soon as it comes.
    const cut = slow.done.then(
      () => undefined,
      (err: Error) => err,
    );
    await new Promise((r) => setTimeout(r, 200));
    const started = Date.now();
    await server.close({ graceful: true });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await cut).toBeInstanceOf(Error);
  });
});
