// Behaviour the check-in hot path must keep however it is optimised (bench/README.md): concurrent
// exchanges commit independently, a forwarded certificate is accepted only when it is exactly one
// the server issued and still valid, and re-enrollment by hardware id still ends the old enrollment.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BenchDevice } from '../../bench/checkin.js';
import { type CheckinJob, runCheckins } from '../../bench/load.js';
import { type PreloadResult, preloadDatabase } from '../../bench/preload.js';
import { signCertificate } from '../../src/pki/sign.js';
import type { ExchangeWrites } from '../../src/storage/dm-sessions.js';
import { sqliteFile } from '../../src/storage/open.js';
import { openSqlite } from '../../src/storage/sqlite/database.js';
import { openSqliteStorage } from '../../src/storage/sqlite/index.js';
import { enrollment } from '../dm/support.js';
import { startTestServer, type TestServer } from '../support/server.js';

const CERT_HEADER = 'X-SSL-Client-Cert';

function commit(deviceId: string, sessionId: string): ExchangeWrites {
  return {
    deviceId,
    at: new Date().toISOString(),
    session: { sessionId, state: '{}', status: 'active' },
    closeSessions: [],
    enqueue: [],
    commands: [],
    inventory: [],
    events: [],
    unenroll: false,
  };
}

describe('exchange commits', () => {
  it('commits concurrent exchanges independently: one failing leaves the others stored', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-commit-'));
    const storage = openSqliteStorage({ file: join(dir, 'db.sqlite'), checkpointIntervalMs: 0 });
    try {
      const at = new Date().toISOString();
      await storage.transaction(async (tx) => {
        for (const id of ['DEV-A', 'DEV-B']) {
          await tx.devices.recordEnrollment({ ...enrollment(id, `S-${id}`), enrolledAt: at });
        }
      });
      // Exchanges arriving together share one COMMIT, each in its own savepoint.
      const results = await Promise.allSettled(
        [commit('DEV-A', '1'), commit('NO-SUCH-DEVICE', '1'), commit('DEV-B', '7')].map((w) =>
          storage.transaction((tx) => tx.dmSessions.commitExchange(w)),
        ),
      );
      // A device that does not exist violates the foreign key: this exchange fails alone.
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect((await storage.dmSessions.loadExchange('DEV-A', '1')).session?.sessionId).toBe('1');
      expect((await storage.dmSessions.loadExchange('DEV-B', '7')).active.map((s) => s.sessionId)).toEqual([
        '7',
      ]);
      expect((await storage.dmSessions.loadExchange('NO-SUCH-DEVICE', '1')).session).toBeUndefined();
    } finally {
      await storage.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('forwarded client certificates', () => {
  let server: TestServer;
  let pre: PreloadResult;
  let job: (devices: BenchDevice[]) => CheckinJob;

  beforeAll(async () => {
    server = await startTestServer({
      tls: false,
      trustedProxyCertHeader: CERT_HEADER,
      trustedProxies: ['127.0.0.1'],
    });
    pre = await preloadDatabase({
      file: sqliteFile(server.config),
      certsDir: server.certsDir,
      devices: 4,
      pool: 4,
      providerId: server.config.providerId,
      policyCommands: 1,
      inventoryDueShare: 0,
    });
    const url = new URL(server.url);
    job = (devices) => ({
      kind: 'checkins',
      target: { host: url.hostname, port: Number(url.port) },
      mode: 'proxy',
      path: '/ManagementServer/MDM.svc',
      serverUrl: `${server.url}/ManagementServer/MDM.svc`,
      certHeader: CERT_HEADER,
      devices,
      concurrency: 1,
      seconds: 60,
      warmupSeconds: 0,
      maxSessions: devices.length,
    });
  });
  afterAll(async () => {
    await server?.close();
  });

  /** A certificate for `deviceId` signed by `signer` (CN = DeviceID, clientAuth, like the CA's). */
  function certificateFor(
    deviceId: string,
    signer: 'server-ca' | 'stranger',
    notAfter = new Date(Date.now() + 86_400_000),
  ) {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const cert = forge.pki.createCertificate();
    cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
    cert.serialNumber = '4A01';
    cert.validity.notBefore = new Date(Date.now() - 3_600_000);
    cert.validity.notAfter = notAfter;
    cert.setSubject([{ shortName: 'CN', value: deviceId }]);
    cert.setIssuer(forge.pki.certificateFromPem(server.ca.pem).subject.attributes);
    cert.setExtensions([{ name: 'extKeyUsage', clientAuth: true }]);
    return signCertificate(cert, signer === 'server-ca' ? server.ca.privateKey : privateKey);
  }

  it('accepts the certificates the server issued', async () => {
    const result = await runCheckins(job(pre.pool));
    expect(result.errors).toEqual([]);
    expect(result.sessions).toBe(4);
  });

  it('refuses a look-alike certificate not signed by the enrollment CA', async () => {
    const device = pre.pool[0]!;
    const forged = certificateFor(device.deviceId, 'stranger').toString('base64');
    const result = await runCheckins(job([{ deviceId: device.deviceId, certHeader: forged }]));
    expect(result.sessions).toBe(0);
    expect(result.errors[0]).toMatch(/403/);
  });

  it('refuses a CA-signed certificate the server never recorded', async () => {
    const device = pre.pool[1]!;
    const unrecorded = certificateFor(device.deviceId, 'server-ca').toString('base64');
    const result = await runCheckins(job([{ deviceId: device.deviceId, certHeader: unrecorded }]));
    expect(result.sessions).toBe(0);
    expect(result.errors[0]).toMatch(/403/);
  });

  it('checks the validity period of a recorded certificate on every message', async () => {
    const device = pre.pool[3]!;
    const handle = openSqlite({ file: sqliteFile(server.config), checkpointIntervalMs: 0 });
    try {
      handle.writer
        .prepare('UPDATE certificates SET not_after = ? WHERE device_id = ?')
        .run(new Date(Date.now() - 60_000).toISOString(), device.deviceId);
    } finally {
      handle.close();
    }
    const result = await runCheckins(job([device]));
    expect(result.sessions).toBe(0);
    expect(result.errors[0]).toMatch(/403/);
  });

  it('refuses an issued certificate once its enrollment ended', async () => {
    const device = pre.pool[2]!;
    await server.storage.devices.markUnenrolled(device.deviceId);
    const result = await runCheckins(job([device]));
    expect(result.sessions).toBe(0);
    expect(result.errors[0]).toMatch(/403/);
  });
});
