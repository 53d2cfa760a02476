// Capture cannot fill the disk: only authenticated exchanges are written (what precedes
// authentication in a real flow is held back and written with it), each fixture and the whole
// folder are capped with the oldest fixtures removed, and whatever was not written is counted in
// capture-skipped.json. Unit tests on the recorder, then the real server over HTTPS.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type CapturedExchange, createCaptureRecorder, SKIPPED_FILE } from '../../src/replay/capture.js';
import { readFixture } from '../../src/replay/fixture.js';
import { clientMessage, package1 } from '../dm/helpers.js';
import { encodeClient } from '../dm/support.js';
import {
  discoverMessage,
  enrollDevice,
  getPoliciesMessage,
  postSoap,
  request,
} from '../support/enroll-client.js';
import { startTestServer, type TestServer } from '../support/server.js';

const syncml = (deviceId: string, sessionId: string, data = ''): string =>
  `<SyncML><SyncHdr><SessionID>${sessionId}</SessionID><Source><LocURI>${deviceId}</LocURI></Source></SyncHdr><SyncBody>${data}</SyncBody></SyncML>`;

function dm(deviceId: string, sessionId: string, authenticated: boolean, data = ''): CapturedExchange {
  return {
    request: {
      method: 'POST',
      path: '/ManagementServer/MDM.svc',
      headers: {},
      body: syncml(deviceId, sessionId, data),
    },
    response: {
      status: 200,
      headers: { 'content-type': 'application/vnd.syncml.dm+xml' },
      body: '<SyncML/>',
    },
    authenticated,
    ...(authenticated && { deviceId }),
  };
}

function soap(path: string, body: string, authenticated: boolean, method = 'POST'): CapturedExchange {
  return {
    request: { method, path, headers: { 'content-type': 'application/soap+xml' }, body },
    response: {
      status: authenticated ? 200 : 500,
      headers: { 'content-type': 'application/soap+xml' },
      body: '<x/>',
    },
    remoteAddress: '198.51.100.7',
    authenticated,
  };
}

const fixtureDirs = (dir: string) =>
  readdirSync(dir)
    .filter((n) => existsSync(join(dir, n, 'manifest.json')))
    .sort();
const sizeOf = (dir: string): number =>
  readdirSync(dir, { withFileTypes: true }).reduce(
    (n, e) => n + (e.isDirectory() ? sizeOf(join(dir, e.name)) : readFileSync(join(dir, e.name)).length),
    0,
  );

