// The SOAP requests the Windows enrollment client sends (docs/protocol-notes.md#discovery, #enrollment-policy, #request-security-token), written in
// the shape of the real captures (compact, no declaration, same prefixes and element order), and
// readers for the server's answers (DiscoverResponse, GetPoliciesResponse, RSTR, SOAP faults).
import {
  ACTIONS,
  ANONYMOUS_ADDRESS,
  ENCODING_BASE64,
  NS,
  PASSWORD_TEXT,
  TOKEN_TYPE_DEVICE_ENROLLMENT,
  VALUE_TYPES,
} from '../codec/soap/namespaces.js';
import {
  attr,
  childElements,
  escapeXml,
  findDescendant,
  parseXml,
  textOf,
  type XmlElement,
} from '../codec/xml.js';

export const SOAP_CONTENT_TYPE = 'application/soap+xml; charset=utf-8';

/** `messageId` is the whole `a:MessageID` value (Windows sends `urn:uuid:{GUID}`). */
const header = (action: string, messageId: string, to: string, security = '') =>
  `<s:Header><a:Action s:mustUnderstand="1">${action}</a:Action><a:MessageID>${escapeXml(messageId)}</a:MessageID>` +
  `<a:ReplyTo><a:Address>${ANONYMOUS_ADDRESS}</a:Address></a:ReplyTo><a:To s:mustUnderstand="1">${escapeXml(to)}</a:To>${security}</s:Header>`;

const WSSE_ENVELOPE =
  `<s:Envelope xmlns:s="${NS.soap}" xmlns:a="${NS.addressing}" xmlns:u="${NS.wssUtility}" ` +
  `xmlns:wsse="${NS.wsse}" xmlns:wst="${NS.wsTrust}" xmlns:ac="${NS.authorization}">`;

/** How the device proves who enrolls: OnPremise username/password or a federated token. */
export type EnrollmentCredentials =
  | {
      readonly kind: 'password';
      readonly username: string;
      readonly password: string;
      readonly tokenId: string;
    }
  | { readonly kind: 'token'; readonly token: string }
  /** No `wsse:Security` header (a renewal authenticates with the TLS client certificate). */
  | { readonly kind: 'none' };

function security(creds: EnrollmentCredentials): string {
  if (creds.kind === 'none') return '';
  if (creds.kind === 'password') {
    return (
      `<wsse:Security s:mustUnderstand="1"><wsse:UsernameToken u:Id="${creds.tokenId}">` +
      `<wsse:Username>${escapeXml(creds.username)}</wsse:Username>` +
      `<wsse:Password wsse:Type="${PASSWORD_TEXT}">${escapeXml(creds.password)}</wsse:Password>` +
      '</wsse:UsernameToken></wsse:Security>'
    );
  }
  return (
    `<wsse:Security s:mustUnderstand="1"><wsse:BinarySecurityToken ValueType="${VALUE_TYPES.federatedUserToken}" ` +
    `EncodingType="${ENCODING_BASE64}">${Buffer.from(creds.token).toString('base64')}</wsse:BinarySecurityToken></wsse:Security>`
  );
}

export interface DiscoverFacts {
  readonly email: string;
  readonly osVersion: string;
  readonly osEdition: string;
  readonly authPolicies: readonly string[];
  /** Default 4.0, what Windows 10 and 11 send. */
  readonly requestVersion?: string;
}

export function discoverRequest(messageId: string, to: string, f: DiscoverFacts): string {
  return (
    `<s:Envelope xmlns:a="${NS.addressing}" xmlns:s="${NS.soap}">${header(ACTIONS.discover, messageId, to)}` +
    `<s:Body><Discover xmlns="${NS.discovery}"><request xmlns:i="${NS.xsi}">` +
    `<EmailAddress>${escapeXml(f.email)}</EmailAddress><RequestVersion>${escapeXml(f.requestVersion ?? '4.0')}</RequestVersion>` +
    `<DeviceType>CIMClient_Windows</DeviceType><ApplicationVersion>${escapeXml(f.osVersion)}</ApplicationVersion>` +
    `<OSEdition>${escapeXml(f.osEdition)}</OSEdition><AuthPolicies>` +
    f.authPolicies.map((p) => `<AuthPolicy>${escapeXml(p)}</AuthPolicy>`).join('') +
    '</AuthPolicies></request></Discover></s:Body></s:Envelope>'
  );
}

export function getPoliciesRequest(messageId: string, to: string, creds: EnrollmentCredentials): string {
  return (
    `${WSSE_ENVELOPE}${header(ACTIONS.getPolicies, messageId, to, security(creds))}` +
    `<s:Body xmlns:xsi="${NS.xsi}" xmlns:xsd="${NS.xsd}"><GetPolicies xmlns="${NS.enrollmentPolicy}">` +
    '<client><lastUpdate xsi:nil="true"/><preferredLanguage xsi:nil="true"/></client>' +
    '<requestFilter xsi:nil="true"/></GetPolicies></s:Body></s:Envelope>'
  );
}

const REQUEST_TYPE_URI = {
  Issue: `${NS.wsTrust}/Issue`,
  Renew: `${NS.wsTrust}/Renew`,
  Recovery: `${NS.wsTrust}/Recovery`,
} as const;
export type RstRequestType = keyof typeof REQUEST_TYPE_URI;

