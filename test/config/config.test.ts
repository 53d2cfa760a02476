import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { envName, loadConfig } from '../../src/config.js';

describe('loadConfig', () => {
  it('has working embedded defaults', () => {
    const c = loadConfig({ env: {} });
    expect(c.port).toBe(8443);
    expect(c.publicUrl).toBe('https://localhost:8443');
    expect(c.dataDir).toBe('data');
    expect(c.authPolicies).toEqual(['OnPremise', 'Federated']);
  });

  it('layers file ← env ← flags', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mdm-config-'));
    const file = join(dir, 'mdm.yaml');
    writeFileSync(file, 'port: 9000\ndataDir: /tmp/x\nproviderId: FromFile\n');
    const c = loadConfig({
      env: { MDM_PORT: '9100', MDM_CONFIG: file },
      flags: { port: 9200, host: undefined },
    });
    expect(c.port).toBe(9200);
    expect(c.dataDir).toBe('/tmp/x');
    expect(c.providerId).toBe('FromFile');
    expect(loadConfig({ env: { MDM_PORT: '9100', MDM_CONFIG: file } }).port).toBe(9100);
  });

  it('fails with a message naming the setting and its source', () => {
    expect(() => loadConfig({ env: { MDM_PORT: 'eighty' } })).toThrow(/port \(MDM_PORT\)/);
    expect(() => loadConfig({ env: { MDM_AUTH_POLICIES: 'Kerberos' } })).toThrow(/authPolicies/);
    expect(() => loadConfig({ env: { MDM_AUTH_POLICIES: 'Federated' } })).toThrow(/preferredAuthPolicy/);
    expect(() => loadConfig({ env: {}, flags: { tlsCert: '/a.pem' } })).toThrow(/tlsCert and tlsKey/);
  });

  it('reads the listener limits from MDM_* variables, with defaults', () => {
    expect(loadConfig({ env: {} })).toMatchObject({
      requestTimeoutSeconds: 60,
      bodyTimeoutSeconds: 15,
      maxConnectionsPerClient: 256,
    });
    expect(
      loadConfig({
        env: {
          MDM_REQUEST_TIMEOUT_SECONDS: '30',
          MDM_BODY_TIMEOUT_SECONDS: '5',
          MDM_MAX_CONNECTIONS_PER_CLIENT: '8',
        },
      }),
    ).toMatchObject({ requestTimeoutSeconds: 30, bodyTimeoutSeconds: 5, maxConnectionsPerClient: 8 });
    expect(() => loadConfig({ env: { MDM_BODY_TIMEOUT_SECONDS: '0' } })).toThrow(
      /bodyTimeoutSeconds \(MDM_BODY_TIMEOUT_SECONDS\)/,
    );
  });

  it('reads the capture caps and refuses a fixture cap above the folder cap', () => {
    expect(loadConfig({ env: {} })).toMatchObject({
      captureMaxBytes: 8 * 1024 * 1024,
      captureDirMaxBytes: 512 * 1024 * 1024,
    });
    expect(
      loadConfig({ env: { MDM_CAPTURE_MAX_BYTES: '100000', MDM_CAPTURE_DIR_MAX_BYTES: '2000000' } }),
    ).toMatchObject({ captureMaxBytes: 100_000, captureDirMaxBytes: 2_000_000 });
    expect(() =>
      loadConfig({ env: { MDM_CAPTURE_MAX_BYTES: '4000000', MDM_CAPTURE_DIR_MAX_BYTES: '2000000' } }),
    ).toThrow(/captureMaxBytes must not be larger than captureDirMaxBytes/);
  });

  it('maps setting names to MDM_* variables', () => {
    expect(envName('trustedProxyCertHeader')).toBe('MDM_TRUSTED_PROXY_CERT_HEADER');
    expect(envName('caKey')).toBe('MDM_CA_KEY');
  });
});
