// Golden tests on the real Windows enrollment captures (fixtures/windows10-enrollment, from
// marcosd4h/mdm, see /fixtures SOURCE notes): every real request parses into the typed message,
// and every response the server builds parses back with the structure of docs/protocol-notes.md#discovery, #enrollment-policy,
// §4.4, §4.6 and §5.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildDiscoverResponse, parseDiscover } from '../../../src/codec/soap/discovery.js';
import { parseSoapRequest } from '../../../src/codec/soap/envelope.js';
import { EnrollmentFault, renderFault } from '../../../src/codec/soap/faults.js';
import { ACTIONS, NS, VALUE_TYPES } from '../../../src/codec/soap/namespaces.js';
import {
  buildProvisioningDoc,
  buildRenewalProvisioningDoc,
  findCharacteristic,
  findCharacteristics,
  parseProvisioningDoc,
} from '../../../src/codec/soap/provisioning.js';
import {
  buildRequestSecurityTokenResponse,
  contextValue,
  contextValues,
  parseRequestSecurityToken,
} from '../../../src/codec/soap/wstep.js';
import { buildGetPoliciesResponse, parseGetPolicies } from '../../../src/codec/soap/xcep.js';
import {
  attr,
  childElement,
  childElements,
  findDescendant,
  parseXml,
  path,
  textOf,
  type XmlElement,
} from '../../../src/codec/xml.js';

const fixture = (name: string) =>
  readFileSync(new URL(`../../../fixtures/windows10-enrollment/${name}`, import.meta.url), 'utf8');
const limits = { maxBytes: 1024 * 1024 };
const names = (el: XmlElement | undefined) => (el ? childElements(el).map((c) => c.local) : []);

const der = (n: number) => Buffer.alloc(8, n);
const docInput = {
  ca: { thumbprint: 'AA'.repeat(20), der: der(1) },
  client: { thumbprint: 'BB'.repeat(20), der: der(2) },
  enrollmentType: 'Full' as const,
  deviceId: '1E08C6E95D8BB843B1278FF45BC60CC6',
  providerId: 'OpenWindowsMDM',
  accountName: 'Open & Windows',
  managementUrl: 'https://mdm.example/ManagementServer/MDM.svc',
  digest: {
    appSrvName: 'dev',
    appSrvSecret: 's1',
    appSrvNonce: 'bjE=',
    clientSecret: 's2',
    clientNonce: 'bjI=',
  },
  entDmId: 'e-1',
  deviceName: 'DESKTOP-1',
  poll: { firstCount: 5, firstIntervalMinutes: 3, intervalMinutes: 15 },
  renewal: {
    renewPeriodDays: 42,
    retryIntervalDays: 7,
    serverUrl: 'https://mdm.example/EnrollmentServer/Enrollment.svc',
  },
};

describe.each(['xml', 'wire-reconstructed.xml'])('real Windows requests (%s)', (kind) => {
  it('Discover (marcosd4h-03)', () => {
    const req = parseDiscover(parseSoapRequest(fixture(`marcosd4h-03-discover-req.${kind}`), limits));
    expect(req).toEqual({
      messageId: 'urn:uuid:748132ec-a575-4329-b01b-6171a9cf8478',
      // The wire reconstructions restore the originally captured host name.
      emailAddress: expect.stringMatching(/^demo@(pocmdmserver|mdmwindows)\.com$/),
      requestVersion: '4.0',
      deviceType: 'CIMClient_Windows',
      applicationVersion: '10.0.19043.2364',
      osEdition: '72',
      authPolicies: ['OnPremise', 'Federated'],
    });
  });

  it('GetPolicies with a UsernameToken (marcosd4h-05)', () => {
    const soap = parseSoapRequest(fixture(`marcosd4h-05-policy-req.${kind}`), limits);
    expect(parseGetPolicies(soap).messageId).toMatch(/^urn:uuid:/);
    expect(soap.security).toEqual({
      kind: 'username',
      username: expect.stringMatching(/^demo@(pocmdmserver|mdmwindows)\.com$/),
      password: 'demo',
    });
  });

  it('RequestSecurityToken with PKCS#10 and AdditionalContext (marcosd4h-07)', () => {
    const soap = parseSoapRequest(fixture(`marcosd4h-07-rst-req.${kind}`), limits);
    const rst = parseRequestSecurityToken(soap);
    expect(rst.requestType).toBe('Issue');
    expect(rst.tokenValueType).toBe(VALUE_TYPES.pkcs10);
    expect(rst.token[0]).toBe(0x30); // DER SEQUENCE
    expect(contextValue(rst.context, 'DeviceID')).toBe('1E08C6E95D8BB843B1278FF45BC60CC6');
    expect(contextValue(rst.context, 'EnrollmentType')).toBe('Full');
    expect(contextValue(rst.context, 'HWDevID')).toBe(
      '3B3ED6D0EA88CBFCF37D36F90F22FE61172348C0162FC3840D6703149870CE76',
    );
    expect(contextValue(rst.context, 'DeviceName')).toBe('DESKTOP-28FGAI6');
    expect(contextValues(rst.context, 'MAC')).toHaveLength(6);
    expect(rst.context.map((c) => c.name)).toEqual([
      'UXInitiated',
      'HWDevID',
      'Locale',
      'TargetedUserLoggedIn',
      'OSEdition',
      'DeviceName',
      'MAC',
      'MAC',
      'MAC',
      'MAC',
      'MAC',
      'MAC',
      'DeviceID',
      'EnrollmentType',
      'DeviceType',
      'OSVersion',
      'ApplicationVersion',
      'NotInOobe',
    ]);
    expect(soap.security.kind).toBe('username');
  });
});

