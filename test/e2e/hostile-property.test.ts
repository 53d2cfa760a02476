// Property: whatever characters a client puts into any field the server parses or echoes, every
// response is well-formed. Generated fragments (forbidden characters raw, character references to
// any code point, malformed references, lone surrogates sent as invalid UTF-8, markup, odd but
// legal characters) go into every field of Discovery, GetPolicies, RST, the sign-in page and
// OMA-DM messages (SyncHdr, commands, Status, Results) over the real HTTPS server. Every XML
// response is checked with saxes (XML 1.0 well-formedness and character rules, independent of the
// server's XML code); the sign-in page must hold no forbidden character and reflect only escaped
// text. Each field first gets a fixed set of fragments, then fast-check draws more.
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTIONS, NS, TOKEN_TYPE_DEVICE_ENROLLMENT, VALUE_TYPES } from '../../src/codec/soap/namespaces.js';
import { SYNCML_NS } from '../../src/codec/syncml/codes.js';
import { createLogger } from '../../src/logger.js';
import {
  createCsr,
  type EnrolledDevice,
  enrollDevice,
  faultOf,
  generateDeviceKey,
  type HttpResult,
  parseSoapResponse,
  provisioningDocOf,
  request,
} from '../support/enroll-client.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { ILLEGAL_IN_HTML, wellFormedError } from '../support/strict-xml.js';

const USER = 'prop@contoso.com';
const PASSWORD = 'pw-prop-1';
const DEVICE_ID = 'PROPDEVICE01';
const RUNS = 120;

let server: TestServer;
let device: EnrolledDevice;
let csrBase64: string;
const logLines: string[] = [];

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  server = await startTestServer({}, { logger: createLogger('info', sink) });
  await server.addUser(USER, PASSWORD);
  device = await enrollDevice({
    url: server.url,
    credentials: { kind: 'password', username: USER, password: PASSWORD },
  });
  csrBase64 = createCsr(generateDeviceKey(), DEVICE_ID).toString('base64');
});
afterAll(() => server?.close());

// ---- Fragments -------------------------------------------------------------------------------

const FORBIDDEN_RAW = [
  '\u0000',
  '\u0001',
  '\u0008',
  '\u000b',
  '\u000c',
  '\u000e',
  '\u001b',
  '\u001f',
  '\uFFFE',
  '\uFFFF',
];
/** Sent as invalid UTF-8 (an encoded surrogate): see `wtf8`. */
const LONE_SURROGATES = ['\uD800', '\uDBFF', '\uDC00', '\uDFFF'];
const ODD_LEGAL = [
  '\t',
  '\n',
  '\r',
  '\u007f',
  '\u0085',
  '\u009b',
  '\u202e',
  '\u2066',
  '\u2028',
  '\u{1F600}',
  'é',
  '"',
  "'",
];
const MARKUP = [
  '"><x-inj>',
  '<x-inj/>',
  '<',
  '&',
  ']]>',
  '<![CDATA[x',
  '<!--',
  '&amp;',
  '&lt;x-inj&gt;',
  '&unknown;',
];
const BAD_REFS = ['&#;', '&#x;', '&#xZZ;', '&#-1;', '&#1', '&#', '&#x110000;', '&#99999999999;'];

/** Fixed fragments every field gets, one request each. */
const FIXED = [
  '\u0001',
  '\u0000',
  '\u001b[31m',
  '&#1;',
  '&#x0;',
  '&#xD800;',
  '&#xFFFE;',
  '&#65535;',
  '\uD800',
  '\uFFFF',
  '"><x-inj>',
  '&#x41;\u202e\u0085',
  '&unknown;]]>',
];

