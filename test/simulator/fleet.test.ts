import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { defaultCatalog } from '../../src/catalog/catalog.js';
import { main } from '../../src/cli/index.js';
import { formatFleetSummary, runFleet } from '../../src/simulator/fleet.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe('fleet simulation', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
    await server.addUser('fleet@example.com', 'Fleet-pass-1');
  });
  afterAll(async () => server?.close());

  it('enrolls N devices and runs M sessions each, C at a time', async () => {
    const events: string[] = [];
    const summary = await runFleet({
      server: server.url,
      devices: 3,
      checkins: 2,
      concurrency: 2,
      email: 'fleet@example.com',
      password: 'Fleet-pass-1',
      catalog: defaultCatalog(),
      tls: { ca: server.tlsCertPem },
      shareKey: true,
      onProgress: (e) => events.push(e.kind),
    });
    expect(summary).toMatchObject({ devices: 3, enrolled: 3, sessions: 6, failedSessions: 0, errors: {} });
    expect(summary.commandsByStatus['200']).toBeGreaterThan(0);
    expect(events.filter((e) => e === 'session')).toHaveLength(6);
    expect((await server.storage.devices.listDevices()).length).toBe(3);
    expect(formatFleetSummary(summary, { 200: 'OK' })).toMatch(
      /devices: +3 \(3 enrolled\)[\s\S]*200 OK: \d+[\s\S]*errors: +none/,
    );
  });

  it('counts enrollment failures instead of stopping', async () => {
    const summary = await runFleet({
      server: server.url,
      devices: 2,
      checkins: 1,
      concurrency: 2,
      email: 'fleet@example.com',
      password: 'wrong',
      catalog: defaultCatalog(),
      tls: { insecure: true },
      shareKey: true,
    });
    expect(summary.enrolled).toBe(0);
    expect(Object.values(summary.errors)).toEqual([2]);
    expect(Object.keys(summary.errors)[0]).toMatch(/^enroll: enrollment refused/);
  });

  it('`mdm simulate` prints a summary and records fixtures; `mdm replay` checks them, in-process or against the server', async () => {
    const out: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      out.push(String(chunk));
      return true;
    });
    const env = { ...process.env };
    const recordDir = mkdtempSync(join(tmpdir(), 'mdm-sim-record-'));
    process.env.MDM_DATA_DIR = server.dataDir;
    process.env.MDM_CERTS_DIR = server.certsDir;
    try {
      process.exitCode = undefined;
      await main([
        'node',
        'mdm',
        'simulate',
        '--devices',
        '2',
        '--checkins',
        '1',
        '--server',
        server.url,
        '--share-key',
        '--unenroll',
        '--fail-path',
        './DevDetail/SwV',
        '--record',
        recordDir,
        '--seed',
        'cli',
      ]);
      expect(process.exitCode ?? 0).toBe(0);
      const summary = out.join('');
      expect(summary).toMatch(/devices: +2 \(2 enrolled\)\nsessions: +4 \(0 failed\)/);
      expect(summary, summary).toMatch(/ {2}500 Command failed: 2\n/);
      expect((await server.storage.devices.listDevices({ status: 'unenrolled' })).length).toBe(2);
      // --state keeps the devices: a second run checks in again without enrolling.
      const state = join(recordDir, '..', `${basename(recordDir)}.state.json`);
      const devicesBefore = (await server.storage.devices.listDevices()).length;
      for (const run of [1, 2]) {
        out.length = 0;
        await main([
          'node',
          'mdm',
          'simulate',
          '--devices',
          '2',
          '--checkins',
          '1',
          '--server',
          server.url,
          '--seed',
          'state',
          '--state',
          state,
        ]);
        expect(out.join(''), `run ${run}`).toMatch(/devices: +2 \(2 enrolled\)\nsessions: +2 \(0 failed\)/);
      }
      expect((await server.storage.devices.listDevices()).length).toBe(devicesBefore + 2);
      const saved = JSON.parse(readFileSync(state, 'utf8'));
      expect(saved.map((d: { sessionNumber: number }) => d.sessionNumber)).toEqual([2, 2]);
      rmSync(state);

      // The devices recorded their own traffic: one enrollment and one run of sessions each.
      const recorded = readdirSync(recordDir);
      expect(recorded.filter((f) => f.includes('-enrollment-'))).toHaveLength(2);
      expect(recorded.filter((f) => f.includes('-syncml-'))).toHaveLength(2);
      out.length = 0;
      await main(['node', 'mdm', 'replay', recordDir]);
      expect(out.join('')).toContain('4/4 fixtures replayed clean');
      expect(process.exitCode ?? 0).toBe(0);

      out.length = 0;
      await main(['node', 'mdm', 'replay', 'fixtures/windows10-syncml-fleet-unenroll']);
      expect(process.exitCode ?? 0).toBe(0);
      expect(out.join('')).toContain('1/1 fixtures replayed clean');

      // Against the running server, provisioned through its database; its development TLS
      // certificate (MDM_CERTS_DIR) is trusted without flags.
      out.length = 0;
      await main(['node', 'mdm', 'replay', 'fixtures/windows10-syncml-marcosd4h', '--server', server.url]);
      expect(out.join('')).toContain('1/1 fixtures replayed clean');
      expect(process.exitCode ?? 0).toBe(0);
      expect((await server.storage.devices.getDevice('1E08C6E95D8BB843B1278FF45BC60CC6'))?.status).toBe(
        'enrolled',
      );
    } finally {
      write.mockRestore();
      process.env = env;
      process.exitCode = undefined;
      rmSync(recordDir, { recursive: true, force: true });
    }
  });
});
