// End to end over a real HTTPS socket: discovery → GetPolicies → RequestSecurityToken with a user
// created by `mdm users add`, then renewal authenticated by the issued client certificate, and the
// Federated sign-in flow.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/index.js';
import { findCharacteristic, findCharacteristics } from '../../src/codec/soap/provisioning.js';
import { describeBackends } from '../support/backends.js';
import {
  createCsr,
  discover,
  enrollDevice,
  faultOf,
  federatedSignIn,
  generateDeviceKey,
  parseSoapResponse,
  postSoap,
  provisioningDocOf,
  renewDevice,
  request,
  rstMessage,
  signRenewalRequest,
} from '../support/enroll-client.js';
import { startTestServer, type TestServer } from '../support/server.js';

describeBackends('enrollment end to end', (backend) => {
  let server: TestServer;
  const USER = 'demo@contoso.com';
  const PASSWORD = 'correct horse battery staple';

  beforeAll(async () => {
    server = await startTestServer({}, { backend });
    // Create the user through the real CLI, pointed at the server's data by a config file.
    const configFile = join(server.dataDir, '..', 'mdm.yaml');
    writeFileSync(configFile, server.configYaml());
    const out: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => out.push(String(chunk)) > 0) as typeof process.stdout.write;
    try {
      await buildProgram().parseAsync([
        'node',
        'mdm',
        '--config',
        configFile,
        'users',
        'add',
        USER,
        '--password',
        PASSWORD,
      ]);
    } finally {
      process.stdout.write = write;
    }
    expect(out.join('')).toContain(`added ${USER}`);
  });
  afterAll(() => server?.close());

  describe('OnPremise enrollment and renewal', () => {
    let device: Awaited<ReturnType<typeof enrollDevice>>;
    let renewedKey: Awaited<ReturnType<typeof renewDevice>>['key'];

    it('answers the discovery GET probe with 200 and an empty body', async () => {
      const res = await request(`${server.url}/EnrollmentServer/Discovery.svc`);
      expect(res.status).toBe(200);
      expect(res.headers['content-length']).toBe('0');
    });

    it('enrolls a device: certificate chains to the doc CA, clientAuth EKU, CN = DeviceID, ADDR = management URL', async () => {
      device = await enrollDevice({
        url: server.url,
        credentials: { kind: 'password', username: USER, password: PASSWORD },
        deviceName: 'DESKTOP-E2E',
      });
      expect(device.discovery).toMatchObject({
        authPolicy: 'OnPremise',
        enrollmentVersion: '4.0',
        policyUrl: `${server.url}/EnrollmentServer/Policy.svc`,
        enrollmentUrl: `${server.url}/EnrollmentServer/Enrollment.svc`,
      });
      const cert = device.certificate;
      expect(cert.checkIssued(device.caCertificate)).toBe(true);
      expect(cert.verify(device.caCertificate.publicKey)).toBe(true);
      expect(device.caCertificate.raw).toEqual(server.ca.der);
      expect(cert.keyUsage).toContain('1.3.6.1.5.5.7.3.2');
      expect(cert.subject).toBe(`CN=${device.deviceId}`);
      expect(cert.checkPrivateKey(createPrivateKey(device.key.privateKeyPem))).toBe(true);
      expect(device.managementUrl).toBe(`${server.url}/ManagementServer/MDM.svc`);

      const doc = device.provisioningDoc;
      // CertificateStore entries are named by the SHA-1 thumbprint of the certificate they hold.
      const thumbprint = (c: X509Certificate) => c.fingerprint.replaceAll(':', '');
      expect(
        findCharacteristic(doc, 'CertificateStore', 'Root', 'System', thumbprint(device.caCertificate)),
      ).toBeDefined();
      expect(findCharacteristic(doc, 'CertificateStore', 'My', 'User', thumbprint(cert))).toBeDefined();
      const app = findCharacteristic(doc, 'APPLICATION')!;
      expect(app.parms.get('APPID')?.value).toBe('w7');
      expect(app.parms.get('PROVIDER-ID')?.value).toBe(server.config.providerId);
      const auths = findCharacteristics(app, 'APPAUTH');
      expect(auths.map((a) => a.parms.get('AAUTHLEVEL')?.value)).toEqual(['CLIENT', 'APPSRV']);
      const provider = findCharacteristic(doc, 'DMClient', 'Provider', server.config.providerId)!;
      const stored = await server.storage.devices.getDevice(device.deviceId);
      expect(provider.parms.get('EntDMID')?.value).toBe(stored?.enrollmentId);
      expect(
        findCharacteristic(provider, 'Poll')?.parms.get('IntervalForRemainingScheduledRetries')?.value,
      ).toBe(String(server.config.pollIntervalMinutes));
      // Stored: device facts, user, digest credentials matching the doc, and the certificate.
      expect(stored).toMatchObject({
        status: 'enrolled',
        name: 'DESKTOP-E2E',
        userUpn: USER,
        enrollmentType: 'Full',
        authPolicy: 'OnPremise',
        osEdition: '48',
        osVersion: '10.0.26100.1',
        deviceType: 'CIMClient_Windows',
        macs: ['00-15-5D-01-02-03'],
      });
      expect(stored?.hwDevId).toMatch(/^[0-9A-F]{64}$/);
      expect(Date.now() - Date.parse(stored!.enrolledAt)).toBeLessThan(10 * 60_000);
      const digest = await server.storage.devices.getDigestCredentials(device.deviceId);
      expect(auths[1]!.parms.get('AAUTHSECRET')?.value).toBe(digest?.appSrv.secret);
      expect(auths[1]!.parms.get('AAUTHNAME')?.value).toBe(digest?.appSrv.name);
      const record = await server.storage.certificates.findBySerial(cert.serialNumber);
      expect(record).toMatchObject({ deviceId: device.deviceId, status: 'active', deviceStatus: 'enrolled' });
    });

    it('renews with the client certificate on the TLS socket (PKCS#7) and records the new certificate', async () => {
      const renewed = await renewDevice({ device });
      renewedKey = renewed.key;
      expect(renewed.certificate.subject).toBe(`CN=${device.deviceId}`);
      expect(renewed.certificate.checkIssued(new X509Certificate(server.ca.der))).toBe(true);
      expect(renewed.certificate.serialNumber).not.toBe(device.certificate.serialNumber);
      expect(
        findCharacteristic(renewed.provisioningDoc, 'CertificateStore', 'My', 'User', 'PrivateKeyContainer'),
      ).toBeDefined();
      expect((await server.storage.certificates.findBySerial(renewed.certificate.serialNumber))?.status).toBe(
        'active',
      );
      expect((await server.storage.certificates.findBySerial(device.certificate.serialNumber))?.status).toBe(
        'superseded',
      );
    });

    it('renews with a bare PKCS#10 authenticated by the TLS client certificate', async () => {
      const current = await server.storage.certificates.listForDevice(device.deviceId);
      const active = current.find((c) => c.status === 'active')!;
      const tlsCert = new X509Certificate(active.der);
      // The renewal above replaced the certificate; authenticate with the one now active.
      const key = tlsCert.serialNumber === device.certificate.serialNumber ? device.key : renewedKey;
      const renewed = await renewDevice({
        device: { ...device, certPem: tlsCert.toString(), key },
        pkcs7: false,
      });
      expect(renewed.certificate.subject).toBe(`CN=${device.deviceId}`);
      expect(renewed.certificate.checkIssued(new X509Certificate(server.ca.der))).toBe(true);
      expect((await server.storage.certificates.findBySerial(renewed.certificate.serialNumber))?.status).toBe(
        'active',
      );
      expect((await server.storage.certificates.findBySerial(tlsCert.serialNumber))?.status).toBe(
        'superseded',
      );
    });

    it('refuses a renewal PKCS#7 not signed with the key of the TLS client certificate', async () => {
      const { rstMessage, createCsr, generateDeviceKey, signRenewalRequest } = await import(
        '../support/enroll-client.js'
      );
      const other = generateDeviceKey();
      const rst = rstMessage({
        to: device.enrollmentUrl,
        credentials: { kind: 'password', username: '', password: '' },
        token: signRenewalRequest(createCsr(other, device.deviceId), device.certPem, other.privateKeyPem),
        valueType: 'http://schemas.microsoft.com/windows/pki/2009/01/enrollment#PKCS7',
        requestType: 'Renew',
        context: [['DeviceID', device.deviceId]],
      });
      const res = await postSoap(device.enrollmentUrl, rst, {
        cert: device.certPem,
        key: device.key.privateKeyPem,
      });
      expect(faultOf(res.body)?.errorType).toBe('NotEligibleToRenew');
    });

    it('accepts a manual-renewal PKCS#7 that is base64-encoded twice', async () => {
      const p7 = signRenewalRequest(
        createCsr(generateDeviceKey(), device.deviceId),
        device.certPem,
        device.key.privateKeyPem,
      );
      const rst = rstMessage({
        to: device.enrollmentUrl,
        credentials: { kind: 'password', username: '', password: '' },
        token: Buffer.from(p7.toString('base64'), 'latin1'),
        valueType: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd#PKCS7',
        requestType: 'Renew',
        context: [['DeviceID', device.deviceId]],
      });
      const res = await postSoap(device.enrollmentUrl, rst, {
        cert: device.certPem,
        key: device.key.privateKeyPem,
      });
      expect(res.status).toBe(200);
      expect(provisioningDocOf(parseSoapResponse(res.body))).toContain('PrivateKeyContainer');
    });

    it('refuses renewal without a client certificate (NotEligibleToRenew)', async () => {
      const rst = rstMessage({
        to: device.enrollmentUrl,
        credentials: { kind: 'password', username: '', password: '' },
        token: createCsr(generateDeviceKey(), device.deviceId),
        requestType: 'Renew',
        context: [['DeviceID', device.deviceId]],
      });
      const res = await postSoap(device.enrollmentUrl, rst);
      expect(res.status).toBe(500);
      expect(faultOf(res.body)?.errorType).toBe('NotEligibleToRenew');
    });

    it('re-enrolling the same hardware under a new DeviceID replaces the old enrollment', async () => {
      const first = await enrollDevice({
        url: server.url,
        credentials: { kind: 'password', username: USER, password: PASSWORD },
        hwDevId: 'AB'.repeat(32),
      });
      const queued = await server.storage.commands.enqueue({
        deviceId: first.deviceId,
        command: { verb: 'Get', items: [{ target: './DevDetail/SwV' }] },
        origin: 'admin',
      });
      const second = await enrollDevice({
        url: server.url,
        credentials: { kind: 'password', username: USER, password: PASSWORD },
        hwDevId: 'AB'.repeat(32),
      });
      expect((await server.storage.devices.getDevice(first.deviceId))?.status).toBe('unenrolled');
      expect((await server.storage.devices.getDevice(second.deviceId))?.status).toBe('enrolled');
      expect((await server.storage.certificates.findBySerial(first.certificate.serialNumber))?.status).toBe(
        'revoked',
      );
      // Work queued for the old DeviceID can never be delivered: it is cancelled.
      expect((await server.storage.commands.get(queued))?.state).toBe('cancelled');
      // A revoked certificate cannot renew.
      await expect(renewDevice({ device: first })).rejects.toMatchObject({
        fault: { errorType: 'NotEligibleToRenew' },
      });
    });

    it('rejects a wrong password with an Authentication fault', async () => {
      await expect(
        enrollDevice({
          url: server.url,
          credentials: { kind: 'password', username: USER, password: 'wrong' },
        }),
      ).rejects.toMatchObject({ status: 500, fault: { subcode: 's:Authentication' } });
    });
  });

  describe('Federated enrollment', () => {
    it('signs in on the HTML page, then enrolls with wresult as the BinarySecurityToken', async () => {
      const discovery = await discover(server.url, { email: USER, authPolicies: ['Federated'] });
      expect(discovery.authPolicy).toBe('Federated');
      expect(discovery.authenticationUrl).toBe(`${server.url}/EnrollmentServer/Auth`);
      const token = await federatedSignIn(discovery.authenticationUrl!, USER, PASSWORD);
      const device = await enrollDevice({
        url: server.url,
        credentials: { kind: 'federated', token },
        email: USER,
      });
      expect(device.certificate.subject).toBe(`CN=${device.deviceId}`);
      expect(await server.storage.devices.getDevice(device.deviceId)).toMatchObject({
        authPolicy: 'Federated',
        userUpn: USER,
      });
    });

    it('a sign-in token enrolls one device once: a second enrollment with it is refused', async () => {
      const discovery = await discover(server.url, { email: USER, authPolicies: ['Federated'] });
      const token = await federatedSignIn(discovery.authenticationUrl!, USER, PASSWORD);
      const first = await enrollDevice({
        url: server.url,
        credentials: { kind: 'federated', token },
        email: USER,
      });
      expect(await server.storage.devices.getDevice(first.deviceId)).toMatchObject({
        authPolicy: 'Federated',
      });
      const again = enrollDevice({ url: server.url, credentials: { kind: 'federated', token }, email: USER });
      await expect(again).rejects.toMatchObject({
        status: 500,
        fault: { subcode: 's:Authentication', reason: expect.stringMatching(/already used/) },
      });
      // A fresh sign-in enrolls again.
      const next = await federatedSignIn(discovery.authenticationUrl!, USER, PASSWORD);
      const second = await enrollDevice({
        url: server.url,
        credentials: { kind: 'federated', token: next },
        email: USER,
      });
      expect(second.deviceId).not.toBe(first.deviceId);
    });

    it('the sign-in page refuses a wrong password and a non-Windows appru', async () => {
      const url = `${server.url}/EnrollmentServer/Auth`;
      await expect(federatedSignIn(url, USER, 'wrong')).rejects.toThrow(/sign-in failed/);
      const page = await request(`${url}?appru=${encodeURIComponent('https://evil.example/')}`);
      expect(page.status).toBe(400);
    });

    it('rejects a forged token', async () => {
      await expect(
        enrollDevice({
          url: server.url,
          credentials: { kind: 'federated', token: 'eyJzdWIiOiJ4In0.forged' },
          email: USER,
        }),
      ).rejects.toMatchObject({ fault: { subcode: 's:Authentication' } });
    });
  });
});
