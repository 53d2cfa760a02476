// End to end, from the policy folder alone: a `certificates:` SCEP profile and a Wi-Fi profile
// (WiFi CSP WlanXml, EAP-TLS) naming `{{certificate.wifi.thumbprint}}`. The server sends the
// ClientCertificateInstall Install nodes with a challenge it generated for this device, then the
// Enroll Exec; the virtual Windows device enrols over SCEP (key generated on the device, CA
// thumbprint checked), reports CertThumbprint/Status, the profile becomes `installed`, and the
// Wi-Fi setting is delivered and verified with the real thumbprint. Unassigning the profile
// deletes the SCEP node and revokes the certificate (on the CRL).
import { createHash, X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultCatalog } from '../../src/catalog/catalog.js';
import { main } from '../../src/cli/index.js';
import { parseCertificate } from '../../src/codec/scep/cms.js';
import { createLogger } from '../../src/logger.js';
import { applyPolicyFolder } from '../../src/policy/delivery/apply-folder.js';
import { createToken } from '../../src/services/tokens.js';
import { VirtualDevice } from '../../src/simulator/device.js';
import { makeProfile } from '../../src/simulator/profile.js';
import { apiClient } from '../support/api-client.js';
import { captureCli } from '../support/cli.js';
import { startTestServer, type TestServer } from '../support/server.js';

const ROOT = './Device/Vendor/MSFT/ClientCertificateInstall/SCEP/wifi';
const WLAN = './Device/Vendor/MSFT/WiFi/Profile/CorpWiFi/WlanXml';

const POLICY = `name: wifi
certificates:
  - name: wifi
    subject: "CN={{device.id}}"
    ekus: [clientAuth]
    validityDays: 30
settings:
  - path: ${WLAN}
    value: "<WLANProfile xmlns=\\"http://www.microsoft.com/networking/WLAN/profile/v1\\"><name>CorpWiFi</name><!-- EAP-TLS client certificate {{certificate.wifi.thumbprint}} from CA {{scep.caThumbprint}} --></WLANProfile>"
`;

