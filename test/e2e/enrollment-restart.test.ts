// Restarting the server on the same folders reuses the CA, the TLS certificate, the database and
// the sign-in token key (zero-config development mode).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { addUser } from '../../src/enrollment/users.js';
import { silentLogger } from '../../src/logger.js';
import { startMdmServer } from '../../src/main.js';
import { enrollDevice, federatedSignIn } from '../support/enroll-client.js';

const root = mkdtempSync(join(tmpdir(), 'mdm-restart-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const start = () =>
  startMdmServer(
    loadConfig({
      env: {},
      flags: { dataDir: join(root, 'data'), certsDir: join(root, 'certs'), host: '127.0.0.1', port: 0 },
    }),
    {
      logger: silentLogger(),
      warn: false,
      publicUrlForPort: (port, protocol) => `${protocol}://127.0.0.1:${port}`,
    },
  );

describe('restart', () => {
  it('keeps CA, TLS certificate, users, devices and sign-in tokens', async () => {
    const first = await start();
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