const codePoint = fc.oneof(
  fc.integer({ min: 0, max: 0x20 }),
  fc.constantFrom(0x7f, 0x85, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0xfffe, 0xffff, 0x110000),
  fc.integer({ min: 0, max: 0x10ffff }),
);
const charRef = codePoint.chain((cp) =>
  fc.constantFrom(
    `&#${cp};`,
    `&#x${cp.toString(16)};`,
    `&#x${cp.toString(16).toUpperCase()};`,
    `&#x00${cp.toString(16)};`,
  ),
);
const fragment = fc
  .array(
    fc.oneof(
      fc.constantFrom(...FORBIDDEN_RAW),
      fc.constantFrom(...LONE_SURROGATES),
      fc.constantFrom(...ODD_LEGAL),
      fc.constantFrom(...MARKUP),
      fc.constantFrom(...BAD_REFS),
      charRef,
      fc.string({ maxLength: 4 }),
    ),
    { minLength: 1, maxLength: 5 },
  )
  .map((parts) => parts.join(''));

/**
 * UTF-8, except that a lone surrogate is written as its 3-byte form (invalid UTF-8), so what a
 * careless client would send reaches the server as bytes, not as U+FFFD.
 */
function wtf8(text: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const cp = text.codePointAt(i)!;
    if (cp > 0xffff) i++;
    if (cp < 0x80) bytes.push(cp);
    else if (cp < 0x800) bytes.push(0xc0 | (cp >> 6), 0x80 | (cp & 63));
    else if (cp < 0x10000) bytes.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
    else bytes.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 63), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
  }
  return Buffer.from(bytes);
}

/** Percent-encodes every byte (of `wtf8`), so any fragment fits in a query or form. */
const percent = (text: string) => [...wtf8(text)].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');

/** `{{Name}}` → the fragment for the field under test, the field's default otherwise. */
function fill(
  template: string,
  defaults: Readonly<Record<string, string>>,
  field: string,
  value: string,
): string {
  return template.replace(/\{\{(\w+)\}\}/g, (_m, name: string) => (name === field ? value : defaults[name]!));
}

// ---- Messages --------------------------------------------------------------------------------

const discoveryUrl = () => `${server.url}/EnrollmentServer/Discovery.svc`;
const policyUrl = () => `${server.url}/EnrollmentServer/Policy.svc`;
const enrollmentUrl = () => `${server.url}/EnrollmentServer/Enrollment.svc`;

const SOAP_HEAD = `<s:Envelope xmlns:s="${NS.soap}" xmlns:a="${NS.addressing}" xmlns:u="${NS.wssUtility}" xmlns:wsse="${NS.wsse}" xmlns:wst="${NS.wsTrust}" xmlns:ac="${NS.authorization}"><s:Header>`;
const SECURITY =
  '<wsse:Security s:mustUnderstand="1"><wsse:UsernameToken u:Id="uuid-1"><wsse:Username>{{Username}}</wsse:Username>' +
  '<wsse:Password wsse:Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText">{{Password}}</wsse:Password>' +
  '</wsse:UsernameToken></wsse:Security>';
const header = (action: string) =>
  `<a:Action s:mustUnderstand="1">${action}</a:Action><a:MessageID>{{MessageID}}</a:MessageID>` +
  '<a:ReplyTo><a:Address>http://www.w3.org/2005/08/addressing/anonymous</a:Address></a:ReplyTo>' +
  '<a:To s:mustUnderstand="1">{{To}}</a:To>';

const DISCOVER =
  `${SOAP_HEAD}${header(ACTIONS.discover)}</s:Header><s:Body><Discover xmlns="${NS.discovery}"><request>` +
  '<EmailAddress>{{EmailAddress}}</EmailAddress><RequestVersion>{{RequestVersion}}</RequestVersion>' +
  '<DeviceType>{{DeviceType}}</DeviceType><ApplicationVersion>{{ApplicationVersion}}</ApplicationVersion>' +
  '<OSEdition>{{OSEdition}}</OSEdition><AuthPolicies><AuthPolicy>{{AuthPolicy}}</AuthPolicy></AuthPolicies>' +
  '</request></Discover></s:Body></s:Envelope>';

