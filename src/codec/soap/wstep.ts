// MS-WSTEP RequestSecurityToken and its response collection (docs/protocol-notes.md#request-security-token).
import { attr, childElement, childElements, textOf } from '../xml.js';
import { decodeBase64, expectAction, type SoapRequest } from './envelope.js';
import { EnrollmentFault } from './faults.js';
import {
  ACTIONS,
  ENCODING_BASE64,
  NS,
  REQUEST_TYPES,
  type RequestType,
  TOKEN_TYPE_DEVICE_ENROLLMENT,
  VALUE_TYPES,
} from './namespaces.js';
import { renderSoapResponse } from './response.js';
import { el } from './writer.js';

export interface ContextItem {
  readonly name: string;
  readonly value: string;
}

export interface RstRequest {
  readonly messageId: string | undefined;
  readonly requestType: RequestType;
  /** ValueType of the request token (PKCS#10 or PKCS#7). */
  readonly tokenValueType: string;
  /** Decoded token bytes (DER). */
  readonly token: Buffer;
  /** `ac:AdditionalContext` items in document order; names may repeat (MAC). */
  readonly context: readonly ContextItem[];
}

export function parseRequestSecurityToken(request: SoapRequest): RstRequest {
  expectAction(request, ACTIONS.requestSecurityToken);
  const rst = request.body;
  if (rst.local !== 'RequestSecurityToken' || rst.ns !== NS.wsTrust) {
    throw new EnrollmentFault('MessageFormat', 'SOAP body is not a RequestSecurityToken');
  }
  const tokenType = textOf(childElement(rst, 'TokenType', NS.wsTrust)).trim();
  if (tokenType && tokenType !== TOKEN_TYPE_DEVICE_ENROLLMENT) {
    throw new EnrollmentFault('MessageFormat', 'unsupported TokenType', undefined, { tokenType });
  }
  const requestTypeUri = textOf(childElement(rst, 'RequestType', NS.wsTrust)).trim();
  const requestType = REQUEST_TYPES[requestTypeUri as keyof typeof REQUEST_TYPES];
  if (!requestType) {
    throw new EnrollmentFault('MessageFormat', 'missing or unsupported RequestType', undefined, {
      requestType: requestTypeUri,
    });
  }
  const binary = childElement(rst, 'BinarySecurityToken', NS.wsse);
  if (!binary) throw new EnrollmentFault('MessageFormat', 'RequestSecurityToken has no BinarySecurityToken');
  const tokenValueType = (attr(binary, 'ValueType') ?? '').trim();
  const known: string[] = [VALUE_TYPES.pkcs10, VALUE_TYPES.pkcs7, VALUE_TYPES.pkcs7Alt];
  if (!known.includes(tokenValueType)) {
    throw new EnrollmentFault(
      'MessageFormat',
      'missing or unsupported BinarySecurityToken ValueType',
      undefined,
      { valueType: tokenValueType },
    );
  }
  const token = decodeBase64(textOf(binary));
  if (!token) throw new EnrollmentFault('MessageFormat', 'BinarySecurityToken is not base64');
  const additional = childElement(rst, 'AdditionalContext', NS.authorization);
  const context = additional
    ? childElements(additional, 'ContextItem', NS.authorization).map((item) =>
        checkContextItem({
          name: (attr(item, 'Name') ?? '').trim(),
          value: textOf(childElement(item, 'Value', NS.authorization)).trim(),
        }),
      )
    : [];
  return { messageId: request.messageId, requestType, tokenValueType, token, context };
}

/** ContextItem names are identifiers (MS-MDE2 2.2.9 lists them: DeviceID, DeviceName, MAC, …). */
const CONTEXT_NAME_RE = /^[A-Za-z][A-Za-z0-9._-]{0,127}$/;
/** Longest accepted value (the TPM attestation items are the largest). */
const CONTEXT_VALUE_MAX = 16 * 1024;
/**
 * Characters no ContextItem value holds: every control character (C0 including TAB/CR/LF, DEL,
 * C1) and the bidirectional overrides and isolates. Values are device facts (names, versions,
 * hardware ids, base64 blobs) that end up in the provisioning doc, the database and admin output.
 */
const CONTEXT_VALUE_BAD_RE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

/**
 * Refuses a ContextItem with a malformed name or value (MessageFormat fault) before the service
 * sees it, so nothing of such a request is stored. The item name is logged, never reflected.
 */
function checkContextItem(item: ContextItem): ContextItem {
  if (
    !CONTEXT_NAME_RE.test(item.name) ||
    item.value.length > CONTEXT_VALUE_MAX ||
    CONTEXT_VALUE_BAD_RE.test(item.value)
  ) {
    throw new EnrollmentFault(
      'MessageFormat',
      'an AdditionalContext item has a malformed name or value',
      undefined,
      { contextItem: CONTEXT_NAME_RE.test(item.name) ? item.name : '(malformed name)' },
    );
  }
  return item;
}

/** First value of a context item (names compared case-insensitively). */
export function contextValue(items: readonly ContextItem[], name: string): string | undefined {
  const lower = name.toLowerCase();
  return items.find((i) => i.name.toLowerCase() === lower)?.value || undefined;
}

/** Every value of a repeatable context item (MAC, IMEI). */
export function contextValues(items: readonly ContextItem[], name: string): string[] {
  const lower = name.toLowerCase();
  return items.filter((i) => i.name.toLowerCase() === lower && i.value).map((i) => i.value);
}

export interface RstResponse {
  readonly relatesTo: string | undefined;
  /** The wap-provisioningdoc XML; base64-encoded into the token here. */
  readonly provisioningDoc: string;
  readonly now: Date;
}

export function buildRequestSecurityTokenResponse(r: RstResponse): string {
  const expires = new Date(r.now.getTime() + 5 * 60 * 1000);
  return renderSoapResponse({
    action: ACTIONS.requestSecurityTokenResponse,
    relatesTo: r.relatesTo,
    envelopeNs: { 'xmlns:u': NS.wssUtility },
    headerAfterRelatesTo: el(
      'o:Security',
      { 's:mustUnderstand': '1', 'xmlns:o': NS.wsse },
      el(
        'u:Timestamp',
        { 'u:Id': '_0' },
        el('u:Created', {}, r.now.toISOString()),
        el('u:Expires', {}, expires.toISOString()),
      ),
    ),
    body: el(
      'RequestSecurityTokenResponseCollection',
      { xmlns: NS.wsTrust },
      el(
        'RequestSecurityTokenResponse',
        {},
        el('TokenType', {}, TOKEN_TYPE_DEVICE_ENROLLMENT),
        el('DispositionMessage', { xmlns: NS.enrollment }),
        el(
          'RequestedSecurityToken',
          {},
          el(
            'BinarySecurityToken',
            { xmlns: NS.wsse, ValueType: VALUE_TYPES.provisioningDoc, EncodingType: ENCODING_BASE64 },
            Buffer.from(r.provisioningDoc, 'utf8').toString('base64'),
          ),
        ),
        el('RequestID', { xmlns: NS.enrollment }, '0'),
      ),
    ),
  });
}
