// End to end: a virtual Windows device runs ClientCertificateInstall SCEP against the server's SCEP
// endpoint (key generated on the device, one-time challenge, CA thumbprint checked), reports the
// thumbprint, and then receives a Wi-Fi profile (WiFi CSP WlanXml, EAP-TLS) naming that thumbprint.
import { X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultCatalog } from '../../src/catalog/catalog.js';
import { createScepChallenge } from '../../src/scep/service.js';
import type { DmCommand } from '../../src/shared/dm-command.js';
import { VirtualDevice } from '../../src/simulator/device.js';
import { makeProfile } from '../../src/simulator/profile.js';
import { startTestServer, type TestServer } from '../support/server.js';

const ROOT = './Device/Vendor/MSFT/ClientCertificateInstall/SCEP/wifi';
const WLAN = './Device/Vendor/MSFT/WiFi/Profile/CorpWiFi/WlanXml';

const POLICY = `name: wifi
certificates:
  - name: wifi
    subject: "CN={{device.id}}"
    ekus: [clientAuth]
settings:
  - path: ${WLAN}
    value: "<WLANProfile xmlns=\\"http://www.microsoft.com/networking/WLAN/profile/v1\\"><name>CorpWiFi</name><!-- EAP-TLS client certificate {{certificate.wifi.thumbprint}} from CA {{scep.caThumbprint}} --></WLANProfile>"
`;

describe('ClientCertificateInstall SCEP on a virtual device, then an EAP-TLS Wi-Fi profile', () => {
  let server: TestServer;
  let root: string;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'mdm-scep-e2e-'));
    const policyDir = join(root, 'policies');
    mkdirSync(policyDir);
    writeFileSync(join(policyDir, 'wifi.yaml'), POLICY);
    writeFileSync(
      join(policyDir, 'assignments.yaml'),
      'assignments:\n  - policy: wifi\n    include: [all]\n',
    );
    server = await startTestServer({ policyDir });
    await server.ready;
    await server.addUser('wifi@example.com', 'Wifi-pass-1');
  });
  afterAll(async () => {
    await server?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('enrols over SCEP, reports the thumbprint, and gets the Wi-Fi profile naming it', async () => {
    const device = new VirtualDevice({
      profile: makeProfile('scep-wifi-1'),
      catalog: defaultCatalog(),
      tls: { ca: server.tlsCertPem },
    });
    await device.enroll(server.url, 'wifi@example.com', 'Wifi-pass-1');
    const id = device.profile.deviceId;
    const { challenge } = await createScepChallenge(server.storage, {
      deviceId: id,
      profile: 'wifi',
      subject: `CN=${id}`,
      issuance: {
        validityDays: 30,
        keyUsage: ['digitalSignature', 'keyEncipherment'],
        ekus: ['1.3.6.1.5.5.7.3.2'],
      },
      ttlMinutes: 60,
    });
    const add = (node: string, data: string, format: 'chr' | 'int' = 'chr'): DmCommand => ({
      verb: 'Add',
      items: [{ target: `${ROOT}/Install/${node}`, format, data }],
    });
    const commands: DmCommand[] = [
      add('ServerURL', `${server.url}${server.config.scepPath}`),
      add('Challenge', challenge),
      add('SubjectName', `CN=${id}`),
      add('KeyLength', '2048', 'int'),
      add('CAThumbprint', server.scepCa.thumbprint),
      { verb: 'Exec', items: [{ target: `${ROOT}/Install/Enroll`, format: 'null' }] },
    ];
    for (const command of commands)
      await server.storage.commands.enqueue({ deviceId: id, command, origin: 'admin' });

    // Before the certificate exists the Wi-Fi profile cannot name it: not_applicable, not sent.
    await device.checkIn();
    expect(device.stats.lastError).toBeUndefined();
    expect(device.tree.get(`${ROOT}/Status`)?.value).toBe('1');
    const thumbprint = device.tree.get(`${ROOT}/CertThumbprint`)?.value;
    expect(thumbprint).toMatch(/^[0-9A-F]{40}$/);
    const installed = device.certificates.get(ROOT)!;
    const cert = new X509Certificate(installed.der);
    expect(cert.subject).toBe(`CN=${id}`);
    expect(cert.checkPrivateKey(installed.privateKey)).toBe(true);
    expect(cert.checkIssued(new X509Certificate(server.scepCa.der))).toBe(true);
    const stored = await server.storage.scep.findCertificateByThumbprint(thumbprint!);
    expect(stored).toMatchObject({ deviceId: id, profile: 'wifi', status: 'issued' });

    // The next session delivers the WlanXml with this device's certificate thumbprint.
    await device.checkIn();
    const wlan = device.tree.get(WLAN)?.value ?? '';
    expect(wlan).toContain(`EAP-TLS client certificate ${thumbprint} from CA ${server.scepCa.thumbprint}`);
    expect(await server.storage.deviceSettings.getDeviceSetting(id, WLAN)).toMatchObject({
      state: 'verified',
    });
    // The policy's own Challenge node is never sent as a template.
    expect(
      await server.storage.deviceSettings.getDeviceSetting(id, `${ROOT}/Install/Challenge`),
    ).toMatchObject({
      state: 'not_applicable',
    });

    // A second Enroll with the spent challenge fails on the device with Status 16.
    await server.storage.commands.enqueue({
      deviceId: id,
      command: { verb: 'Exec', items: [{ target: `${ROOT}/Install/Enroll`, format: 'null' }] },
      origin: 'admin',
    });
    await device.checkIn();
    expect(device.tree.get(`${ROOT}/Status`)?.value).toBe('16');
    expect(device.stats.lastError).toMatch(/badRequest the challenge password was already used/);
  });
});
