// A trusted root from a policy's `certificates:` reaches a virtual Windows device: the
// EncodedCertificate Add under RootCATrustedCertificates/<store>/<thumbprint>, read back to
// `verified`, and deleted with its {CertHash} node when the policy no longer has it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultCatalog } from '../../src/catalog/catalog.js';
import { loadOrCreateCa } from '../../src/pki/ca.js';
import { createToken } from '../../src/services/tokens.js';
import { VirtualDevice } from '../../src/simulator/device.js';
import { makeProfile } from '../../src/simulator/profile.js';
import { apiClient } from '../support/api-client.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
let device: VirtualDevice;
let api: ReturnType<typeof apiClient>;
const certsDir = mkdtempSync(join(tmpdir(), 'mdm-root-e2e-'));
const radiusCa = loadOrCreateCa({ certsDir, commonName: 'Example RADIUS CA' });
const nodeRoot = `./Device/Vendor/MSFT/RootCATrustedCertificates/Root/${radiusCa.thumbprint}`;

const policy = (withRoot: boolean) =>
  'name: wifi-trust\n' +
  (withRoot
    ? `certificates:\n  - type: root\n    name: radius-ca\n    certificate: |\n${radiusCa.pem
        .trim()
        .split('\n')
        .map((l) => `      ${l}`)
        .join('\n')}\n`
    : '') +
  'settings:\n  - path: Camera/AllowCamera\n    value: 0\n';

beforeAll(async () => {
  server = await startTestServer();
  await server.addUser('roots@contoso.com', 'Roots-pass-1');
  device = new VirtualDevice({
    profile: makeProfile('roots-1'),
    catalog: defaultCatalog(),
    tls: { ca: server.tlsCertPem },
  });
  await device.enroll(server.url, 'roots@contoso.com', 'Roots-pass-1');
  const token = await createToken(server.storage, { name: 'roots', role: 'admin', actor: 'test' });
  api = apiClient(server, token.token);
});
afterAll(async () => {
  await server?.close();
  rmSync(certsDir, { recursive: true, force: true });
});

const apply = (withRoot: boolean) =>
  api.post('/api/v1/policies/apply', {
    files: {
      'wifi-trust.yaml': policy(withRoot),
      'assignments.yaml': 'assignments:\n  - policy: wifi-trust\n    include: [all]\n',
    },
  });

async function settingState(path: string): Promise<string | undefined> {
  const res = await api.get(`/api/v1/devices/${device.profile.deviceId}`);
  expect(res.status).toBe(200);
  const settings = res.body.settings as { path: string; state: string }[];
  return settings.find((s) => s.path === path)?.state;
}

describe('trusted roots on a virtual device', () => {
  it('adds the root, reads it back to verified, and deletes it when the policy drops it', async () => {
    expect((await apply(true)).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await device.checkIn()).ok).toBe(true);
    expect(await settingState(`${nodeRoot}/EncodedCertificate`)).toBe('verified');
    expect(device.tree.get(`${nodeRoot}/EncodedCertificate`)?.value).toBe(radiusCa.der.toString('base64'));

    expect((await apply(false)).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await device.checkIn()).ok).toBe(true);
    expect(device.tree.get(`${nodeRoot}/EncodedCertificate`)).toBeUndefined();
    expect(device.tree.hasInterior(nodeRoot)).toBe(false);
    expect(await settingState('./Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera')).toBe('verified');
    expect(await settingState(`${nodeRoot}/EncodedCertificate`)).toBe('removed');
  });
});