describe('our responses have the shape of the responses Windows accepted in the capture', () => {
  it('DiscoverResponse: same header and result elements, in the same order', () => {
    const captured = parseXml(fixture('marcosd4h-04-discover-resp.xml'));
    const ours = parseXml(
      buildDiscoverResponse({
        relatesTo: 'urn:uuid:748132ec-a575-4329-b01b-6171a9cf8478',
        activityId: 'x',
        authPolicy: 'OnPremise',
        enrollmentVersion: '4.0',
        enrollmentPolicyServiceUrl: 'https://pocmdmserver.com/EnrollmentServer/Policy.svc',
        enrollmentServiceUrl: 'https://pocmdmserver.com/EnrollmentServer/Enrollment.svc',
      }),
    );
    for (const doc of [captured, ours]) expect(doc.ns).toBe(NS.soap);
    expect(names(childElement(ours, 'Header', NS.soap))).toEqual(
      names(childElement(captured, 'Header', NS.soap)),
    );
    const result = (env: XmlElement) => path(env, 'Body', 'DiscoverResponse', 'DiscoverResult');
    expect(names(result(ours))).toEqual(names(result(captured)));
    for (const el of childElements(result(captured)!)) {
      expect(textOf(childElement(result(ours)!, el.local)).trim()).toBe(textOf(el).trim());
    }
  });

  it('provisioning doc: the sections and CertificateStore layout of the accepted doc', () => {
    const rstr = parseXml(fixture('marcosd4h-08-rstr-resp.xml'));
    const captured = parseProvisioningDoc(
      Buffer.from(textOf(findDescendant(rstr, 'BinarySecurityToken')).trim(), 'base64').toString('utf8'),
    );
    const ours = parseProvisioningDoc(buildProvisioningDoc(docInput));
    const types = (c: ReturnType<typeof parseProvisioningDoc> | undefined) => c?.children.map((x) => x.type);
    expect(types(ours)).toEqual(types(captured));
    expect(types(findCharacteristic(ours, 'CertificateStore'))).toEqual(['Root', 'My']);
    expect(types(findCharacteristic(captured, 'CertificateStore'))).toEqual(['Root', 'My']);
    const userStore = (doc: typeof ours) => findCharacteristic(doc, 'CertificateStore', 'My', 'User')!;
    expect(types(userStore(ours))?.[1]).toBe('PrivateKeyContainer');
    expect(types(userStore(captured))?.[1]).toBe('PrivateKeyContainer');
    // Every w7 parm and APPAUTH parm of the accepted doc is present in ours (ServerList and ROLE excepted).
    const app = (doc: typeof ours) => findCharacteristic(doc, 'APPLICATION')!;
    for (const name of app(captured).parms.keys()) {
      if (name !== 'ServerList' && name !== 'ROLE') expect(app(ours).parms.has(name), name).toBe(true);
    }
    const auths = (doc: typeof ours) =>
      findCharacteristics(app(doc), 'APPAUTH').map((a) => [...a.parms.keys()].sort().join(','));
    expect(auths(ours)).toEqual(auths(captured));
    const poll = (doc: typeof ours, provider: string) =>
      findCharacteristic(doc, 'DMClient', 'Provider', provider, 'Poll');
    expect(poll(captured, 'DEMO MDM')?.parms.has('NumberOfFirstRetries')).toBe(true);
    expect(poll(ours, 'OpenWindowsMDM')?.parms.has('NumberOfFirstRetries')).toBe(true);
  });

  it('the captured GetPoliciesResponse is not well-formed (a bug of that server) and the hardened parser says so', () => {
    expect(() => parseXml(fixture('marcosd4h-06-policy-resp.xml'))).toThrow(/malformed/);
  });
});

