// Characters XML 1.0 does not allow, raw or as character references, never reach a response: the
// parsers refuse them with the protocol's error (SOAP fault, HTTP 400 for SyncML), faults carry
// fixed reasons (never the parser's message or request bytes), the sign-in page escapes and cleans
// what it reflects, an enrollment with a control character in a context value is refused before
// anything is stored, and a malformed percent-escape in any route family is a 4xx in that
// protocol, logged without a stack.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSyncMl } from '../../src/codec/syncml/index.js';
import { createLogger } from '../../src/logger.js';
import { createApiToken } from '../../src/reporting/api-tokens.js';
import { clientMessage, package1 } from '../dm/helpers.js';
import { encodeClient } from '../dm/support.js';
import {
  createCsr,
  discoverMessage,
  type EnrolledDevice,
  enrollDevice,
  faultOf,
  generateDeviceKey,
  parseSoapResponse,
  postSoap,
  provisioningDocOf,
  request,
  rstMessage,
  windowsContext,
} from '../support/enroll-client.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { ILLEGAL_IN_HTML, wellFormedError } from '../support/strict-xml.js';

const USER = 'chars@contoso.com';
const PASSWORD = 'pw-chars-1';
const password = { kind: 'password' as const, username: USER, password: PASSWORD };
let server: TestServer;
let device: EnrolledDevice;
let apiToken: string;
const logLines: string[] = [];
const discoveryUrl = () => `${server.url}/EnrollmentServer/Discovery.svc`;
const enrollmentUrl = () => `${server.url}/EnrollmentServer/Enrollment.svc`;

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  server = await startTestServer({}, { logger: createLogger('debug', sink) });
  await server.addUser(USER, PASSWORD);
  device = await enrollDevice({ url: server.url, credentials: password });
  apiToken = (await createApiToken(server.storage.tokens, 'test')).token;
});
afterAll(() => server?.close());

/** Every way a forbidden character can be written into a document. */
const FORBIDDEN = [
  ['a raw SOH', '\u0001'],
  ['a raw ESC', '\u001b'],
  ['&#1;', '&#1;'],
  ['&#x0;', '&#x0;'],
  ['&#xD800; (a lone surrogate)', '&#xD800;'],
  ['&#xFFFE;', '&#xFFFE;'],
  ['&#65535;', '&#65535;'],
  ['a raw U+FFFF', '\uFFFF'],
] as const;

/** A Discover whose MessageID is written as given, unescaped (raw characters and references). */
const withMessageId = (raw: string) =>
  discoverMessage({ to: discoveryUrl(), email: USER, messageId: 'urn:uuid:MESSAGE-ID' }).replace(
    'urn:uuid:MESSAGE-ID',
    raw,
  );

function expectCleanFault(body: string, subcode = 's:MessageFormat') {
  expect(wellFormedError(body)).toBeUndefined();
  const fault = faultOf(body);
  expect(fault?.subcode).toBe(subcode);
  return fault!;
}

describe('SOAP endpoints refuse forbidden characters with a MessageFormat fault', () => {
  it.each(FORBIDDEN)('%s in the Discover MessageID and EmailAddress', async (_name, bad) => {
    for (const body of [
      withMessageId(`urn:uuid:x${bad}y`),
      discoverMessage({ to: discoveryUrl(), email: USER }).replace(USER, `a${bad}b@contoso.com`),
    ]) {
      const res = await postSoap(discoveryUrl(), body);
      expect(res.status).toBe(500);
      const fault = expectCleanFault(res.body);
      // Nothing of the request is reflected: no RelatesTo echo of a refused MessageID, no parser message.
      expect(res.body).not.toContain('RelatesTo');
      expect(fault.reason).toBe('invalid XML: the request holds characters XML 1.0 does not allow');
      expect(res.body).not.toContain('contoso');
    }
  });

  it('answers a clean request with its RelatesTo, and decodes legal character references', async () => {
    const res = await postSoap(discoveryUrl(), withMessageId('urn:uuid:&#x41;&#66;-1'));
    expect(res.status).toBe(200);
    expect(wellFormedError(res.body)).toBeUndefined();
    expect(res.body).toContain('<a:RelatesTo>urn:uuid:AB-1</a:RelatesTo>');
  });

  it('a malformed document gets a fixed reason, never the parser message or the input', async () => {
    const res = await postSoap(discoveryUrl(), '<s:Envelope xmlns:s="urn:x"><Secret-Name></s:Envelope>');
    const fault = expectCleanFault(res.body);
    expect(fault.reason).toBe('invalid XML: the request is not well-formed');
    expect(res.body).not.toMatch(/Secret-Name|tag|line|col/i);
    // The parser's message is in the log instead.
    expect(logLines.join('')).toMatch(/"parser":"[^"]*Secret-Name/);
  });

  it.each([
    ['a truncated sequence', [0xc3, 0x28]],
    ['an encoded lone surrogate', [0xed, 0xa0, 0x80]],
    ['an overlong NUL', [0xc0, 0x80]],
  ])('a body that is not UTF-8 (%s) is refused', async (_name, bytes) => {
    const [head, tail] = discoverMessage({ to: discoveryUrl(), email: 'x@contoso.com' }).split(
      'x@contoso.com',
    );
    const body = Buffer.concat([Buffer.from(head!), Buffer.from(bytes), Buffer.from(tail!)]);
    const res = await request(discoveryUrl(), {
      method: 'POST',
      headers: { 'Content-Type': 'application/soap+xml; charset=utf-8' },
      body,
    });
    expect(expectCleanFault(res.body).reason).toBe('invalid XML: the request body is not UTF-8');
  });
});

