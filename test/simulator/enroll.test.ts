import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultCatalog } from '../../src/catalog/catalog.js';
import { VirtualDevice } from '../../src/simulator/device.js';
import { EnrollmentRefused } from '../../src/simulator/enroll-messages.js';
import { makeProfile } from '../../src/simulator/profile.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe('virtual device enrollment over HTTPS', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
    await server.addUser('sim@example.com', 'Secret-pass-1');
  });
  afterAll(async () => server?.close());

  it('enrolls with its own key and installs the issued certificate and w7 account', async () => {
    const device = new VirtualDevice({
      profile: makeProfile('enroll-1'),
      catalog: defaultCatalog(),
      tls: { ca: server.tlsCertPem },
    });
    const account = await device.enroll(server.url, 'sim@example.com', 'Secret-pass-1');
    expect(device.enrolled).toBe(true);
    expect(account.addr).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/ManagementServer\/MDM\.svc$/);
    expect(account.providerId).toBe(server.config.providerId);
    const cert = new X509Certificate(account.certPem);
    expect(cert.verify(server.ca.certificate.publicKey)).toBe(true);
    expect(cert.subject).toContain(device.profile.deviceId);
    const device2 = await server.storage.devices.getDevice(device.profile.deviceId);
    expect(device2).toBeDefined();
    // Provider nodes from the provisioning doc are in the device's tree.
    expect(device.tree.get(`./Vendor/MSFT/DMClient/Provider/${account.providerId}/EntDMID`)).toBeDefined();
  });

  it('reports the server refusal for a wrong password', async () => {
    const device = new VirtualDevice({
      profile: makeProfile('enroll-2'),
      catalog: defaultCatalog(),
      tls: { insecure: true },
    });
    await expect(device.enroll(server.url, 'sim@example.com', 'wrong')).rejects.toBeInstanceOf(
      EnrollmentRefused,
    );
    expect(device.enrolled).toBe(false);
  });
});

describe('virtual device Federated enrollment', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ preferredAuthPolicy: 'Federated' });
    await server.addUser('web@example.com', 'Web-pass-1');
  });
  afterAll(async () => server?.close());

  it('signs in on the web page, then enrolls with the token', async () => {
    const seen: string[] = [];
    const device = new VirtualDevice({
      profile: makeProfile('federated-1'),
      catalog: defaultCatalog(),
      tls: { ca: server.tlsCertPem },
      onExchange: ({ request }) => seen.push(`${request.method} ${new URL(request.url).pathname}`),
    });
    await device.enroll(server.url, 'web@example.com', 'Web-pass-1');
    expect(device.enrolled).toBe(true);
    expect(seen).toEqual([
      'GET /EnrollmentServer/Discovery.svc',
      'POST /EnrollmentServer/Discovery.svc',
      'GET /EnrollmentServer/Auth',
      'POST /EnrollmentServer/Auth',
      'POST /EnrollmentServer/Policy.svc',
      'POST /EnrollmentServer/Enrollment.svc',
    ]);
    expect((await device.checkIn()).ok).toBe(true);
  });

  it('reports a refused sign-in', async () => {
    const device = new VirtualDevice({
      profile: makeProfile('federated-2'),
      catalog: defaultCatalog(),
      tls: { insecure: true },
    });
    await expect(device.enroll(server.url, 'web@example.com', 'nope')).rejects.toThrow(
      /refused the credentials/,
    );
  });
});

describe('behind a TLS-terminating proxy', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ tls: false, trustedProxyCertHeader: 'X-Client-Cert' });
    await server.addUser('proxy@example.com', 'Proxy-pass-1');
  });
  afterAll(async () => server?.close());

  it('enrolls over HTTP and authenticates sessions with the forwarded certificate header', async () => {
    const headers: string[] = [];
    const device = new VirtualDevice({
      profile: makeProfile('proxy-1'),
      catalog: defaultCatalog(),
      tls: { forwardedCertHeader: 'X-Client-Cert' },
      onExchange: ({ request }) => headers.push(request.url),
    });
    await device.enroll(server.url, 'proxy@example.com', 'Proxy-pass-1');
    const report = await device.checkIn();
    expect(report.ok, report.error).toBe(true);
    expect(headers.at(-1)).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/ManagementServer\/MDM\.svc/);
    const plain = new VirtualDevice({ profile: device.profile, catalog: defaultCatalog() });
    plain.adopt(device.identity!);
    expect((await plain.checkIn()).ok).toBe(false);
  });
});