describe('the capture server responses are readable with the same tools', () => {
  it('reads the captured DiscoverResponse and RSTR provisioning doc', () => {
    const discover = parseXml(fixture('marcosd4h-04-discover-resp.xml'));
    expect(textOf(findDescendant(discover, 'AuthPolicy')).trim()).toBe('OnPremise');
    const rstr = parseXml(fixture('marcosd4h-08-rstr-resp.xml'));
    const token = findDescendant(rstr, 'BinarySecurityToken');
    const doc = parseProvisioningDoc(Buffer.from(textOf(token).trim(), 'base64').toString('utf8'));
    expect(findCharacteristic(doc, 'APPLICATION')?.parms.get('APPID')?.value).toBe('w7');
  });
});

function header(env: XmlElement) {
  const h = childElement(env, 'Header', NS.soap)!;
  return {
    action: textOf(childElement(h, 'Action', NS.addressing)),
    mustUnderstand: attr(childElement(h, 'Action', NS.addressing)!, 'mustUnderstand', NS.soap),
    relatesTo: textOf(childElement(h, 'RelatesTo', NS.addressing)),
  };
}

describe('responses built by the server', () => {
  it('DiscoverResponse (docs/protocol-notes.md#discovery)', () => {
    const xml = buildDiscoverResponse({
      relatesTo: 'urn:uuid:748132ec-a575-4329-b01b-6171a9cf8478',
      activityId: 'a1',
      authPolicy: 'Federated',
      enrollmentVersion: '5.0',
      enrollmentPolicyServiceUrl: 'https://mdm.example/EnrollmentServer/Policy.svc',
      enrollmentServiceUrl: 'https://mdm.example/EnrollmentServer/Enrollment.svc',
      authenticationServiceUrl: 'https://mdm.example/EnrollmentServer/Auth?a=1&b=2',
    });
    expect(xml.startsWith('<s:Envelope')).toBe(true);
    const env = parseXml(xml);
    expect(header(env)).toEqual({
      action: ACTIONS.discoverResponse,
      mustUnderstand: '1',
      relatesTo: 'urn:uuid:748132ec-a575-4329-b01b-6171a9cf8478',
    });
    const response = path(env, 'Body', 'DiscoverResponse')!;
    expect(response.ns).toBe(NS.discovery);
    const result = childElement(response, 'DiscoverResult', NS.discovery)!;
    expect(names(result)).toEqual([
      'AuthPolicy',
      'EnrollmentVersion',
      'EnrollmentPolicyServiceUrl',
      'EnrollmentServiceUrl',
      'AuthenticationServiceUrl',
    ]);
    expect(textOf(childElement(result, 'AuthenticationServiceUrl'))).toBe(
      'https://mdm.example/EnrollmentServer/Auth?a=1&b=2',
    );
  });

  it('GetPoliciesResponse keeps the XCEP order, policySchema 3 and a group-1 hash OID (docs/protocol-notes.md#enrollment-policy)', () => {
    const env = parseXml(
      buildGetPoliciesResponse({
        relatesTo: 'urn:uuid:1',
        policyId: 'p',
        templateName: 't',
        validityPeriodSeconds: 31_536_000,
        renewalPeriodSeconds: 3_628_800,
        minimalKeyLength: 2048,
      }),
    );
    expect(header(env).action).toBe(ACTIONS.getPoliciesResponse);
    const body = childElement(env, 'Body', NS.soap)!;
    expect(body.scope.xsi).toBe(NS.xsi);
    const response = childElement(body, 'GetPoliciesResponse', NS.enrollmentPolicy)!;
    expect(names(response)).toEqual(['response', 'cAs', 'oIDs']);
    expect(names(childElement(response, 'response'))).toEqual([
      'policyID',
      'policyFriendlyName',
      'nextUpdateHours',
      'policiesNotChanged',
      'policies',
    ]);
    const attributes = path(response, 'response', 'policies', 'policy', 'attributes')!;
    expect(names(attributes)).toEqual([
      'commonName',
      'policySchema',
      'certificateValidity',
      'permission',
      'privateKeyAttributes',
      'revision',
      'supersededPolicies',
      'privateKeyFlags',
      'subjectNameFlags',
      'enrollmentFlags',
      'generalFlags',
      'hashAlgorithmOIDReference',
      'rARequirements',
      'keyArchivalAttributes',
      'extensions',
    ]);
    expect(textOf(childElement(attributes, 'policySchema'))).toBe('3');
    expect(textOf(path(attributes, 'privateKeyAttributes', 'minimalKeyLength'))).toBe('2048');
    expect(attr(childElement(attributes, 'extensions')!, 'nil', NS.xsi)).toBe('true');
    const oid = path(response, 'oIDs', 'oID')!;
    expect(textOf(childElement(oid, 'group'))).toBe('1');
    expect(textOf(childElement(oid, 'oIDReferenceID'))).toBe(
      textOf(childElement(attributes, 'hashAlgorithmOIDReference')),
    );
  });

  it('RSTR carries the base64 provisioning doc (docs/protocol-notes.md#request-security-token, #provisioning-document)', () => {
    const env = parseXml(
      buildRequestSecurityTokenResponse({
        relatesTo: 'urn:uuid:2',
        provisioningDoc: buildProvisioningDoc(docInput),
        now: new Date('2026-01-01T00:00:00Z'),
      }),
    );
    expect(header(env).action).toBe(ACTIONS.requestSecurityTokenResponse);
    const security = childElement(childElement(env, 'Header', NS.soap)!, 'Security', NS.wsse)!;
    expect(textOf(path(security, 'Timestamp', 'Created'))).toBe('2026-01-01T00:00:00.000Z');
    const rstr = path(env, 'Body', 'RequestSecurityTokenResponseCollection', 'RequestSecurityTokenResponse')!;
    expect(rstr.ns).toBe(NS.wsTrust);
    expect(names(rstr)).toEqual(['TokenType', 'DispositionMessage', 'RequestedSecurityToken', 'RequestID']);
    const token = path(rstr, 'RequestedSecurityToken', 'BinarySecurityToken')!;
    expect(token.ns).toBe(NS.wsse);
    expect(attr(token, 'ValueType')).toBe(VALUE_TYPES.provisioningDoc);
    expect(textOf(token)).toMatch(/^[A-Za-z0-9+/=]+$/);

    const doc = parseProvisioningDoc(Buffer.from(textOf(token), 'base64').toString('utf8'));
    expect(doc.children.map((c) => c.type)).toEqual(['CertificateStore', 'APPLICATION', 'DMClient']);
    const root = findCharacteristic(doc, 'CertificateStore', 'Root', 'System', 'AA'.repeat(20))!;
    expect(root.parms.get('EncodedCertificate')?.value).toBe(der(1).toString('base64'));
    const user = findCharacteristic(doc, 'CertificateStore', 'My', 'User')!;
    expect(user.children.map((c) => c.type)).toEqual(['BB'.repeat(20), 'PrivateKeyContainer']);
    const renew = findCharacteristic(doc, 'CertificateStore', 'My', 'WSTEP', 'Renew')!;
    expect(renew.parms.get('RenewPeriod')).toEqual({ value: '42', datatype: 'integer' });
    const app = findCharacteristic(doc, 'APPLICATION')!;
    expect(app.parms.get('ADDR')?.value).toBe('https://mdm.example/ManagementServer/MDM.svc');
    expect(app.parms.get('NAME')?.value).toBe('Open & Windows');
    expect(app.parms.has('BACKCOMPATRETRYDISABLED')).toBe(true);
    expect(app.parms.get('DEFAULTENCODING')?.value).toBe('application/vnd.syncml.dm+xml');
    expect(app.parms.get('SSLCLIENTCERTSEARCHCRITERIA')?.value).toBe(
      'Subject=CN%3D1E08C6E95D8BB843B1278FF45BC60CC6&Stores=My%5CUser',
    );
    const [client, appsrv] = findCharacteristics(app, 'APPAUTH');
    expect(Object.fromEntries([...client!.parms].map(([k, v]) => [k, v.value]))).toEqual({
      AAUTHLEVEL: 'CLIENT',
      AAUTHTYPE: 'DIGEST',
      AAUTHSECRET: 's2',
      AAUTHDATA: 'bjI=',
    });
    expect(appsrv!.parms.get('AAUTHNAME')?.value).toBe('dev');
    const provider = findCharacteristic(doc, 'DMClient', 'Provider', 'OpenWindowsMDM')!;
    expect(provider.parms.get('EntDMID')?.value).toBe('e-1');
    const poll = findCharacteristic(provider, 'Poll')!;
    expect(poll.parms.get('NumberOfFirstRetries')?.value).toBe('5');
    expect(poll.parms.get('IntervalForFirstSetOfRetries')?.value).toBe('3');
    expect(poll.parms.get('IntervalForRemainingScheduledRetries')?.value).toBe('15');
  });

  it('device enrollment puts the client certificate in My/System; the renewal doc has only the new cert and w7 binding', () => {
    const device = parseProvisioningDoc(buildProvisioningDoc({ ...docInput, enrollmentType: 'Device' }));
    expect(
      findCharacteristic(device, 'CertificateStore', 'My', 'System', 'PrivateKeyContainer'),
    ).toBeDefined();
    expect(
      findCharacteristic(device, 'APPLICATION')?.parms.get('SSLCLIENTCERTSEARCHCRITERIA')?.value,
    ).toContain('My%5CSystem');
    const renewal = parseProvisioningDoc(
      buildRenewalProvisioningDoc({
        client: docInput.client,
        enrollmentType: 'Full',
        providerId: 'OpenWindowsMDM',
        renewal: docInput.renewal,
      }),
    );
    expect(renewal.children.map((c) => c.type)).toEqual(['CertificateStore', 'APPLICATION']);
    expect(findCharacteristic(renewal, 'CertificateStore', 'Root')).toBeUndefined();
    expect([...findCharacteristic(renewal, 'APPLICATION')!.parms.keys()]).toEqual(['APPID', 'PROVIDER-ID']);
  });

  it('faults use SOAP 1.2 and the exact detail element names Windows reads (docs/protocol-notes.md#soap-faults)', () => {
    const xml = renderFault(new EnrollmentFault('Authorization', 'renew <refused>', 'NotEligibleToRenew'), {
      action: ACTIONS.requestSecurityTokenResponse,
      relatesTo: 'urn:uuid:3',
      traceId: 't-1',
    });
    const env = parseXml(xml);
    expect(header(env).relatesTo).toBe('urn:uuid:3');
    const fault = path(env, 'Body', 'Fault')!;
    expect(fault.ns).toBe(NS.soap);
    expect(textOf(path(fault, 'Code', 'Value'))).toBe('s:Receiver');
    expect(textOf(path(fault, 'Code', 'Subcode', 'Value'))).toBe('s:Authorization');
    expect(textOf(path(fault, 'Reason', 'Text'))).toBe('renew <refused>');
    const detail = childElement(
      childElement(fault, 'Detail', NS.soap)!,
      'DeviceEnrollmentServiceError',
      NS.enrollment,
    )!;
    expect(names(detail)).toEqual(['ErrorType', 'Message', 'TraceId']);
    expect(textOf(childElement(detail, 'ErrorType'))).toBe('NotEligibleToRenew');
    const sender = parseXml(
      renderFault(new EnrollmentFault('MessageFormat', 'bad'), { action: 'x', traceId: 't' }),
    );
    expect(textOf(path(sender, 'Body', 'Fault', 'Code', 'Value'))).toBe('s:Sender');
    expect(textOf(findDescendant(sender, 'ErrorType'))).toBe('MessageFormat');
  });
});
