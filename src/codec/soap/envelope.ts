// Incoming SOAP 1.2 envelopes of MS-MDE2: WS-Addressing header fields and the WS-Security token
// (docs/protocol-notes.md#discovery, #enrollment-policy, #request-security-token). Every problem becomes an `EnrollmentFault` (MessageFormat), so
// callers never see parser exceptions.
import {
  attr,
  childElement,
  childElements,
  parseXml,
  textOf,
  type XmlElement,
  XmlError,
  type XmlErrorCode,
} from '../xml.js';
import { EnrollmentFault } from './faults.js';
import { NS } from './namespaces.js';

/** The credential carried in `wsse:Security` (docs/protocol-notes.md#enrollment-policy). */
export type SecurityToken =
  | { readonly kind: 'username'; readonly username: string; readonly password: string }
  | { readonly kind: 'binary'; readonly valueType: string; readonly value: string }
  | { readonly kind: 'none' };

export interface SoapRequest {
  readonly action: string;
  /** `a:MessageID`, echoed in `a:RelatesTo`. */
  readonly messageId: string | undefined;
  readonly to: string | undefined;
  readonly security: SecurityToken;
  /** First child element of `s:Body`. */
  readonly body: XmlElement;
}

export interface SoapLimits {
  readonly maxBytes: number;
  readonly maxDepth?: number;
}

/** Fault reasons per XML error: fixed texts, so a fault never reflects the parser or the input. */
const XML_FAULT_REASONS: Readonly<Record<XmlErrorCode, string>> = {
  empty: 'invalid XML: the request body is empty',
  'too-large': 'invalid XML: the request body is too large',
  encoding: 'invalid XML: the request body is not UTF-8',
  'illegal-char': 'invalid XML: the request holds characters XML 1.0 does not allow',
  doctype: 'invalid XML: DOCTYPE and ENTITY declarations are not accepted',
  'too-deep': 'invalid XML: element nesting is too deep',
  malformed: 'invalid XML: the request is not well-formed',
};

/** Parses a SOAP 1.2 request; throws `EnrollmentFault` for anything that is not one. */
export function parseSoapRequest(input: string | Buffer, limits: SoapLimits): SoapRequest {
  let envelope: XmlElement;
  try {
    envelope = parseXml(input, { maxBytes: limits.maxBytes, maxDepth: limits.maxDepth ?? 32 });
  } catch (err) {
    if (err instanceof XmlError) {
      throw new EnrollmentFault('MessageFormat', XML_FAULT_REASONS[err.code], undefined, {
        xmlError: err.code,
        parser: err.message,
      });
    }
    throw err;
  }
  if (envelope.local !== 'Envelope' || envelope.ns !== NS.soap) {
    throw new EnrollmentFault('MessageFormat', 'not a SOAP 1.2 envelope');
  }
  const header = childElement(envelope, 'Header', NS.soap);
  const body = childElement(envelope, 'Body', NS.soap);
  const payload = body ? childElements(body)[0] : undefined;
  if (!payload) throw new EnrollmentFault('MessageFormat', 'SOAP body is empty');
  const action = header ? textOf(childElement(header, 'Action', NS.addressing)).trim() : '';
  if (!action) throw new EnrollmentFault('MessageFormat', 'missing a:Action header');
  const messageId = header ? textOf(childElement(header, 'MessageID', NS.addressing)).trim() : '';
  const to = header ? textOf(childElement(header, 'To', NS.addressing)).trim() : '';
  const security = header ? childElement(header, 'Security', NS.wsse) : undefined;
  return {
    action,
    messageId: messageId || undefined,
    to: to || undefined,
    security: security ? parseSecurity(security) : { kind: 'none' },
    body: payload,
  };
}

function parseSecurity(security: XmlElement): SecurityToken {
  const binary = childElement(security, 'BinarySecurityToken', NS.wsse);
  if (binary) {
    return {
      kind: 'binary',
      // ValueType may be unprefixed or wsse-prefixed (docs/protocol-notes.md#namespaces).
      valueType: (attr(binary, 'ValueType') ?? '').trim(),
      value: textOf(binary).trim(),
    };
  }
  const username = childElement(security, 'UsernameToken', NS.wsse);
  if (username) {
    return {
      kind: 'username',
      username: textOf(childElement(username, 'Username', NS.wsse)).trim(),
      password: textOf(childElement(username, 'Password', NS.wsse)),
    };
  }
  return { kind: 'none' };
}

/** Checks the action header against the operation's; a mismatch is a MessageFormat fault. */
export function expectAction(request: SoapRequest, action: string): void {
  if (request.action !== action) {
    throw new EnrollmentFault('MessageFormat', `unexpected action; expected ${action}`, undefined, {
      action: request.action,
    });
  }
}

/** Strict base64 (whitespace allowed) → bytes; undefined when the text is not base64. */
export function decodeBase64(text: string): Buffer | undefined {
  const compact = text.replace(/\s+/g, '');
  if (compact === '' || !/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 === 1) return undefined;
  return Buffer.from(compact, 'base64');
}