describe('a SCEP certificate profile and an EAP-TLS Wi-Fi profile from policy alone', () => {
  let server: TestServer;
  let root: string;
  let policyDir: string;
  const logLines: string[] = [];

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'mdm-scep-e2e-'));
    policyDir = join(root, 'policies');
    mkdirSync(policyDir);
    writeFileSync(join(policyDir, 'wifi.yaml'), POLICY);
    writeFileSync(
      join(policyDir, 'assignments.yaml'),
      'assignments:\n  - policy: wifi\n    include: [all]\n',
    );
    const sink = new Writable({
      write(chunk, _enc, done) {
        logLines.push(String(chunk));
        done();
      },
    });
    server = await startTestServer({ policyDir }, { logger: createLogger('trace', sink) });
    await server.ready;
    await server.addUser('wifi@example.com', 'Wifi-pass-1');
  });
  afterAll(async () => {
    await server?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('delivers the challenge and Enroll, the device enrols, and the Wi-Fi profile names its certificate', async () => {
    const device = new VirtualDevice({
      profile: makeProfile('scep-wifi-1'),
      catalog: defaultCatalog(),
      tls: { ca: server.tlsCertPem },
    });
    await device.enroll(server.url, 'wifi@example.com', 'Wifi-pass-1');
    const id = device.profile.deviceId;

    // Session 1: Install nodes with a server-generated challenge, then the Enroll Exec; the
    // device enrols after the session. The Wi-Fi profile cannot name a certificate yet.
    await device.checkIn();
    expect(device.stats.lastError).toBeUndefined();
    const challenge = device.tree.get(`${ROOT}/Install/Challenge`)?.value ?? '';
    expect(challenge).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(device.tree.get(`${ROOT}/Install/SubjectName`)?.value).toBe(`CN=${id}`);
    expect(device.tree.get(`${ROOT}/Install/ServerURL`)?.value).toBe(
      `${server.url}${server.config.scepPath}`,
    );
    expect(device.tree.get(`${ROOT}/Install/CAThumbprint`)?.value).toBe(server.scepCa.thumbprint);
    expect(device.tree.get(`${ROOT}/Status`)?.value).toBe('1');
    const thumbprint = device.tree.get(`${ROOT}/CertThumbprint`)?.value ?? '';
    expect(thumbprint).toMatch(/^[0-9A-F]{40}$/);
    const installed = device.certificates.get(ROOT)!;
    const cert = new X509Certificate(installed.der);
    expect(cert.subject).toBe(`CN=${id}`);
    expect(cert.checkIssued(new X509Certificate(server.scepCa.der))).toBe(true);
    expect(await server.storage.deviceSettings.getDeviceSetting(id, WLAN)).toMatchObject({
      state: 'not_applicable',
    });
    const [afterIssue] = await server.storage.scep.listDeviceProfiles(id);
    expect(afterIssue).toMatchObject({ profile: 'wifi', state: 'issued', thumbprint, subject: `CN=${id}` });

    // The challenge was for this device and profile, is spent, and only its hash is stored.
    const hash = createHash('sha256').update(challenge).digest('hex');
    expect(await server.storage.scep.findChallenge(hash)).toMatchObject({
      deviceId: id,
      profile: 'wifi',
      subject: `CN=${id}`,
      issuance: { validityDays: 30, ekus: ['1.3.6.1.5.5.7.3.2'] },
    });
    expect((await server.storage.scep.findChallenge(hash))?.usedAt).toBeDefined();
    expect(JSON.stringify(afterIssue)).not.toContain(challenge);
    expect(logLines.join('')).not.toContain(challenge);
    expect(JSON.stringify(await server.storage.audit.list({ deviceId: id }))).not.toContain(challenge);

    // Session 2: the server reads the CSP status (installed) and the Wi-Fi profile names the certificate.
    await device.checkIn();
    expect(device.stats.lastError).toBeUndefined();
    expect(await server.storage.scep.listDeviceProfiles(id)).toMatchObject([
      { profile: 'wifi', state: 'installed', installedThumbprint: thumbprint, cspStatus: 1 },
    ]);
    const wlan = device.tree.get(WLAN)?.value ?? '';
    expect(wlan).toContain(`EAP-TLS client certificate ${thumbprint} from CA ${server.scepCa.thumbprint}`);
    expect(await server.storage.deviceSettings.getDeviceSetting(id, WLAN)).toMatchObject({
      state: 'verified',
    });
    // The profile's Install nodes are not settings of their own.
    expect(
      await server.storage.deviceSettings.getDeviceSetting(id, `${ROOT}/Install/Challenge`),
    ).toBeUndefined();

    // Admins see the profile state in the device detail (checked against the OpenAPI document);
    // the challenge in the queued Install nodes is hidden.
    const { token } = await createToken(server.storage, {
      name: 'auditor-bot',
      role: 'auditor',
      actor: 'test',
    });
    const detail = await apiClient(server, token).get(`/api/v1/devices/${id}`);
    expect(detail.status).toBe(200);
    expect(detail.body.certificateProfiles).toMatchObject([
      { profile: 'wifi', state: 'installed', root: ROOT, thumbprint, installedThumbprint: thumbprint },
    ]);
    expect(detail.text).not.toContain(challenge);

    const configFile = join(root, 'mdm.yaml');
    writeFileSync(configFile, server.configYaml());
    const shown = await captureCli(() =>
      main(['node', 'mdm', '--config', configFile, 'devices', 'show', id]),
    );
    expect(shown).toMatchObject({ code: 0 });
    expect(shown.out).toContain('Certificate profiles (1)');
    expect(shown.out).toMatch(new RegExp(`wifi: installed, serial [0-9A-F]+, thumbprint ${thumbprint}`));
    expect(shown.out).not.toContain(challenge);

    // A later session with nothing due sends no new challenge.
    await device.checkIn();
    expect(device.tree.get(`${ROOT}/Install/Challenge`)?.value).toBe(challenge);
    expect(await server.storage.scep.listDeviceProfiles(id)).toMatchObject([{ state: 'installed' }]);

    // Unassigned: the SCEP node is deleted (with the certificate) and the certificate revoked.
    writeFileSync(join(policyDir, 'assignments.yaml'), 'assignments: []\n');
    const applied = await applyPolicyFolder(server.storage.policies, policyDir, {
      catalog: defaultCatalog(),
    });
    expect(applied.folder.issues.filter((i) => i.severity === 'error')).toEqual([]);
    await device.checkIn();
    expect(device.stats.lastError).toBeUndefined();
    expect(device.tree.get(`${ROOT}/CertThumbprint`)).toBeUndefined();
    expect(device.tree.get(`${ROOT}/Install/SubjectName`)).toBeUndefined();
    expect(await server.storage.scep.listDeviceProfiles(id)).toMatchObject([{ state: 'revoked' }]);
    const stored = await server.storage.scep.findCertificateByThumbprint(thumbprint);
    expect(stored).toMatchObject({ status: 'revoked', revocationReason: 'profile unassigned' });
    const der = await getBytes(`${server.url}${server.config.scepPath}/crl`, server.tlsCertPem);
    const crl = new pkijs.CertificateRevocationList({ schema: asn1js.fromBER(new Uint8Array(der)).result });
    expect(await crl.verify({ issuerCertificate: parseCertificate(server.scepCa.der) })).toBe(true);
    const serials = (crl.revokedCertificates ?? []).map((r) =>
      Buffer.from(r.userCertificate.valueBlock.valueHexView).toString('hex').toUpperCase(),
    );
    expect(serials).toContain(stored!.serial);
  });
});

function getBytes(url: string, ca: string | undefined): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const get = url.startsWith('https:') ? httpsGet : httpGet;
    get(url, { ca }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        res.statusCode === 200 ? resolve(Buffer.concat(chunks)) : reject(new Error(`HTTP ${res.statusCode}`)),
      );
    }).on('error', reject);
  });
}