export interface RstOptions {
  /** Default Issue; Renew carries a PKCS#7 or PKCS#10 signed for the current certificate. */
  readonly requestType?: RstRequestType;
  /** The BinarySecurityToken ValueType; default PKCS#10. */
  readonly valueType?: string;
}

/**
 * `token` is the base64 request (PKCS#10, or PKCS#7 for renewal); `context` the AdditionalContext
 * items, in the order Windows 10 sends them (docs/protocol-notes.md#request-security-token).
 */
export function rstRequest(
  messageId: string,
  to: string,
  creds: EnrollmentCredentials,
  token: string,
  context: ReadonlyArray<readonly [string, string]>,
  options: RstOptions = {},
): string {
  return (
    `${WSSE_ENVELOPE}${header(ACTIONS.requestSecurityToken, messageId, to, security(creds))}` +
    `<s:Body><wst:RequestSecurityToken><wst:TokenType>${TOKEN_TYPE_DEVICE_ENROLLMENT}</wst:TokenType>` +
    `<wst:RequestType>${REQUEST_TYPE_URI[options.requestType ?? 'Issue']}</wst:RequestType>` +
    `<wsse:BinarySecurityToken ValueType="${escapeXml(options.valueType ?? VALUE_TYPES.pkcs10)}" EncodingType="${ENCODING_BASE64}">${token}</wsse:BinarySecurityToken>` +
    `<ac:AdditionalContext xmlns="${NS.authorization}">` +
    context
      .map(
        ([name, value]) =>
          `<ac:ContextItem Name="${escapeXml(name)}"><ac:Value>${escapeXml(value)}</ac:Value></ac:ContextItem>`,
      )
      .join('') +
    '</ac:AdditionalContext></wst:RequestSecurityToken></s:Body></s:Envelope>'
  );
}

/** A SOAP fault from the server, decoded the way Windows reads it (docs/protocol-notes.md#soap-faults). */
export class EnrollmentRefused extends Error {
  override name = 'EnrollmentRefused';
  constructor(
    readonly code: string,
    readonly errorType: string | undefined,
    reason: string,
  ) {
    super(`enrollment refused: ${errorType ?? code}: ${reason}`);
  }
}

function readEnvelope(body: string): XmlElement {
  const env = parseXml(body, { maxBytes: 4 * 1024 * 1024 });
  const fault = findDescendant(env, 'Fault', NS.soap);
  if (fault) {
    const subcode = findDescendant(fault, 'Subcode');
    const code = textOf(subcode ? findDescendant(subcode, 'Value') : findDescendant(fault, 'Value'));
    const errorType = findDescendant(fault, 'ErrorType', NS.enrollment);
    throw new EnrollmentRefused(
      code,
      errorType ? textOf(errorType) : undefined,
      textOf(findDescendant(fault, 'Text')),
    );
  }
  return env;
}

export interface DiscoverResult {
  readonly authPolicy: string;
  readonly policyUrl?: string;
  readonly enrollmentUrl: string;
  readonly authenticationUrl?: string;
}

export function readDiscoverResponse(body: string): DiscoverResult {
  const result = findDescendant(readEnvelope(body), 'DiscoverResult');
  if (!result) throw new Error('DiscoverResponse without DiscoverResult');
  const text = (local: string) => {
    const el = findDescendant(result, local);
    const value = el ? textOf(el).trim() : '';
    return value === '' ? undefined : value;
  };
  const enrollmentUrl = text('EnrollmentServiceUrl');
  if (!enrollmentUrl) throw new Error('DiscoverResponse without EnrollmentServiceUrl');
  return {
    authPolicy: text('AuthPolicy') ?? 'OnPremise',
    policyUrl: text('EnrollmentPolicyServiceUrl'),
    enrollmentUrl,
    authenticationUrl: text('AuthenticationServiceUrl'),
  };
}

export interface PolicyResult {
  readonly minimalKeyLength: number;
  /** Hash named by hashAlgorithmOIDReference, when the policy names one. */
  readonly hash: 'sha1' | 'sha256';
}

export function readGetPoliciesResponse(body: string): PolicyResult {
  const env = readEnvelope(body);
  const minimal = Number(textOf(findDescendant(env, 'minimalKeyLength')));
  const hashRef = textOf(findDescendant(env, 'hashAlgorithmOIDReference')).trim();
  let hash: PolicyResult['hash'] = 'sha1';
  const oids = findDescendant(env, 'oIDs');
  for (const o of oids ? childElements(oids, 'oID') : []) {
    if (textOf(findDescendant(o, 'oIDReferenceID')).trim() !== hashRef || hashRef === '') continue;
    if (textOf(findDescendant(o, 'value')).trim() === '2.16.840.1.101.3.4.2.1') hash = 'sha256';
  }
  return { minimalKeyLength: Number.isFinite(minimal) && minimal >= 1024 ? minimal : 2048, hash };
}

/** The provisioning doc carried in the RSTR, decoded (docs/protocol-notes.md#request-security-token). */
export function readRstrResponse(body: string): string {
  const env = readEnvelope(body);
  const token = findDescendant(env, 'BinarySecurityToken');
  if (!token || attr(token, 'ValueType') !== VALUE_TYPES.provisioningDoc) {
    throw new Error('RSTR without a provisioning document');
  }
  return Buffer.from(textOf(token).replace(/\s+/g, ''), 'base64').toString('utf8');
}
