// Malformed and hostile input against the enrollment HTTP endpoints: every case gets a SOAP fault
// with the MS-MDE2 subcode/error type Windows maps to an HRESULT (docs/protocol-notes.md#soap-faults), and the server
// keeps serving.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTIONS } from '../../src/codec/soap/namespaces.js';
import {
  createCsr,
  discoverMessage,
  faultOf,
  generateDeviceKey,
  getPoliciesMessage,
  postSoap,
  request,
  rstMessage,
  windowsContext,
} from '../support/enroll-client.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
const USER = 'demo@contoso.com';
const PASSWORD = 'pw-1234';
const password = { kind: 'password' as const, username: USER, password: PASSWORD };
let urls: { discovery: string; policy: string; enrollment: string };

beforeAll(async () => {
  server = await startTestServer({ maxBodyBytes: 64 * 1024 });
  await server.addUser(USER, PASSWORD);
  urls = {
    discovery: `${server.url}/EnrollmentServer/Discovery.svc`,
    policy: `${server.url}/EnrollmentServer/Policy.svc`,
    enrollment: `${server.url}/EnrollmentServer/Enrollment.svc`,
  };
});
afterAll(() => server?.close());

async function expectFault(url: string, body: string, subcode: string, errorType?: string, status = 500) {
  const res = await postSoap(url, body);
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toBe('application/soap+xml; charset=utf-8');
  expect(res.headers['transfer-encoding']).toBeUndefined();
  const fault = faultOf(res.body);
  expect(fault, res.body).toBeDefined();
  expect(fault!.subcode).toBe(subcode);
  expect(fault!.errorType).toBe(errorType ?? subcode.replace(/^[sa]:/, ''));
  expect(fault!.traceId).toMatch(/^[0-9a-f-]{36}$/);
  // The server is still up.
  expect((await request(urls.discovery)).status).toBe(200);
  return { res, fault: fault! };
}

const rst = (overrides: Partial<Parameters<typeof rstMessage>[0]> = {}) =>
  rstMessage({
    to: urls.enrollment,
    credentials: password,
    token: createCsr(generateDeviceKey(), 'AB12'),
    context: windowsContext({ deviceId: 'AB12' }),
    ...overrides,
  });

describe('XML attacks', () => {
  it('entity expansion (billion laughs) is refused before parsing', async () => {
    const lol =
      '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">' +
      '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>&lol3;</s:Body></s:Envelope>';
    const { fault } = await expectFault(urls.discovery, lol, 's:MessageFormat');
    expect(fault.reason).toMatch(/DOCTYPE/);
  });

  it('an external entity is never resolved', async () => {
    const xxe = discoverMessage({ to: urls.discovery, email: 'x@y' })
      .replace('<s:Envelope', '<!DOCTYPE s:Envelope [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><s:Envelope')
      .replace('x@y', '&xxe;');
    const { res } = await expectFault(urls.discovery, xxe, 's:MessageFormat');
    expect(res.body).not.toContain('root:');
  });

  it('deep nesting is refused', async () => {
    const deep = `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>${'<a>'.repeat(5000)}${'</a>'.repeat(5000)}</s:Body></s:Envelope>`;
    const { fault } = await expectFault(urls.enrollment, deep, 's:MessageFormat');
    expect(fault.reason).toMatch(/nesting/);
  });

  it('a body over the limit gets 413 and a fault', async () => {
    const big = discoverMessage({ to: urls.discovery, email: 'x'.repeat(100 * 1024) });
    const { fault } = await expectFault(urls.discovery, big, 's:MessageFormat', undefined, 413);
    expect(fault.reason).toMatch(/too large/);
  });
});