describe('enrollment with control characters in AdditionalContext', () => {
  const PARSER = 'invalid XML: the request holds characters XML 1.0 does not allow';
  const CONTEXT = 'an AdditionalContext item has a malformed name or value';
  it.each([
    ['DeviceName', 'DESKTOP-\u0007BELL', PARSER],
    ['DeviceName', 'DESKTOP-&#7;BELL', PARSER],
    ['DeviceName', 'DESKTOP-\u001b[31mRED', PARSER],
    ['DeviceName', 'DESKTOP-\u202eGNP.EXE', CONTEXT],
    ['DeviceName', 'DESKTOP-\u0085NEL', CONTEXT],
    ['DeviceName', 'DESKTOP-\u007fDEL', CONTEXT],
    ['DeviceName', 'DESKTOP-&#x9;TAB', CONTEXT],
    ['OSVersion', '10.0\n19045', CONTEXT],
    ['HWDevID', 'AB&#13;CD', CONTEXT],
  ])('a %s of %j is refused before anything is stored', async (name, value, reason) => {
    const deviceId = `CTX${Math.random().toString(16).slice(2, 10).toUpperCase()}`;
    // The value is written into the XML as is (the test client's writer would clean it).
    const context = windowsContext({ deviceId }).map(([n, v]): [string, string] => [
      n,
      n === name ? 'VALUE' : v,
    ]);
    const body = rstMessage({
      to: enrollmentUrl(),
      credentials: password,
      token: createCsr(generateDeviceKey(), deviceId),
      context,
    }).replace('<ac:Value>VALUE</ac:Value>', `<ac:Value>${value}</ac:Value>`);
    const res = await postSoap(enrollmentUrl(), body);
    expect(res.status).toBe(500);
    const fault = expectCleanFault(res.body);
    expect(fault.reason).toBe(reason);
    expect(res.body).not.toContain(value);
    expect(await server.storage.devices.getDevice(deviceId)).toBeUndefined();
  });

  it('the provisioning doc of a good enrollment is well-formed', async () => {
    expect(wellFormedError(device.provisioningDocXml)).toBeUndefined();
    const named = await enrollDevice({
      url: server.url,
      credentials: password,
      deviceName: 'Büro & <Lab> "1"',
    });
    expect(wellFormedError(named.provisioningDocXml)).toBeUndefined();
    const dmClient = named.provisioningDoc.children.find((c) => c.type === 'DMClient');
    expect(JSON.stringify([...(dmClient?.children[0]?.children[0]?.parms ?? new Map())])).toContain(
      'Büro & <Lab> \\"1\\"',
    );
  });

  it('the RSTR itself is well-formed and carries the doc', async () => {
    const deviceId = 'CTXGOOD01';
    const res = await postSoap(
      enrollmentUrl(),
      rstMessage({
        to: enrollmentUrl(),
        credentials: password,
        token: createCsr(generateDeviceKey(), deviceId),
        context: windowsContext({ deviceId }),
      }),
    );
    expect(res.status).toBe(200);
    expect(wellFormedError(res.body)).toBeUndefined();
    expect(wellFormedError(provisioningDocOf(parseSoapResponse(res.body)))).toBeUndefined();
  });
});

