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
import { databaseFile } from '../../src/main.js';
import { signCertificate } from '../../src/pki/sign.js';
import type { ExchangeCommit } from '../../src/storage/dm-sessions.js';
import { openSqlite } from '../../src/storage/sqlite/database.js';
import { createSqliteDmSessionStore } from '../../src/storage/sqlite/dm-sessions.js';
import { startTestServer, type TestServer } from '../support/server.js';

const CERT_HEADER = 'X-SSL-Client-Cert';

function commit(deviceId: string, sessionId: string, extra: Partial<ExchangeCommit> = {}): ExchangeCommit {
  return {
    deviceId,
    sessionId,
    at: new Date().toISOString(),
    closeOthers: true,
    state: '{}',
    status: 'active',
    maxAttempts: 3,
    enqueue: [],
    sent: [],
    statuses: [],
    results: [],
    inventory: [],
    events: [],
    rejected: [],
    unenrolled: false,
    ...extra,
  };
}

describe('exchange commits', () => {
  it('commits concurrent exchanges independently: one failing leaves the others stored', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-commit-'));
    const handle = openSqlite({ file: join(dir, 'db.sqlite'), checkpointIntervalMs: 0 });
    try {
      const at = new Date().toISOString();
      for (const id of ['DEV-A', 'DEV-B']) {
        handle.db
          .prepare('INSERT INTO devices (device_id, created_at, updated_at) VALUES (?, ?, ?)')
          .run(id, at, at);
      }
      const store = createSqliteDmSessionStore(handle.db);
      const results = await Promise.allSettled([
        store.commitExchange(commit('DEV-A', '1')),
        // A device that does not exist violates the foreign key: this exchange must fail alone.
        store.commitExchange(commit('NO-SUCH-DEVICE', '1')),
        store.commitExchange(commit('DEV-B', '7')),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      const rows = handle.db
        .prepare('SELECT device_id, session_id FROM dm_sessions ORDER BY device_id')
        .all();
      expect(rows).toEqual([
        { device_id: 'DEV-A', session_id: '1' },
        { device_id: 'DEV-B', session_id: '7' },
      ]);
      expect((await store.loadExchange('DEV-B', at)).active?.sessionId).toBe('7');
    } finally {
      handle.close();
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
      file: databaseFile(server.config),
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
    const handle = openSqlite({ file: databaseFile(server.config), checkpointIntervalMs: 0 });
    try {
      handle.db
        .prepare('UPDATE certificates SET not_after = ? WHERE device_id = ?')
        .run(new Date(Date.now() - 60_000).toISOString(), device.deviceId);
    } finally {
      handle.db.close();
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