describe('malformed requests', () => {
  it('not XML, empty body, not SOAP', async () => {
    await expectFault(urls.discovery, 'hello', 's:MessageFormat');
    await expectFault(urls.policy, '', 's:MessageFormat');
    await expectFault(urls.enrollment, '<Envelope/>', 's:MessageFormat');
  });

  it('binary garbage, a wrong content type and a body that lies about its encoding', async () => {
    const send = (body: string | Buffer, headers: Record<string, string>) =>
      request(urls.enrollment, { method: 'POST', headers, body });
    const garbage = Buffer.from(Array.from({ length: 2048 }, (_, i) => (i * 7919 + 13) % 256));
    for (const [body, headers, status] of [
      [garbage, { 'Content-Type': 'application/octet-stream' }, 500],
      ['{"RequestSecurityToken":{}}', { 'Content-Type': 'application/json' }, 500],
      ['not gzip at all', { 'Content-Type': 'application/soap+xml', 'Content-Encoding': 'gzip' }, 400],
    ] as const) {
      const res = await send(body, headers);
      expect(res.status).toBe(status);
      expect(faultOf(res.body)?.subcode).toBe('s:MessageFormat');
    }
    const huge = await send('<x/>', {
      'Content-Type': 'application/soap+xml',
      'X-Padding': 'x'.repeat(64 * 1024),
    });
    expect(huge.status).toBe(431);
    expect((await request(urls.discovery)).status).toBe(200);
  });

  it('the wrong action for the endpoint', async () => {
    const { res } = await expectFault(
      urls.discovery,
      getPoliciesMessage(urls.discovery, password),
      's:MessageFormat',
    );
    // The fault carries the endpoint's response action and echoes the MessageID.
    expect(res.body).toContain(ACTIONS.discoverResponse);
    await expectFault(
      urls.enrollment,
      discoverMessage({ to: urls.enrollment, email: USER }),
      's:MessageFormat',
    );
  });

  it('Discover without RequestVersion', async () => {
    const body = discoverMessage({ to: urls.discovery, email: USER }).replace(
      /<RequestVersion>[^<]*<\/RequestVersion>/,
      '',
    );
    await expectFault(urls.discovery, body, 's:MessageFormat');
  });

  it('RST without DeviceID, with a bad EnrollmentType, without a token, with a non-base64 token', async () => {
    await expectFault(urls.enrollment, rst({ context: [['EnrollmentType', 'Full']] }), 's:MessageFormat');
    await expectFault(
      urls.enrollment,
      rst({
        context: [
          ['DeviceID', 'AB12'],
          ['EnrollmentType', 'Phone'],
        ],
      }),
      's:MessageFormat',
    );
    await expectFault(
      urls.enrollment,
      rst().replace(/<wsse:BinarySecurityToken[^>]*>[^<]*<\/wsse:BinarySecurityToken>/, ''),
      's:MessageFormat',
    );
    await expectFault(
      urls.enrollment,
      rst().replace(/(<wsse:BinarySecurityToken[^>]*>)[^<]*/, '$1!!!'),
      's:MessageFormat',
    );
  });

  it('a CSR that is not a CSR, or names another device', async () => {
    await expectFault(
      urls.enrollment,
      rst({ token: Buffer.from('definitely not DER') }),
      's:CertificateRequest',
    );
    await expectFault(
      urls.enrollment,
      rst({ token: createCsr(generateDeviceKey(), 'OTHERDEVICE') }),
      's:CertificateRequest',
    );
  });

  it('Recovery is not supported', async () => {
    await expectFault(
      urls.enrollment,
      rst({ requestType: 'Recovery' }),
      's:EnrollmentServer',
      'NotSupported',
    );
  });
});