const GET_POLICIES =
  `${SOAP_HEAD}${header(ACTIONS.getPolicies)}${SECURITY}</s:Header><s:Body><GetPolicies xmlns="${NS.enrollmentPolicy}">` +
  `<client><lastUpdate xsi:nil="true" xmlns:xsi="${NS.xsi}"/><preferredLanguage>{{PreferredLanguage}}</preferredLanguage></client>` +
  '</GetPolicies></s:Body></s:Envelope>';

const CONTEXT_ITEMS = [
  'UXInitiated',
  'HWDevID',
  'Locale',
  'TargetedUserLoggedIn',
  'OSEdition',
  'DeviceName',
  'MAC',
  'DeviceID',
  'EnrollmentType',
  'DeviceType',
  'OSVersion',
  'ApplicationVersion',
  'NotInOobe',
] as const;
const RST =
  `${SOAP_HEAD}${header(ACTIONS.requestSecurityToken)}${SECURITY}</s:Header><s:Body><wst:RequestSecurityToken>` +
  '<wst:TokenType>{{TokenType}}</wst:TokenType><wst:RequestType>{{RequestType}}</wst:RequestType>' +
  '<wsse:BinarySecurityToken ValueType="{{ValueType}}" EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd#base64binary">{{BinarySecurityToken}}</wsse:BinarySecurityToken>' +
  `<ac:AdditionalContext xmlns="${NS.authorization}">` +
  CONTEXT_ITEMS.map(
    (n) => `<ac:ContextItem Name="{{Name_${n}}}"><ac:Value>{{${n}}}</ac:Value></ac:ContextItem>`,
  ).join('') +
  '</ac:AdditionalContext></wst:RequestSecurityToken></s:Body></s:Envelope>';

const SYNCML =
  `<SyncML xmlns="${SYNCML_NS}"><SyncHdr><VerDTD>{{VerDTD}}</VerDTD><VerProto>DM/1.2</VerProto><SessionID>{{SessionID}}</SessionID>` +
  '<MsgID>{{MsgID}}</MsgID><Target><LocURI>{{Target}}</LocURI></Target><Source><LocURI>{{Source}}</LocURI><LocName>{{LocName}}</LocName></Source>' +
  '<Meta><MaxMsgSize xmlns="syncml:metinf">{{MaxMsgSize}}</MaxMsgSize></Meta></SyncHdr><SyncBody>' +
  '<Alert><CmdID>{{AlertCmdID}}</CmdID><Data>{{AlertData}}</Data></Alert>' +
  '<Alert><CmdID>3</CmdID><Data>1224</Data><Item><Meta><Type xmlns="syncml:metinf">{{EventType}}</Type>' +
  '<Format xmlns="syncml:metinf">{{EventFormat}}</Format></Meta><Data>{{EventData}}</Data></Item></Alert>' +
  '<Status><CmdID>4</CmdID><MsgRef>{{StatusMsgRef}}</MsgRef><CmdRef>{{StatusCmdRef}}</CmdRef><Cmd>{{StatusCmd}}</Cmd>' +
  '<TargetRef>{{StatusTargetRef}}</TargetRef><Data>{{StatusData}}</Data></Status>' +
  '<Results><CmdID>5</CmdID><MsgRef>1</MsgRef><CmdRef>{{ResultsCmdRef}}</CmdRef><Item><Source><LocURI>{{ResultsLocURI}}</LocURI></Source>' +
  '<Meta><Format xmlns="syncml:metinf">{{ResultsFormat}}</Format></Meta><Data>{{ResultsData}}</Data></Item></Results>' +
  '<Replace><CmdID>6</CmdID><Item><Source><LocURI>./DevInfo/DevId</LocURI></Source><Data>{{DevId}}</Data></Item>' +
  '<Item><Source><LocURI>{{DevInfoLocURI}}</LocURI></Source><Data>{{DevInfoData}}</Data></Item></Replace>' +
  '<Get><CmdID>7</CmdID><Item><Target><LocURI>{{GetLocURI}}</LocURI></Target></Item></Get>' +
  '<Final/></SyncBody></SyncML>';

