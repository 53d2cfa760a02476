// The benchmark's building blocks at a tiny scale, in process: pre-load, the load generator's
// sessions against the real server (proxy and TLS modes), the floor server, enrollments, and the
// report files. Counts and fields only; timings are never asserted.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerServerMessage, packageOne, scanServerMessage } from '../../bench/checkin.js';
import { runEnrollments } from '../../bench/enroll-load.js';
import { startFloorServer } from '../../bench/floor-server.js';
import { type CheckinJob, type CheckinResult, runCheckins, runHandshakes } from '../../bench/load.js';
import { parseBenchOptions } from '../../bench/options.js';
import { BENCH_POLICY_COMMANDS, type PreloadResult, preloadDatabase } from '../../bench/preload.js';
import { buildReport, writeResults } from '../../bench/report.js';
import { percentile, summarize } from '../../bench/stats.js';
import { DEFAULT_INVENTORY_NODES } from '../../src/dm/inventory.js';
import { parseServerMessage } from '../../src/simulator/wire.js';
import { sqliteFile } from '../../src/storage/open.js';
import { startTestServer, type TestServer } from '../support/server.js';

const CERT_HEADER = 'X-SSL-Client-Cert';
const USER = { upn: 'bench@bench.example', password: 'bench-password-1' };
const MANAGEMENT = '/ManagementServer/MDM.svc';
const benchServer = (overrides: Record<string, unknown> = {}) =>
  startTestServer({
    trustedProxyCertHeader: CERT_HEADER,
    trustedProxies: ['127.0.0.1'],
    preferredAuthPolicy: 'Federated',
    ...overrides,
  });

function jobFor(server: TestServer, pre: PreloadResult, extra: Partial<CheckinJob>): CheckinJob {
  const url = new URL(server.url);
  return {
    kind: 'checkins',
    target: { host: url.hostname, port: Number(url.port) },
    mode: 'proxy',
    path: `${MANAGEMENT}?mode=Maintenance&Platform=WoA`,
    serverUrl: `${server.url}${MANAGEMENT}`,
    certHeader: CERT_HEADER,
    devices: pre.pool,
    concurrency: 2,
    seconds: 60,
    warmupSeconds: 0,
    ...extra,
  };
}