describe('OMA-DM refuses forbidden characters with HTTP 400', () => {
  const post = (body: string) =>
    request(device.managementUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/vnd.syncml.dm+xml' },
      body,
      cert: device.certPem,
      key: device.key.privateKeyPem,
    });
  const message = (sessionId: string) =>
    encodeClient(clientMessage(device.deviceId, sessionId, 1, package1(device.deviceId)));

  it.each(FORBIDDEN)('%s in SessionID, Source LocURI or Target LocURI', async (_name, bad) => {
    const clean = message('5');
    for (const body of [
      clean.replace('<SessionID>5</SessionID>', `<SessionID>5${bad}</SessionID>`),
      clean.replace(`<LocURI>${device.deviceId}</LocURI>`, `<LocURI>${device.deviceId}${bad}</LocURI>`),
      clean.replace('<Target><LocURI>', `<Target><LocURI>${bad}`),
      clean.replace('<Data>user</Data>', `<Data>us${bad}er</Data>`),
    ]) {
      const res = await post(body);
      expect(res.status).toBe(400);
      expect(res.body).not.toContain(bad);
    }
  });

  it('decodes legal character references and echoes them well-formed', async () => {
    const res = await post(
      message('6').replace('<SessionID>6</SessionID>', '<SessionID>&#x36;&#55;</SessionID>'),
    );
    expect(res.status).toBe(200);
    expect(wellFormedError(res.body)).toBeUndefined();
    expect(parseSyncMl(res.body).header.sessionId).toBe('67');
  });
});

describe('the Federated sign-in page', () => {
  const page = (query: string) => request(`${server.url}/EnrollmentServer/Auth?${query}`);

  it('refuses an appru with control characters', async () => {
    for (const appru of ['ms-app://x%01y', 'ms-app://x%00', 'ms-app://%C2%85', 'ms-app://a%0Ab']) {
      const res = await page(`appru=${appru}`);
      expect(res.status).toBe(400);
      expect(res.body).not.toMatch(ILLEGAL_IN_HTML);
    }
  });

  it('reflects login_hint escaped and without forbidden characters', async () => {
    const hint = 'a\u0000b\u0001c\u001b[2Jd\u0085e\u007ff\uFFFF"><script>x</script>&amp;';
    const res = await page(
      `appru=ms-app%3A%2F%2Fwindows.immersivecontrolpanel&login_hint=${encodeURIComponent(hint)}`,
    );
    expect(res.status).toBe(200);
    expect(res.body).not.toMatch(ILLEGAL_IN_HTML);
    expect(res.body).not.toContain('<script>');
    expect(res.body).toContain(
      'value="a\uFFFDb\uFFFDc\uFFFD[2Jd\uFFFDe\uFFFDf\uFFFD&quot;&gt;&lt;script&gt;x&lt;/script&gt;&amp;amp;"',
    );
  });

  it('answers an unreadable sign-in form with its own 400 page', async () => {
    const res = await request(`${server.url}/EnrollmentServer/Auth`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=koi8-u' },
      body: 'appru=ms-app%3A%2F%2Fx&username=a&password=b',
    });
    expect(res.status).toBe(415);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.body).toContain('could not be read');
  });
});

describe('malformed percent-escapes and query strings', () => {
  const errorLogged = () => logLines.some((l) => /"level":50/.test(l) || /"stack"/.test(l));

  it('the admin API answers 400 application/problem+json, and logs no stack', async () => {
    for (const path of [
      '/api/v1/devices/%E0%A4%A/compliance',
      '/api/v1/policies/%ZZ/status',
      '/api/v1/devices/%/compliance',
    ]) {
      const res = await request(`${server.url}${path}`, { headers: { Authorization: `Bearer ${apiToken}` } });
      expect(res.status, path).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(JSON.parse(res.body)).toMatchObject({ status: 400, title: 'Bad Request' });
    }
    // A malformed query string is not an error: the report still answers.
    const ok = await request(`${server.url}/api/v1/compliance?%E0%A4%A=1&format=json`, {
      headers: { Authorization: `Bearer ${apiToken}` },
    });
    expect(ok.status).toBe(200);
    expect(errorLogged()).toBe(false);
  });

  it('the enrollment, OMA-DM and sign-in routes answer 4xx in their own protocol', async () => {
    const probe = await request(`${discoveryUrl()}?%E0%A4%A`);
    expect(probe.status).toBe(200);
    const signIn = await request(`${server.url}/EnrollmentServer/Auth?appru=%E0%A4%A&login_hint=%ZZ`);
    expect(signIn.status).toBe(400);
    expect(signIn.headers['content-type']).toMatch(/^text\/html/);
    const soap = await postSoap(
      `${discoveryUrl()}?%E0%A4%A`,
      discoverMessage({ to: discoveryUrl(), email: USER }),
    );
    expect(soap.status).toBe(200);
    const dm = await request(`${device.managementUrl}?mode=%E0%A4%A&s=%ZZ`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/vnd.syncml.dm+xml' },
      body: encodeClient(clientMessage(device.deviceId, '9', 1, package1(device.deviceId))),
      cert: device.certPem,
      key: device.key.privateKeyPem,
    });
    expect(dm.status).toBe(200);
    expect(wellFormedError(dm.body)).toBeUndefined();
    const unknown = await request(`${server.url}/EnrollmentServer/%E0%A4%A`);
    expect(unknown.status).toBe(404);
    expect(errorLogged()).toBe(false);
  });
});
