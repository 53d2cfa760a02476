// Restarting the server on the same folders reuses the CA, the TLS certificate, the database and
// the sign-in token key (zero-config development mode).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { addUser } from '../../src/enrollment/users.js';
import { silentLogger } from '../../src/logger.js';
import { startMdmServer } from '../../src/main.js';
import { enrollDevice, federatedSignIn } from '../support/enroll-client.js';

const root = mkdtempSync(join(tmpdir(), 'mdm-restart-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const start = (warn = false) =>
  startMdmServer(
    loadConfig({
      env: {},
      flags: { dataDir: join(root, 'data'), certsDir: join(root, 'certs'), host: '127.0.0.1', port: 0 },
    }),
    {
      logger: silentLogger(),
      warn,
      publicUrlForPort: (port, protocol) => `${protocol}://127.0.0.1:${port}`,
    },
  );

describe('restart', () => {
  it('keeps CA, TLS certificate, users, devices and sign-in tokens', async () => {
    const warned = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    let first: Awaited<ReturnType<typeof start>>;
    let warning: string;
    try {
      first = await start(true);
      warning = warned.mock.calls.flat().join('\n');
    } finally {
      warned.mockRestore();
    }
    // First run: the development CA and TLS certificate are created, with a loud warning that
    // names the settings for real certificates.
    expect(warning).toMatch(/DEVELOPMENT CERTIFICATES/);
    for (const name of ['MDM_TLS_CERT', 'MDM_TLS_KEY', 'MDM_CA_CERT', 'MDM_CA_KEY'])
      expect(warning).toContain(name);
    for (const file of ['ca.crt', 'ca.key', 'tls.crt', 'tls.key'])
      expect(existsSync(join(root, 'certs', file))).toBe(true);
    const db = new Database(join(root, 'data', 'mdm.sqlite'), { readonly: true });
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      db.close();
    }
    await addUser(first.storage.users, 'demo@contoso.com', 'pw');
    const device = await enrollDevice({
      url: first.config.publicUrl,
      credentials: { kind: 'password', username: 'demo@contoso.com', password: 'pw' },
    });
    const token = await federatedSignIn(
      `${first.config.publicUrl}/EnrollmentServer/Auth`,
      'demo@contoso.com',
      'pw',
    );
    const { thumbprint } = first.ca;
    const tlsCert = first.tls?.cert;
    expect(first.ca.created).toBe(true);
    await first.close();

    const second = await start();
    try {
      expect(second.ca.created).toBe(false);
      expect(second.ca.thumbprint).toBe(thumbprint);
      expect(second.tls?.created).toBe(false);
      expect(second.tls?.cert).toBe(tlsCert);
      expect((await second.storage.devices.getDevice(device.deviceId))?.status).toBe('enrolled');
      const again = await enrollDevice({
        url: second.config.publicUrl,
        credentials: { kind: 'federated', token },
        email: 'demo@contoso.com',
      });
      expect(again.certificate.checkIssued(device.caCertificate)).toBe(true);
    } finally {
      await second.close();
    }
  });
});
