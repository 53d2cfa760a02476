/**
 * A Windows-like MS-MDE2 enrollment client over real HTTPS for tests, built on the virtual
 * device's parts: its SOAP messages (src/simulator/enroll-messages.ts, the messages Windows sends,
 * docs/protocol-notes.md#discovery, #enrollment-policy, #request-security-token), its PKCS#10
 * (src/simulator/csr.ts) and its Federated sign-in (src/simulator/web-sign-in.ts). What it adds are
 * the knobs tests need (any MessageID, RequestVersion, credentials, RequestType, a synchronous key),
 * step-by-step access to each request and answer, and the provisioning doc decoded.
 *
 * ```ts
 * const device = await enrollDevice({ url: server.url, credentials: { kind: 'password', username, password } });
 * device.certPem / device.keyPem   // use as the TLS client certificate towards device.managementUrl
 * const renewed = await renewDevice({ url: server.url, device });
 * ```
 */
import { generateKeyPairSync, randomBytes, randomUUID, X509Certificate } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import forge from 'node-forge';
import { NS, VALUE_TYPES } from '../../src/codec/soap/namespaces.js';
import {
  findCharacteristic,
  parseProvisioningDoc,
  type WapCharacteristic,
} from '../../src/codec/soap/provisioning.js';
import {
  attr,
  childElement,
  findDescendant,
  parseXml,
  textOf,
  type XmlElement,
} from '../../src/codec/xml.js';
import { buildCsr, type DeviceKey as SimulatorDeviceKey } from '../../src/simulator/csr.js';
import {
  discoverRequest,
  type EnrollmentCredentials,
  getPoliciesRequest,
  type RstRequestType,
  rstRequest,
  SOAP_CONTENT_TYPE,
} from '../../src/simulator/enroll-messages.js';
import { httpTransport } from '../../src/simulator/transport.js';
import { SignInFailed, federatedSignIn as simulatorSignIn } from '../../src/simulator/web-sign-in.js';

export { SOAP_CONTENT_TYPE };

// ---- HTTP ------------------------------------------------------------------------------------

export interface TlsClientOptions {
  /** PEM the server certificate must chain to; omitted = do not verify the server (dev TLS). */
  readonly serverCa?: string;
  /** TLS client certificate and key (PEM), e.g. the enrolled device's. */
  readonly cert?: string;
  readonly key?: string;
}

