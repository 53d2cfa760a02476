// Transport: a plain-HTTP server behind a TLS-terminating proxy that forwards the client
// certificate in a header, the header trust rules, and TLS session resumption on the HTTPS listener.
import type { IncomingMessage } from 'node:http';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VALUE_TYPES } from '../../src/codec/soap/namespaces.js';
import { clientCertificateOf, parseForwardedCertificate } from '../../src/http/client-cert.js';
import { createCsr, enrollDevice, faultOf, request, rstMessage } from '../support/enroll-client.js';
import { startTestServer, type TestServer } from '../support/server.js';

const USER = 'proxy@contoso.com';
const PASSWORD = 'pw-proxy';

describe('behind a TLS-terminating proxy (tls: false)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      tls: false,
      trustedProxyCertHeader: 'X-Client-Cert',
      trustedProxies: ['127.0.0.1'],
    });
    await server.addUser(USER, PASSWORD);
  });
  afterAll(() => server?.close());

  it('serves plain HTTP and renews with the certificate forwarded by the proxy (URL-encoded PEM)', async () => {
    expect(server.url.startsWith('http://')).toBe(true);
    const device = await enrollDevice({
      url: server.url,
      credentials: { kind: 'password', username: USER, password: PASSWORD },
    });
    expect(device.managementUrl).toBe(`${server.url}/ManagementServer/MDM.svc`);
    const renew = (headers: Record<string, string>) => postWithHeaders(device.enrollmentUrl, headers, device);
    const ok = await renew({ 'X-Client-Cert': encodeURIComponent(device.certPem) });
    expect(ok.status).toBe(200);
    expect(faultOf(ok.body)).toBeUndefined();
    const none = await renew({});
    expect(faultOf(none.body)?.errorType).toBe('NotEligibleToRenew');
  });

  async function postWithHeaders(
    url: string,
    headers: Record<string, string>,
    device: Awaited<ReturnType<typeof enrollDevice>>,
  ) {
    return request(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/soap+xml; charset=utf-8', ...headers },
      body: rstMessage({
        to: url,
        credentials: { kind: 'password', username: '', password: '' },
        token: createCsr(device.key, device.deviceId),
        valueType: VALUE_TYPES.pkcs10,
        requestType: 'Renew',
        context: [['DeviceID', device.deviceId]],
      }),
    });
  }
});

describe('clientCertificateOf', () => {
  // Truncated certificate: must be ignored, not crash.
  const truncatedPem = `-----BEGIN CERTIFICATE-----
MIIBszCCAVmgAwIBAgIUGUhG4CC3B4+k2l9ydNmmHwYpCRQwCgYIKoZIzj0EAwIw
FzEVMBMGA1UEAwwMdGVzdC1kZXZpY2UtMTAeFw0yNjAxMDEwMDAwMDBaFw0zNjAx
MDEwMDAwMDBaMBcxFTATBgNVBAMMDHRlc3QtZGV2aWNlLTEwWTATBgcqhkjOPQIB
BggqhkjOPQMBBwNCAASyE0tzO4E7Xj/T8nDj+Fv3E1M5xM4s0cR4H8N2kq5y0oKZ
m3Hh6U4vR7a4F6n2fW9tYwq7nC0wM8d9e2v5J1Woo4GEMIGBMB0GA1UdDgQWBBQx
-----END CERTIFICATE-----`;
  const fakeReq = (remoteAddress: string, headers: Record<string, string>) =>
    ({ socket: { remoteAddress }, headers }) as unknown as IncomingMessage;

  it('reads the header only from trusted proxies and only when configured', async () => {
    const server = await startTestServer();
    try {
      const certPem = server.ca.pem; // any parsable certificate will do here
      const der = server.ca.der.toString('base64');
      const options = { trustedProxyCertHeader: 'X-Client-Cert', trustedProxies: ['127.0.0.1'] };
      expect(
        clientCertificateOf(
          fakeReq('::ffff:127.0.0.1', { 'x-client-cert': encodeURIComponent(certPem) }),
          options,
        )?.raw,
      ).toEqual(server.ca.der);
      expect(clientCertificateOf(fakeReq('127.0.0.1', { 'x-client-cert': der }), options)?.raw).toEqual(
        server.ca.der,
      );
      expect(clientCertificateOf(fakeReq('10.0.0.9', { 'x-client-cert': der }), options)).toBeUndefined();
      expect(
        clientCertificateOf(fakeReq('127.0.0.1', { 'x-client-cert': der }), {
          trustedProxies: ['127.0.0.1'],
        }),
      ).toBeUndefined();
      expect(parseForwardedCertificate(encodeURIComponent(truncatedPem))).toBeUndefined();
      expect(parseForwardedCertificate('%%%')).toBeUndefined();
    } finally {
      await server.close();
    }
  });
});

describe('HTTPS listener', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  function connect(session?: Buffer): Promise<{ reused: boolean; session: Buffer | undefined }> {
    const { port } = new URL(server.url);
    return new Promise((resolve, reject) => {
      let saved: Buffer | undefined;
      const socket = tls.connect({
        host: '127.0.0.1',
        port: Number(port),
        ca: server.tlsCertPem,
        servername: 'localhost',
        session,
      });
      socket.on('session', (s: Buffer) => {
        saved = s;
      });
      socket.once('secureConnect', () => {
        socket.write(
          'GET /EnrollmentServer/Discovery.svc HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n',
        );
      });
      socket.on('data', () => {});
      socket.on('end', () => resolve({ reused: socket.isSessionReused(), session: saved }));
      socket.on('error', reject);
    });
  }

  it('resumes TLS sessions (the dev certificate verifies for localhost)', async () => {
    const first = await connect();
    expect(first.reused).toBe(false);
    expect(first.session).toBeDefined();
    const second = await connect(first.session);
    expect(second.reused).toBe(true);
  });
});