interface Endpoint {
  readonly name: string;
  readonly fields: readonly string[];
  send(field: string, value: string): Promise<HttpResult>;
  check(res: HttpResult, field: string, value: string): void;
}

const postBytes = (url: string, contentType: string, body: Buffer, tls = {}) =>
  request(url, { ...tls, method: 'POST', headers: { 'Content-Type': contentType }, body });

function checkSoap(res: HttpResult): void {
  expect([200, 400, 413, 500]).toContain(res.status);
  expect(res.headers['content-type']).toBe('application/soap+xml; charset=utf-8');
  expect(wellFormedError(res.body)).toBeUndefined();
  const fault = faultOf(res.body);
  if (res.status !== 200) expect(fault).toBeDefined();
  if (fault) expect(res.body).not.toContain('x-inj');
}

function soapEndpoint(
  name: string,
  url: () => string,
  template: string,
  defaults: () => Record<string, string>,
  check?: (res: HttpResult) => void,
): Endpoint {
  return {
    name,
    fields: [...new Set([...template.matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1]!))],
    send: (field, value) =>
      postBytes(url(), 'application/soap+xml; charset=utf-8', wtf8(fill(template, defaults(), field, value))),
    check: (res) => {
      checkSoap(res);
      check?.(res);
    },
  };
}

const commonDefaults = (to: string) => ({
  MessageID: 'urn:uuid:0b9f8a3e-1c2d-4e5f-8a9b-0c1d2e3f4a5b',
  To: to,
  Username: USER,
  Password: PASSWORD,
});