describe('authentication and policy', () => {
  it('wrong password, unknown user, missing token, Entra token', async () => {
    const wrong = { kind: 'password' as const, username: USER, password: 'nope' };
    await expectFault(urls.policy, getPoliciesMessage(urls.policy, wrong), 's:Authentication');
    await expectFault(urls.enrollment, rst({ credentials: wrong }), 's:Authentication');
    await expectFault(
      urls.policy,
      getPoliciesMessage(urls.policy, {
        kind: 'password',
        username: 'ghost@contoso.com',
        password: PASSWORD,
      }),
      's:Authentication',
    );
    await expectFault(urls.policy, getPoliciesMessage(urls.policy, { kind: 'none' }), 'a:InvalidSecurity');
    const entra = getPoliciesMessage(urls.policy, { kind: 'federated', token: 'x' }).replace(
      /ValueType="[^"]*"/,
      'ValueType="urn:ietf:params:oauth:token-type:jwt"',
    );
    await expectFault(urls.policy, entra, 's:Authentication');
  });

  it('RequestVersion below 4.0 is DeviceNotSupported; 9.0 gets the highest supported version', async () => {
    await expectFault(
      urls.discovery,
      discoverMessage({ to: urls.discovery, email: USER, requestVersion: '3.0' }),
      's:Authorization',
      'DeviceNotSupported',
    );
    await expectFault(
      urls.discovery,
      discoverMessage({ to: urls.discovery, email: USER, requestVersion: 'four' }),
      's:MessageFormat',
    );
    for (const [requested, answered] of [
      ['9.0', '5.0'],
      ['5.0', '5.0'],
      ['4.0', '4.0'],
      ['4.5', '4.0'],
    ]) {
      const res = await postSoap(
        urls.discovery,
        discoverMessage({ to: urls.discovery, email: USER, requestVersion: requested }),
      );
      expect(res.status).toBe(200);
      expect(res.headers['transfer-encoding']).toBeUndefined();
      expect(Number(res.headers['content-length'])).toBe(Buffer.byteLength(res.body));
      expect(res.body).toContain(`<EnrollmentVersion>${answered}</EnrollmentVersion>`);
    }
  });

  it('a device offering no enabled policy gets a fault', async () => {
    await expectFault(
      urls.discovery,
      discoverMessage({ to: urls.discovery, email: USER, authPolicies: ['Certificate'] }),
      's:Authorization',
      'NotSupported',
    );
  });

  it('answers the preferred policy when offered, else another enabled one the device offers', async () => {
    const res = await postSoap(
      urls.discovery,
      discoverMessage({
        to: urls.discovery,
        email: USER,
        authPolicies: ['Federated', 'OnPremise'],
        messageId: 'urn:uuid:m-1',
      }),
    );
    expect(res.body).toContain('<AuthPolicy>OnPremise</AuthPolicy>');
    expect(res.body).not.toContain('AuthenticationServiceUrl');
    expect(res.body).toContain('<a:RelatesTo>urn:uuid:m-1</a:RelatesTo>');
    const fed = await postSoap(
      urls.discovery,
      discoverMessage({ to: urls.discovery, email: USER, authPolicies: ['Federated'] }),
    );
    expect(fed.body).toContain('<AuthPolicy>Federated</AuthPolicy>');
    expect(fed.body).toContain('<AuthenticationServiceUrl>');
  });
});

describe('configured policies', () => {
  it('Federated-only server: refuses OnPremise devices and UsernameTokens', async () => {
    const fedOnly = await startTestServer({ authPolicies: ['Federated'], preferredAuthPolicy: 'Federated' });
    try {
      await fedOnly.addUser(USER, PASSWORD);
      const discovery = `${fedOnly.url}/EnrollmentServer/Discovery.svc`;
      const res = await postSoap(
        discovery,
        discoverMessage({ to: discovery, email: USER, authPolicies: ['OnPremise'] }),
      );
      expect(faultOf(res.body)?.errorType).toBe('NotSupported');
      const both = await postSoap(discovery, discoverMessage({ to: discovery, email: USER }));
      expect(both.body).toContain('<AuthPolicy>Federated</AuthPolicy>');
      const policy = `${fedOnly.url}/EnrollmentServer/Policy.svc`;
      const pw = await postSoap(policy, getPoliciesMessage(policy, password));
      expect(faultOf(pw.body)?.subcode).toBe('s:Authentication');
    } finally {
      await fedOnly.close();
    }
  });
});