describe('bench building blocks (proxy mode)', () => {
  let server: TestServer;
  let pre: PreloadResult;
  let checkins: CheckinResult;

  beforeAll(async () => {
    server = await benchServer({ tls: false });
    await server.addUser(USER.upn, USER.password);
    pre = await preloadDatabase({
      file: sqliteFile(server.config),
      certsDir: server.certsDir,
      devices: 30,
      pool: 6,
      providerId: server.config.providerId,
      policyCommands: 3,
      inventoryDueShare: 1,
    });
    checkins = await runCheckins(jobFor(server, pre, { maxSessions: 6, record: true }));
  });
  afterAll(async () => {
    await server?.close();
  });

  it('pre-loads every device with an enrollment, a certificate and its policy commands', async () => {
    expect(pre.pool).toHaveLength(6);
    const devices = await server.storage.devices.listDevices();
    expect(devices).toHaveLength(30);
    expect(devices.every((d) => d.status === 'enrolled')).toBe(true);
    const certs = await server.storage.certificates.listForDevice(devices[7]!.deviceId);
    expect(certs).toHaveLength(1);
    expect(certs[0]!.der.length).toBeGreaterThan(500);
  });

  it('runs full sessions whose counts add up, and the server records the outcomes', async () => {
    expect(checkins.errors).toEqual([]);
    expect(checkins.failedSessions).toBe(0);
    expect(checkins.totalSessions).toBe(6);
    expect(checkins.sessions).toBe(6);
    // package 1 → commands, package 3 → close: two exchanges per session.
    expect(checkins.messages).toBe(12);
    expect(checkins.latency.count).toBe(12);
    expect(checkins.sessionsWithCommands).toBe(6);
    expect(checkins.commands.Get).toBe(6 * DEFAULT_INVENTORY_NODES.length);
    // Six devices, one session each: the inventory refresh and the 3 queued policy commands.
    expect(checkins.commands.Replace).toBe(6 * 3);

    const first = pre.pool[0]!.deviceId;
    const commands = await server.storage.commands.listForDevice(first, { limit: 500 });
    const policy = commands.filter((c) => c.origin === 'policy');
    expect(policy.map((c) => c.tag).sort()).toEqual(
      BENCH_POLICY_COMMANDS.slice(0, 3)
        .map((p) => p.tag)
        .sort(),
    );
    expect(policy.every((c) => c.state === 'done' && c.statusCode === 200)).toBe(true);
    // The inventory refresh is read straight into the inventory, not queued as commands.
    expect(commands.filter((c) => c.origin === 'inventory')).toEqual([]);
    const inventory = await server.storage.inventory.list(first);
    expect(inventory.map((i) => i.locUri)).toEqual(expect.arrayContaining([...DEFAULT_INVENTORY_NODES]));
  });

  it('reads server replies the same way as the simulator', () => {
    const recorded = checkins.recorded!;
    expect(recorded).toBeDefined();
    for (const xml of [recorded.first, recorded.next]) {
      const lean = scanServerMessage(xml);
      const full = parseServerMessage(xml);
      expect(lean.sessionId).toBe(full.sessionId);
      expect(lean.msgId).toBe(full.msgId);
      expect(lean.respUri).toBe(full.respUri);
      expect(lean.final).toBe(full.final);
      expect(lean.statuses).toBe(full.statuses.length);
      expect(lean.commands.map((c) => [c.name, c.cmdId, c.targets])).toEqual(
        full.commands.map((c) => [c.name, c.cmdId, c.items.map((i) => i.target ?? '')]),
      );
    }
    expect(scanServerMessage(recorded.next).commands).toEqual([]);
  });

  it('refuses a session whose certificate header belongs to another device', async () => {
    const [a, b] = pre.pool;
    const result = await runCheckins(
      jobFor(server, pre, {
        devices: [{ deviceId: a!.deviceId, certHeader: b!.certHeader }],
        concurrency: 1,
        maxSessions: 1,
      }),
    );
    expect(result.sessions).toBe(0);
    expect(result.failedSessions).toBeGreaterThan(0);
    expect(result.errors[0]).toMatch(/403|HTTP 4/);
  });

  it('replays the recorded bytes from the floor server', async () => {
    const floor = await startFloorServer(() => checkins.recorded!);
    try {
      const result = await runCheckins({
        ...jobFor(server, pre, { maxSessions: 4 }),
        mode: 'floor',
        target: { host: '127.0.0.1', port: floor.port },
      });
      expect(result.failedSessions).toBe(0);
      expect(result.sessions).toBe(4);
      expect(result.messages).toBe(8);
    } finally {
      floor.server.closeAllConnections();
      floor.server.close();
    }
  });

  it('enrolls devices through Discover, GetPolicies and RST, signed by the server CA', async () => {
    const url = new URL(server.url);
    const result = await runEnrollments({
      kind: 'enrollments',
      target: { host: url.hostname, port: Number(url.port) },
      baseUrl: server.url,
      upn: USER.upn,
      password: USER.password,
      concurrency: 1,
      seconds: 60,
      warmupSeconds: 0,
      maxEnrollments: 2,
      verifyFirst: 2,
    });
    expect(result.errors).toEqual([]);
    expect(result.enrollments).toBe(2);
    expect(result.verified).toBe(2);
    const device = await server.storage.devices.getDevice(result.deviceIds[0]!);
    expect(device?.status).toBe('enrolled');
    expect(device?.authPolicy).toBe('Federated');
    const [cert] = await server.storage.certificates.listForDevice(result.deviceIds[0]!);
    expect(cert?.status).toBe('active');
  });

  it('writes a JSON report with the headline fields and an SVG chart', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-report-'));
    try {
      const report = buildReport({
        devices: 30,
        pool: 6,
        concurrency: 2,
        seconds: 1,
        preload: pre,
        dbBytesAfterPreload: 30_000,
        dbBytesAfterRun: 60_000,
        proxy: {
          checkins,
          server: {
            type: 'stats',
            rssMb: 80,
            peakRssMb: 90,
            heapUsedMb: 20,
            cpuMs: 100,
            loopDelayP99Ms: 1,
            loopDelayMaxMs: 2,
          },
        },
        floor: checkins,
        loadavgBefore: [0, 0, 0],
        totalSeconds: 1,
      });
      const svg = writeResults(report, join(dir, 'run.json'));
      const json = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as Record<string, unknown>;
      for (const field of [
        'sessionsPerSec',
        'messagesPerSec',
        'p50Ms',
        'p99Ms',
        'enrollPerSec',
        'rssMb',
        'floorMessagesPerSec',
        'devices',
      ]) {
        expect(typeof json[field], field).toBe('number');
      }
      expect(json.devices).toBe(30);
      expect(json.rssMb).toBe(90);
      expect(json.dbBytesPerDevice).toBe(1000);
      expect(readFileSync(svg, 'utf8')).toMatch(
        /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"[\s\S]*<path d="M/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('bench building blocks (TLS mode)', () => {
  let server: TestServer;
  let pre: PreloadResult;

  beforeAll(async () => {
    server = await benchServer();
    pre = await preloadDatabase({
      file: sqliteFile(server.config),
      certsDir: server.certsDir,
      devices: 6,
      pool: 2,
      providerId: server.config.providerId,
      policyCommands: 1,
      inventoryDueShare: 0.5,
    });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('runs sessions over mutual TLS and resumes the TLS session on the next check-in', async () => {
    const result = await runCheckins(
      jobFor(server, pre, {
        mode: 'tls',
        certHeader: undefined,
        tls: { keyPem: pre.poolKeyPem, caPem: server.tlsCertPem },
        concurrency: 1,
        maxSessions: 4,
      }),
    );
    expect(result.errors).toEqual([]);
    expect(result.sessions).toBe(4);
    // First sessions carry the queued policy command (two exchanges); repeats have nothing to do.
    expect(result.messages).toBe(2 * 2 + 2 * 1);
    expect(result.handshakes?.full).toBe(2);
    expect(result.handshakes?.resumed).toBe(2);
  });

  it('counts full and resumed handshakes', async () => {
    const url = new URL(server.url);
    const job = {
      kind: 'handshakes' as const,
      target: { host: url.hostname, port: Number(url.port) },
      tls: { keyPem: pre.poolKeyPem, caPem: server.tlsCertPem },
      devices: pre.pool,
      concurrency: 1,
      seconds: 0.3,
    };
    const full = await runHandshakes({ ...job, resume: false });
    expect(full.handshakes).toBeGreaterThan(0);
    expect(full.resumed).toBe(0);
    const resumed = await runHandshakes({ ...job, resume: true });
    expect(resumed.handshakes).toBeGreaterThan(0);
    expect(resumed.full).toBe(0);
  });
});

describe('bench helpers', () => {
  it('writes package 1 and answers every command of a server message', () => {
    const device = { deviceId: 'ABC' };
    const p1 = packageOne(device, 'http://h/ManagementServer/MDM.svc', '1F');
    expect(p1).toContain('<SessionID>1F</SessionID><MsgID>1</MsgID>');
    expect(p1).toContain('<Data>1201</Data>');
    const msg = scanServerMessage(
      '<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><SessionID>1F</SessionID><MsgID>1</MsgID></SyncHdr><SyncBody>' +
        '<Status><CmdID>1</CmdID><MsgRef>1</MsgRef><CmdRef>0</CmdRef><Cmd>SyncHdr</Cmd><Data>200</Data></Status>' +
        '<Get><CmdID>2</CmdID><Item><Target><LocURI>./DevDetail/SwV</LocURI></Target></Item></Get>' +
        '<Atomic><CmdID>3</CmdID><Replace><CmdID>4</CmdID><Item><Target><LocURI>./A&amp;B</LocURI></Target><Data>1</Data></Item></Replace></Atomic>' +
        '<Final/></SyncBody></SyncML>',
    );
    expect(msg.hdrStatus).toBe('200');
    expect(msg.commands[1]!.commands![0]!.targets).toEqual(['./A&B']);
    const answer = answerServerMessage(device, 'http://h/ManagementServer/MDM.svc', msg, 2)!;
    expect(answer.statuses).toBe(3);
    expect(answer.results).toBe(1);
    expect(answer.xml).toContain('<TargetRef>./A&amp;B</TargetRef>');
    expect(answer.xml).toContain('<Data>10.0.22631.4037</Data>');
    expect(answerServerMessage(device, 'x', { ...msg, commands: [] }, 2)).toBeUndefined();
  });

  it('computes nearest-rank percentiles', () => {
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(percentile([1, 2, 3, 4], 99)).toBe(4);
    expect(summarize([5, 1, 3])).toMatchObject({ count: 3, p50Ms: 3, maxMs: 5, meanMs: 3 });
  });

  it('parses the quick CI mode and rejects bad flags', () => {
    const quick = parseBenchOptions(['--devices', '200', '--seconds', '2']);
    expect(quick).toMatchObject({
      devices: 200,
      seconds: 2,
      concurrency: 50,
      pool: 200,
      modes: ['proxy', 'tls'],
    });
    expect(() => parseBenchOptions(['--devices', '-1'])).toThrow(/--devices/);
    expect(() => parseBenchOptions(['--modes', 'udp'])).toThrow(/unknown mode/);
  });
});
