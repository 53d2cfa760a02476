// Per-device `{{variables}}` in delivered settings: filled for each device from its enrollment
// and the server's values, or not_applicable with the reason when the device lacks one.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultCatalog } from '../../src/catalog/catalog.js';
import { silentLogger } from '../../src/logger.js';
import { applyPolicyFolder } from '../../src/policy/delivery/apply-folder.js';
import { createPolicyHooks } from '../../src/policy/hooks.js';
import type { Storage } from '../../src/storage/index.js';
import { openSqliteStorage } from '../../src/storage/sqlite/index.js';
import { enrollInStorage, FakeDevice, session } from './engine.js';

const SERVERS = './Device/Vendor/MSFT/VPNv2/Corp/NativeProfile/Servers';
const ISSUER = './Device/Vendor/MSFT/VPNv2/Corp/NativeProfile/Authentication/Certificate/Issuer';
const SCEP = './Device/Vendor/MSFT/ClientCertificateInstall/SCEP/vpn/Install';

let dir: string;
let storage: Storage;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mdm-templates-'));
  mkdirSync(join(dir, 'policies'));
  storage = openSqliteStorage({ file: ':memory:' });
});
afterEach(async () => {
  await storage.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('per-device values in delivered settings', () => {
  it('fills variables per device, and marks a setting a device cannot fill not_applicable', async () => {
    writeFileSync(
      join(dir, 'policies', 'vpn.yaml'),
      [
        'name: vpn',
        'certificates:',
        '  - name: vpn',
        '    subject: "CN={{device.id}}"',
        'settings:',
        `  - path: ${SERVERS}`,
        '    value: "{{device.id}}.vpn.example.com"',
        `  - path: ${ISSUER}`,
        '    value: "{{user.upn}} {{certificate.vpn.thumbprint}}"',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'policies', 'assignments.yaml'),
      'assignments:\n  - policy: vpn\n    include: [all]\n',
    );
    const applied = await applyPolicyFolder(storage.policies, join(dir, 'policies'), {
      catalog: defaultCatalog(),
    });
    expect(applied.folder.issues).toEqual([]);
    await enrollInStorage(storage, 'D1', { user: 'ann@example.com' });
    await enrollInStorage(storage, 'D2');
    const hooks = createPolicyHooks({
      logger: silentLogger(),
      templateValues: async (profile) => ({
        scep: { url: 'https://mdm.example.com/scep', caThumbprint: 'CAFE' },
        certificates: profile.id === 'D1' ? { vpn: 'AB12' } : {},
      }),
    });
    const d1 = new FakeDevice('D1');
    const d2 = new FakeDevice('D2');
    await session(hooks, d1, storage);
    await session(hooks, d2, storage);
    expect(d1.tree.get(SERVERS)).toBe('D1.vpn.example.com');
    expect(d2.tree.get(SERVERS)).toBe('D2.vpn.example.com');
    expect(d1.tree.get(ISSUER)).toBe('ann@example.com AB12');
    expect(d1.tree.get(`${SCEP}/SubjectName`)).toBe('CN=D1');
    expect(d1.tree.get(`${SCEP}/ServerURL`)).toBe('https://mdm.example.com/scep');
    expect(d1.tree.get(`${SCEP}/CAThumbprint`)).toBe('CAFE');
    expect(await storage.deviceSettings.getDeviceSetting('D1', ISSUER)).toMatchObject({ state: 'verified' });
    expect(d2.tree.has(ISSUER)).toBe(false);
    expect(await storage.deviceSettings.getDeviceSetting('D2', ISSUER)).toMatchObject({
      state: 'not_applicable',
      reason: 'no value for {{certificate.vpn.thumbprint}} on device D2',
    });
    // The profile's Install nodes are delivered by the certificate profile (challenge and all),
    // never as settings: no template reaches the device.
    expect(d1.tree.get(`${SCEP}/Challenge`)).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect([...d1.tree.values()].some((v) => v.includes('{{'))).toBe(false);
    expect(await storage.deviceSettings.getDeviceSetting('D1', `${SCEP}/Challenge`)).toBeUndefined();
  });
});