export interface HttpResult {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** One HTTP(S) request on a fresh connection. */
export function request(
  url: string,
  options: TlsClientOptions & {
    method?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
  } = {},
): Promise<HttpResult> {
  const target = new URL(url);
  const lib = target.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(
      target,
      {
        method: options.method ?? 'GET',
        headers: options.headers,
        agent: false,
        ca: options.serverCa,
        rejectUnauthorized: Boolean(options.serverCa),
        cert: options.cert,
        key: options.key,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

export function postSoap(url: string, body: string, tls: TlsClientOptions = {}): Promise<HttpResult> {
  return request(url, {
    ...tls,
    method: 'POST',
    headers: { 'Content-Type': SOAP_CONTENT_TYPE, 'User-Agent': 'ENROLLClient' },
    body,
  });
}

// ---- Messages --------------------------------------------------------------------------------

/** How the client authenticates GetPolicies / RST (docs/protocol-notes.md#enrollment-policy). */
export type Credentials =
  | { readonly kind: 'password'; readonly username: string; readonly password: string }
  /** The `wresult` from the Federated sign-in page (sent base64-encoded, §2.2). */
  | { readonly kind: 'federated'; readonly token: string }
  | { readonly kind: 'none' };

/** The simulator's credentials for the same choice (its builders write every message). */
function simulatorCredentials(credentials: Credentials): EnrollmentCredentials {
  switch (credentials.kind) {
    case 'password':
      return { ...credentials, tokenId: `uuid-${randomUUID()}-1` };
    case 'federated':
      return { kind: 'token', token: credentials.token };
    case 'none':
      return credentials;
  }
}

const newMessageId = () => `urn:uuid:${randomUUID()}`;

export interface DiscoverOptions {
  readonly to: string;
  readonly email: string;
  readonly requestVersion?: string;
  readonly authPolicies?: readonly string[];
  /** The whole `a:MessageID` value. */
  readonly messageId?: string;
}

export function discoverMessage(o: DiscoverOptions): string {
  return discoverRequest(o.messageId ?? newMessageId(), o.to, {
    email: o.email,
    osVersion: '10.0.26100.1',
    osEdition: '48',
    authPolicies: o.authPolicies ?? ['OnPremise', 'Federated'],
    ...(o.requestVersion !== undefined && { requestVersion: o.requestVersion }),
  });
}

export function getPoliciesMessage(to: string, credentials: Credentials, messageId = newMessageId()): string {
  return getPoliciesRequest(messageId, to, simulatorCredentials(credentials));
}

export interface RstOptions {
  readonly to: string;
  readonly credentials: Credentials;
  /** DER of the PKCS#10 (Issue) or PKCS#7 (Renew). */
  readonly token: Buffer;
  readonly valueType?: string;
  readonly requestType?: RstRequestType;
  /** AdditionalContext items in order; a name may repeat. */
  readonly context: readonly (readonly [string, string])[];
  readonly messageId?: string;
}

export function rstMessage(o: RstOptions): string {
  return rstRequest(
    o.messageId ?? newMessageId(),
    o.to,
    simulatorCredentials(o.credentials),
    o.token.toString('base64'),
    o.context,
    { ...(o.requestType && { requestType: o.requestType }), ...(o.valueType && { valueType: o.valueType }) },
  );
}

/** AdditionalContext like Windows 10 sends it (docs/protocol-notes.md#request-security-token). */
export function windowsContext(device: {
  deviceId: string;
  hwDevId?: string;
  deviceName?: string;
  enrollmentType?: 'Full' | 'Device';
  macs?: string[];
}): [string, string][] {
  return [
    ['UXInitiated', 'true'],
    ['HWDevID', device.hwDevId ?? randomBytes(32).toString('hex').toUpperCase()],
    ['Locale', 'en-US'],
    ['TargetedUserLoggedIn', 'true'],
    ['OSEdition', '48'],
    ['DeviceName', device.deviceName ?? 'DESKTOP-TEST'],
    ...(device.macs ?? ['00-15-5D-01-02-03']).map((m): [string, string] => ['MAC', m]),
    ['DeviceID', device.deviceId],
    ['EnrollmentType', device.enrollmentType ?? 'Full'],
    ['DeviceType', 'CIMClient_Windows'],
    ['OSVersion', '10.0.26100.1'],
    ['ApplicationVersion', '10.0.26100.1'],
    ['NotInOobe', 'false'],
  ];
}

// ---- Keys, CSRs, PKCS#7 ------------------------------------------------------------------------

export interface DeviceKey extends SimulatorDeviceKey {
  readonly publicKeyPem: string;
}

export function generateDeviceKey(bits = 2048): DeviceKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    spkiDer: publicKey.export({ type: 'spki', format: 'der' }),
  };
}

/** The virtual device's PKCS#10 (src/simulator/csr.ts: Windows' subject and DeviceID extension), SHA-256. */
export function createCsr(key: DeviceKey, deviceId: string): Buffer {
  return Buffer.from(buildCsr(key, deviceId, 'sha256'), 'base64');
}

/** A renewal token: PKCS#7 SignedData over the new CSR, signed with the current certificate's key. */
export function signRenewalRequest(csrDer: Buffer, certPem: string, keyPem: string): Buffer {
  const p7 = forge.pkcs7.createSignedData();
  p7.content = forge.util.createBuffer(csrDer.toString('binary'));
  const cert = forge.pki.certificateFromPem(certPem);
  p7.addCertificate(cert);
  p7.addSigner({
    key: forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey,
    certificate: cert,
    digestAlgorithm: forge.pki.oids.sha256!,
    authenticatedAttributes: [
      { type: forge.pki.oids.contentType!, value: forge.pki.oids.data },
      { type: forge.pki.oids.messageDigest! },
      { type: forge.pki.oids.signingTime!, value: new Date() as unknown as string },
    ],
  });
  p7.sign();
  return Buffer.from(forge.asn1.toDer(p7.toAsn1()).getBytes(), 'binary');
}

// ---- Responses -------------------------------------------------------------------------------

export interface SoapFaultInfo {
  readonly code: string;
  readonly subcode: string;
  readonly reason: string;
  /** `DeviceEnrollmentServiceError/ErrorType` (what Windows maps to an HRESULT). */
  readonly errorType: string;
  readonly traceId: string;
}

export function parseSoapResponse(body: string): XmlElement {
  return parseXml(body, { maxBytes: 4 * 1024 * 1024 });
}

/** The fault in a response, or undefined when it is not a fault. */
export function faultOf(body: string): SoapFaultInfo | undefined {
  let env: XmlElement;
  try {
    env = parseSoapResponse(body);
  } catch {
    return undefined;
  }
  const fault = findDescendant(env, 'Fault', NS.soap);
  if (!fault) return undefined;
  const code = childElement(fault, 'Code', NS.soap);
  const detail = findDescendant(fault, 'DeviceEnrollmentServiceError', NS.enrollment);
  return {
    code: textOf(code && childElement(code, 'Value', NS.soap)).trim(),
    subcode: textOf(findDescendant(code ?? fault, 'Subcode', NS.soap)).trim(),
    reason: textOf(findDescendant(fault, 'Text', NS.soap)).trim(),
    errorType: textOf(detail && childElement(detail, 'ErrorType', NS.enrollment)).trim(),
    traceId: textOf(detail && childElement(detail, 'TraceId', NS.enrollment)).trim(),
  };
}

export class EnrollmentClientError extends Error {
  override name = 'EnrollmentClientError';
  constructor(
    message: string,
    readonly status: number,
    readonly fault: SoapFaultInfo | undefined,
  ) {
    super(message);
  }
}

function expectOk(step: string, res: HttpResult): XmlElement {
  const fault = faultOf(res.body);
  if (res.status !== 200 || fault) {
    throw new EnrollmentClientError(
      `${step} failed: HTTP ${res.status}${fault ? ` ${fault.subcode} ${fault.errorType}: ${fault.reason}` : ''}`,
      res.status,
      fault,
    );
  }
  return parseSoapResponse(res.body);
}

/** The provisioning doc XML inside an RSTR (docs/protocol-notes.md#request-security-token). */
export function provisioningDocOf(rstr: XmlElement): string {
  const token = findDescendant(rstr, 'BinarySecurityToken', NS.wsse);
  if (!token || attr(token, 'ValueType') !== VALUE_TYPES.provisioningDoc)
    throw new Error('RSTR has no provisioning doc');
  return Buffer.from(textOf(token), 'base64').toString('utf8');
}

// ---- Whole flows -----------------------------------------------------------------------------

export interface DiscoveryResult {
  readonly authPolicy: string;
  readonly enrollmentVersion: string;
  readonly policyUrl: string;
  readonly enrollmentUrl: string;
  readonly authenticationUrl: string | undefined;
}

export async function discover(
  url: string,
  options: Omit<DiscoverOptions, 'to'> & { tls?: TlsClientOptions },
): Promise<DiscoveryResult> {
  const discoveryUrl = `${url}/EnrollmentServer/Discovery.svc`;
  const probe = await request(discoveryUrl, { ...options.tls, headers: { 'User-Agent': 'ENROLLClient' } });
  if (probe.status !== 200)
    throw new EnrollmentClientError(`discovery probe: HTTP ${probe.status}`, probe.status, undefined);
  const env = expectOk(
    'discovery',
    await postSoap(discoveryUrl, discoverMessage({ ...options, to: discoveryUrl }), options.tls),
  );
  const result = findDescendant(env, 'DiscoverResult')!;
  const get = (name: string) => textOf(childElement(result, name)).trim() || undefined;
  return {
    authPolicy: get('AuthPolicy') ?? '',
    enrollmentVersion: get('EnrollmentVersion') ?? '',
    policyUrl: get('EnrollmentPolicyServiceUrl') ?? '',
    enrollmentUrl: get('EnrollmentServiceUrl') ?? '',
    authenticationUrl: get('AuthenticationServiceUrl'),
  };
}

/** Federated sign-in like the Web Authentication Broker: the virtual device's (src/simulator/web-sign-in.ts). */
export async function federatedSignIn(
  authenticationUrl: string,
  username: string,
  password: string,
  tls: TlsClientOptions = {},
): Promise<string> {
  const transport = httpTransport(tls.serverCa ? { ca: tls.serverCa } : { insecure: true });
  try {
    return await simulatorSignIn(transport, authenticationUrl, username, password);
  } catch (err) {
    if (err instanceof SignInFailed) throw new Error(`sign-in failed: ${err.message}`);
    throw err;
  } finally {
    transport.close();
  }
}

export interface EnrollOptions {
  /** Server base URL (discovery is at `${url}/EnrollmentServer/Discovery.svc`). */
  readonly url: string;
  readonly credentials: Credentials;
  readonly email?: string;
  readonly deviceId?: string;
  readonly hwDevId?: string;
  readonly enrollmentType?: 'Full' | 'Device';
  readonly deviceName?: string;
  readonly tls?: TlsClientOptions;
}

export interface EnrolledDevice {
  readonly deviceId: string;
  readonly key: DeviceKey;
  /** The issued client certificate. */
  readonly certPem: string;
  readonly certificate: X509Certificate;
  /** The root CA from the provisioning doc's CertificateStore/Root/System. */
  readonly caCertificate: X509Certificate;
  /** w7 ADDR: the OMA-DM endpoint. */
  readonly managementUrl: string;
  readonly enrollmentUrl: string;
  readonly provisioningDocXml: string;
  readonly provisioningDoc: WapCharacteristic;
  readonly discovery: DiscoveryResult;
}

/** The client certificate from a provisioning doc's My/{User|System} store. */
export function clientCertificateOf(doc: WapCharacteristic): X509Certificate {
  const my = findCharacteristic(doc, 'CertificateStore', 'My');
  const store = my?.children.find((c) => c.type === 'User' || c.type === 'System');
  const entry = store?.children.find((c) => c.parms.has('EncodedCertificate'));
  if (!entry) throw new Error('provisioning doc has no client certificate');
  return new X509Certificate(Buffer.from(entry.parms.get('EncodedCertificate')!.value!, 'base64'));
}

/** Discovery → GetPolicies → RequestSecurityToken (Issue), as Windows does it. */
export async function enrollDevice(options: EnrollOptions): Promise<EnrolledDevice> {
  const deviceId = options.deviceId ?? randomBytes(16).toString('hex').toUpperCase();
  const email =
    options.email ??
    (options.credentials.kind === 'password' ? options.credentials.username : 'user@example.com');
  const discovery = await discover(options.url, { email, tls: options.tls });
  expectOk(
    'GetPolicies',
    await postSoap(
      discovery.policyUrl,
      getPoliciesMessage(discovery.policyUrl, options.credentials),
      options.tls,
    ),
  );
  const key = generateDeviceKey();
  const rst = rstMessage({
    to: discovery.enrollmentUrl,
    credentials: options.credentials,
    token: createCsr(key, deviceId),
    context: windowsContext({
      deviceId,
      hwDevId: options.hwDevId,
      deviceName: options.deviceName,
      enrollmentType: options.enrollmentType,
    }),
  });
  const env = expectOk('RequestSecurityToken', await postSoap(discovery.enrollmentUrl, rst, options.tls));
  const provisioningDocXml = provisioningDocOf(env);
  const doc = parseProvisioningDoc(provisioningDocXml);
  const certificate = clientCertificateOf(doc);
  const root = findCharacteristic(doc, 'CertificateStore', 'Root', 'System')?.children[0];
  const app = findCharacteristic(doc, 'APPLICATION');
  return {
    deviceId,
    key,
    certPem: certificate.toString(),
    certificate,
    caCertificate: new X509Certificate(
      Buffer.from(root?.parms.get('EncodedCertificate')?.value ?? '', 'base64'),
    ),
    managementUrl: app?.parms.get('ADDR')?.value ?? '',
    enrollmentUrl: discovery.enrollmentUrl,
    provisioningDocXml,
    provisioningDoc: doc,
    discovery,
  };
}

export interface RenewOptions {
  readonly device: Pick<EnrolledDevice, 'deviceId' | 'key' | 'certPem' | 'enrollmentUrl'>;
  /** Wrap the CSR in PKCS#7 signed with the current key (Windows' automatic renewal); default true. */
  readonly pkcs7?: boolean;
  /** Generate a new key for the renewed certificate; default true. */
  readonly newKey?: boolean;
  readonly tls?: TlsClientOptions;
}

export interface RenewedDevice {
  readonly key: DeviceKey;
  readonly certPem: string;
  readonly certificate: X509Certificate;
  readonly provisioningDoc: WapCharacteristic;
}

/** RequestType Renew over TLS authenticated with the current device certificate (docs/protocol-notes.md#device-certificates). */
export async function renewDevice(options: RenewOptions): Promise<RenewedDevice> {
  const { device } = options;
  const key = options.newKey === false ? device.key : generateDeviceKey();
  const csr = createCsr(key, device.deviceId);
  const usePkcs7 = options.pkcs7 ?? true;
  const rst = rstMessage({
    to: device.enrollmentUrl,
    credentials: { kind: 'password', username: '', password: '' },
    token: usePkcs7 ? signRenewalRequest(csr, device.certPem, device.key.privateKeyPem) : csr,
    valueType: usePkcs7 ? VALUE_TYPES.pkcs7 : VALUE_TYPES.pkcs10,
    requestType: 'Renew',
    context: [
      ['DeviceID', device.deviceId],
      ['EnrollmentType', 'Full'],
    ],
  });
  const env = expectOk(
    'renewal',
    await postSoap(device.enrollmentUrl, rst, {
      ...options.tls,
      cert: device.certPem,
      key: device.key.privateKeyPem,
    }),
  );
  const doc = parseProvisioningDoc(provisioningDocOf(env));
  const certificate = clientCertificateOf(doc);
  return { key, certPem: certificate.toString(), certificate, provisioningDoc: doc };
}