describe('the capture recorder', () => {
  let dir: string;
  let clock: number;
  const now = () => {
    clock += 1000;
    return new Date(Date.UTC(2026, 0, 1) + clock);
  };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mdm-capture-unit-'));
    clock = 0;
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes nothing for unauthenticated exchanges and counts them', () => {
    const rec = createCaptureRecorder({ dir, now });
    for (let i = 0; i < 10; i++)
      rec.recordExchange(soap('/EnrollmentServer/Discovery.svc', `junk ${i}`, false));
    for (let i = 0; i < 100; i++) rec.recordExchange(dm(`CLAIMED${i}`, '1', false));
    expect(fixtureDirs(dir)).toEqual([]);
    const stats = rec.stats();
    expect(stats.captured).toBe(0);
    // At most 4 exchanges per client and 64 clients are held in memory, the oldest client evicted
    // first: all 10 of the first client are counted, and 100 + 1 - 64 clients are evicted.
    expect(stats.skipped.unauthenticated).toBe(10 + (100 + 1 - 64 - 1));
  });

  it('writes the held probe and Discover with the enrollment that authenticates, not what came before', () => {
    const rec = createCaptureRecorder({ dir, now });
    rec.recordExchange(soap('/EnrollmentServer/Enrollment.svc', 'junk before', false));
    rec.recordExchange(soap('/EnrollmentServer/Discovery.svc', '', false, 'GET'));
    rec.recordExchange(
      soap('/EnrollmentServer/Discovery.svc', '<a:Action>…/IDiscoveryService/Discover</a:Action>', false),
    );
    rec.recordExchange(soap('/EnrollmentServer/Policy.svc', 'GetPolicies', true));
    rec.recordExchange(soap('/EnrollmentServer/Enrollment.svc', 'RST', true));
    const [only, ...rest] = fixtureDirs(dir);
    expect(rest).toEqual([]);
    const fixture = readFixture(join(dir, only!));
    expect(fixture.exchanges.map((x) => `${x.request.method} ${x.request.path}`)).toEqual([
      'GET /EnrollmentServer/Discovery.svc',
      'POST /EnrollmentServer/Discovery.svc',
      'POST /EnrollmentServer/Policy.svc',
      'POST /EnrollmentServer/Enrollment.svc',
    ]);
    expect(rec.stats()).toMatchObject({ captured: 4, skipped: { unauthenticated: 1 } });
  });

  it('keeps a DIGEST challenge of the same session, drops held messages of other sessions', () => {
    const rec = createCaptureRecorder({ dir, now });
    rec.recordExchange(dm('DEV1', '7', false, 'stale'));
    rec.recordExchange(dm('DEV1', '8', false, 'challenged'));
    rec.recordExchange(dm('DEV1', '8', true, 'authenticated'));
    const fixture = readFixture(join(dir, fixtureDirs(dir)[0]!));
    expect(fixture.exchanges.map((x) => /<SyncBody>(\w*)</.exec(x.request.body)?.[1])).toEqual([
      'challenged',
      'authenticated',
    ]);
    expect(rec.stats().skipped.unauthenticated).toBe(1);
  });

  it('caps a fixture (a full one is closed, the next exchange starts a new one) and skips an oversized exchange', () => {
    const rec = createCaptureRecorder({ dir, now, maxFixtureBytes: 4000 });
    for (let i = 0; i < 6; i++) rec.recordExchange(dm('DEV2', '1', true, 'x'.repeat(1000)));
    rec.recordExchange(dm('DEV2', '1', true, 'y'.repeat(5000)));
    const dirs = fixtureDirs(dir);
    expect(dirs.length).toBeGreaterThan(1);
    for (const d of dirs) expect(sizeOf(join(dir, d))).toBeLessThanOrEqual(4000);
    expect(rec.stats()).toMatchObject({ captured: 6, skipped: { oversized: 1 } });
  });

  it('keeps the folder under its cap by removing the oldest fixtures, also those of an earlier run', () => {
    const first = createCaptureRecorder({ dir, now, maxFixtureBytes: 3000, maxTotalBytes: 100_000 });
    for (let i = 0; i < 5; i++) first.recordExchange(dm(`OLD${i}`, '1', true, 'o'.repeat(1500)));
    const before = fixtureDirs(dir);
    expect(before).toHaveLength(5);

    const rec = createCaptureRecorder({ dir, now, maxFixtureBytes: 3000, maxTotalBytes: 12_000 });
    for (let i = 0; i < 20; i++) rec.recordExchange(dm(`NEW${i}`, '1', true, 'n'.repeat(1500)));
    const after = fixtureDirs(dir);
    const total = after.reduce((n, d) => n + sizeOf(join(dir, d)), 0);
    expect(total).toBeLessThanOrEqual(12_000);
    for (const old of before) expect(after).not.toContain(old);
    expect(after.at(-1)).toMatch(/syncml-NEW19$/);
    expect(rec.stats().removedFixtures).toBeGreaterThanOrEqual(5);
  });
});