const ENDPOINTS: Endpoint[] = [
  soapEndpoint('Discovery', discoveryUrl, DISCOVER, () => ({
    ...commonDefaults(discoveryUrl()),
    EmailAddress: USER,
    RequestVersion: '4.0',
    DeviceType: 'CIMClient_Windows',
    ApplicationVersion: '10.0.26100.1',
    OSEdition: '48',
    AuthPolicy: 'OnPremise',
  })),
  soapEndpoint('GetPolicies', policyUrl, GET_POLICIES, () => ({
    ...commonDefaults(policyUrl()),
    PreferredLanguage: 'en-US',
  })),
  soapEndpoint(
    'RST',
    enrollmentUrl,
    RST,
    () => ({
      ...commonDefaults(enrollmentUrl()),
      TokenType: TOKEN_TYPE_DEVICE_ENROLLMENT,
      RequestType: 'http://docs.oasis-open.org/ws-sx/ws-trust/200512/Issue',
      ValueType: VALUE_TYPES.pkcs10,
      BinarySecurityToken: csrBase64,
      ...Object.fromEntries(CONTEXT_ITEMS.map((n) => [`Name_${n}`, n])),
      UXInitiated: 'true',
      HWDevID: 'A1'.repeat(32),
      Locale: 'en-US',
      TargetedUserLoggedIn: 'true',
      OSEdition: '48',
      DeviceName: 'DESKTOP-PROP',
      MAC: '00-15-5D-01-02-03',
      DeviceID: DEVICE_ID,
      EnrollmentType: 'Full',
      DeviceType: 'CIMClient_Windows',
      OSVersion: '10.0.26100.1',
      ApplicationVersion: '10.0.26100.1',
      NotInOobe: 'false',
    }),
    (res) => {
      // A document the server builds is well-formed too.
      if (res.status === 200)
        expect(wellFormedError(provisioningDocOf(parseSoapResponse(res.body)))).toBeUndefined();
    },
  ),
  {
    name: 'sign-in page (query)',
    fields: ['appru', 'login_hint'],
    send: (field, value) => {
      const query = {
        appru: 'ms-app%3A%2F%2Fwindows.immersivecontrolpanel',
        login_hint: 'user%40contoso.com',
      };
      const q = { ...query, [field]: percent(value) };
      return request(`${server.url}/EnrollmentServer/Auth?appru=${q.appru}&login_hint=${q.login_hint}`);
    },
    check: checkPage,
  },
  {
    name: 'sign-in page (form)',
    fields: ['appru', 'username'],
    send: (field, value) => {
      const form = {
        appru: 'ms-app%3A%2F%2Fwindows.immersivecontrolpanel',
        username: 'user%40contoso.com',
        password: 'wrong',
      };
      const f = { ...form, [field]: percent(value) };
      return postBytes(
        `${server.url}/EnrollmentServer/Auth`,
        'application/x-www-form-urlencoded',
        Buffer.from(`appru=${f.appru}&username=${f.username}&password=${f.password}`),
      );
    },
    check: checkPage,
  },
  {
    name: 'OMA-DM',
    fields: [...new Set([...SYNCML.matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1]!))],
    send: (field, value) => {
      const body = fill(
        SYNCML,
        {
          VerDTD: '1.2',
          SessionID: String(1 + Math.floor(Math.random() * 200)),
          MsgID: '1',
          Target: device.managementUrl,
          Source: device.deviceId,
          LocName: 'user',
          MaxMsgSize: '512000',
          AlertCmdID: '2',
          AlertData: '1201',
          EventType: 'com.microsoft/MDM/LoginStatus',
          EventFormat: 'chr',
          EventData: 'user',
          StatusMsgRef: '1',
          StatusCmdRef: '9',
          StatusCmd: 'Get',
          StatusTargetRef: './DevDetail/SwV',
          StatusData: '200',
          ResultsCmdRef: '9',
          ResultsLocURI: './DevDetail/SwV',
          ResultsFormat: 'chr',
          ResultsData: '10.0.26100.1',
          DevId: device.deviceId,
          DevInfoLocURI: './DevInfo/Man',
          DevInfoData: 'Contoso',
          GetLocURI: './DevDetail/SwV',
        },
        field,
        value,
      );
      return postBytes(device.managementUrl, 'application/vnd.syncml.dm+xml', wtf8(body), {
        cert: device.certPem,
        key: device.key.privateKeyPem,
      });
    },
    check: (res) => {
      expect([200, 400]).toContain(res.status);
      if (res.status === 200) {
        expect(res.headers['content-type']).toBe('application/vnd.syncml.dm+xml');
        expect(wellFormedError(res.body)).toBeUndefined();
        // The SyncHdr echoes the client's SessionID exactly (docs/protocol-notes.md#syncml-messages): escaped, so injected
        // markup never becomes markup.
        expect(res.body).not.toMatch(/<x-inj|<!--|<!\[CDATA\[/);
      } else {
        expect(res.body).toBe('malformed SyncML message');
      }
    },
  },
];

function checkPage(res: HttpResult): void {
  expect([200, 400]).toContain(res.status);
  expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
  expect(res.body).not.toMatch(ILLEGAL_IN_HTML);
  // Reflected text is escaped: injected markup never becomes markup.
  expect(res.body).not.toMatch(/<x-inj|<!--|<!\[CDATA\[/);
}

describe.each(ENDPOINTS.map((e) => [e.name, e] as const))('every field of %s', (_name, endpoint) => {
  it.each(endpoint.fields.map((f) => [f]))('%s: fixed hostile fragments', async (field) => {
    for (const value of FIXED) {
      const res = await endpoint.send(field, value);
      try {
        endpoint.check(res, field, value);
      } catch (err) {
        throw new Error(
          `${field} = ${JSON.stringify(value)}: ${(err as Error).message}\n${res.body.slice(0, 2000)}`,
        );
      }
    }
  });

  it('generated fragments in any field', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...endpoint.fields), fragment, async (field, value) => {
        const res = await endpoint.send(field, value);
        endpoint.check(res, field, value);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('afterwards', () => {
  it('the server is healthy and logged no unexpected error', async () => {
    expect((await request(discoveryUrl())).status).toBe(200);
    const errors = logLines.filter((l) => /"level":(50|60)/.test(l));
    expect(errors, errors.join('\n')).toEqual([]);
  });
});