describe('capture on the real server', () => {
  let server: TestServer;
  let captureDir: string;
  const USER = 'cap-limits@contoso.com';
  const PASSWORD = 'Cap-limits-1';
  beforeAll(async () => {
    captureDir = mkdtempSync(join(tmpdir(), 'mdm-capture-e2e-'));
    server = await startTestServer({
      captureDir,
      captureMaxBytes: 64 * 1024,
      captureDirMaxBytes: 1024 * 1024,
      maxBodyBytes: 256 * 1024,
    });
    await server.addUser(USER, PASSWORD);
  });
  afterAll(async () => {
    await server?.close();
    rmSync(captureDir, { recursive: true, force: true });
  });

  const skippedFile = async () => {
    const file = join(captureDir, SKIPPED_FILE);
    for (let attempt = 0; attempt < 50 && !existsSync(file); attempt++)
      await new Promise((r) => setTimeout(r, 100));
    // The file is rewritten at most once a second: wait for the latest counts.
    await new Promise((r) => setTimeout(r, 1200));
    return JSON.parse(readFileSync(file, 'utf8')) as {
      skipped: { unauthenticated: number; oversized: number };
    };
  };

  it('writes no fixture for unauthenticated or oversized requests, and counts them', async () => {
    const discovery = `${server.url}/EnrollmentServer/Discovery.svc`;
    const policy = `${server.url}/EnrollmentServer/Policy.svc`;
    for (let i = 0; i < 3; i++) await postSoap(discovery, 'not xml at all');
    await postSoap(discovery, discoverMessage({ to: discovery, email: USER }));
    const wrong = { kind: 'password' as const, username: USER, password: 'wrong' };
    for (let i = 0; i < 3; i++)
      expect((await postSoap(policy, getPoliciesMessage(policy, wrong))).status).toBe(500);
    expect((await postSoap(discovery, 'x'.repeat(300 * 1024))).status).toBe(413);
    // SyncML without a client certificate, claiming many device ids.
    for (let i = 0; i < 70; i++) {
      const res = await request(`${server.url}/ManagementServer/MDM.svc`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/vnd.syncml.dm+xml' },
        body: encodeClient(clientMessage(`NOBODY${i}`, '1', 1, package1(`NOBODY${i}`))),
      });
      expect(res.status).toBe(200);
    }
    expect(fixtureDirs(captureDir)).toEqual([]);
    const counts = await skippedFile();
    expect(counts.skipped.unauthenticated).toBeGreaterThanOrEqual(70 - 64 + 8 - 4);
  });

  it('captures an enrollment and its device sessions; an oversized authenticated exchange is counted, not written', async () => {
    const device = await enrollDevice({
      url: server.url,
      credentials: { kind: 'password', username: USER, password: PASSWORD },
    });
    const post = (body: string) =>
      request(device.managementUrl, {
        method: 'POST',
        headers: { 'Content-Type': 'application/vnd.syncml.dm+xml' },
        body,
        cert: device.certPem,
        key: device.key.privateKeyPem,
      });
    expect(
      (await post(encodeClient(clientMessage(device.deviceId, '1', 1, package1(device.deviceId))))).status,
    ).toBe(200);
    const big = package1(device.deviceId).map((c) =>
      c.kind === 'Replace'
        ? { ...c, items: [...c.items, { source: './DevInfo/Lang', data: 'z'.repeat(100 * 1024) }] }
        : c,
    );
    expect((await post(encodeClient(clientMessage(device.deviceId, '2', 1, big)))).status).toBe(200);

    const dirs = fixtureDirs(captureDir);
    const enrollment = dirs.filter((d) => d.includes('-enrollment-'));
    const sessions = dirs.filter((d) => d.includes('-syncml-'));
    expect(enrollment).toHaveLength(1);
    expect(sessions).toHaveLength(1);
    expect(readFixture(join(captureDir, enrollment[0]!)).exchanges.map((x) => x.request.path)).toEqual([
      '/EnrollmentServer/Discovery.svc',
      '/EnrollmentServer/Discovery.svc',
      '/EnrollmentServer/Policy.svc',
      '/EnrollmentServer/Enrollment.svc',
    ]);
    const session = readFixture(join(captureDir, sessions[0]!));
    expect(session.exchanges).toHaveLength(1);
    expect(session.exchanges[0]!.request.body).toContain('<SessionID>1</SessionID>');
    for (const d of dirs) expect(sizeOf(join(captureDir, d))).toBeLessThanOrEqual(64 * 1024);
    expect((await skippedFile()).skipped.oversized).toBe(1);
  });
});
