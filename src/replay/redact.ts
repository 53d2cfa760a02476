// Secrets never reach a fixture: WS-Security passwords and federated/Entra tokens, the sign-in
// page's password field and wresult token, SyncML Cred data, DIGEST secrets inside the
// provisioning doc, DIGEST session tokens, SCEP challenges (ClientCertificateInstall), private
// keys, and credential-bearing HTTP headers.
// The placeholder is a fixed word so a replay can provision a user whose password is exactly it.

export const REDACTED = 'REDACTED';

const PASSWORD_RE = /(<(?:[\w-]+:)?Password\b[^>]*>)[^<]*(<\/(?:[\w-]+:)?Password>)/g;
const TOKEN_RE =
  /(<(?:[\w-]+:)?BinarySecurityToken\b[^>]*ValueType="[^"]*(?:DeviceEnrollmentUserToken|token-type:jwt)"[^>]*>)[^<]*(<\/(?:[\w-]+:)?BinarySecurityToken>)/g;
const CRED_RE = /(<Cred>[\s\S]*?<Data>)[^<]*(<\/Data>[\s\S]*?<\/Cred>)/g;
const PRIVATE_KEY_RE = /-----BEGIN ([A-Z ]*)PRIVATE KEY-----[\s\S]*?-----END \1PRIVATE KEY-----/g;
const PROVISIONING_RE =
  /(<(?:[\w-]+:)?BinarySecurityToken\b[^>]*ValueType="[^"]*DeviceEnrollmentProvisionDoc"[^>]*>)([^<]*)(<\/(?:[\w-]+:)?BinarySecurityToken>)/g;
/** Sign-in page traffic (docs/protocol-notes.md#federated-sign-in): the posted password and the `wresult` token. */
const FORM_PASSWORD_RE = /(^|&)(password|passwd|pwd)=[^&]*/gi;
const WRESULT_RE = /(<input\b[^>]*\bname="wresult"[^>]*\bvalue=")[^"]*(")/gi;
const SECRET_PARM_RE = /(<parm\s+name="(?:AAUTHSECRET|AAUTHDATA)"\s+value=")[^"]*(")/g;
/**
 * The one-time SCEP challenge in a ClientCertificateInstall `…/Install/Challenge` Item
 * (https://learn.microsoft.com/en-us/windows/client-management/mdm/clientcertificateinstall-csp).
 */
const SCEP_CHALLENGE_RE =
  /(<LocURI>[^<]*\/ClientCertificateInstall\/[^<]*\/Install\/Challenge<\/LocURI>(?:(?!<\/Item>)[\s\S])*?<Data>)[^<]*(<\/Data>)/g;
/** The per-session token of a DIGEST session, in a RespURI or a request path (`?s=…`). */
const SESSION_TOKEN_RE = /([?&]s=)[A-Za-z0-9_-]+/g;

export const SENSITIVE_HEADERS: ReadonlySet<string> = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'devicetoken',
]);

/** Remove secrets from a message body (SOAP, SyncML, provisioning doc, PEM). */
export function redactBody(body: string): string {
  if (body === '') return body;
  return body
    .replace(PASSWORD_RE, `$1${REDACTED}$2`)
    .replace(TOKEN_RE, `$1${REDACTED}$2`)
    .replace(CRED_RE, `$1${REDACTED}$2`)
    .replace(SCEP_CHALLENGE_RE, `$1${REDACTED}$2`)
    .replace(SESSION_TOKEN_RE, `$1${REDACTED}`)
    .replace(FORM_PASSWORD_RE, `$1$2=${REDACTED}`)
    .replace(WRESULT_RE, `$1${REDACTED}$2`)
    .replace(PRIVATE_KEY_RE, `-----BEGIN $1PRIVATE KEY-----\n${REDACTED}\n-----END $1PRIVATE KEY-----`)
    .replace(PROVISIONING_RE, (_m, open: string, b64: string, close: string) => {
      const doc = Buffer.from(b64.trim(), 'base64').toString('utf8');
      const clean = doc.replace(SECRET_PARM_RE, `$1${REDACTED}$2`);
      return `${open}${Buffer.from(clean, 'utf8').toString('base64')}${close}`;
    });
}

/** Remove the DIGEST session token from a request path. */
export function redactPath(path: string): string {
  return path.replace(SESSION_TOKEN_RE, `$1${REDACTED}`);
}

/** Headers worth keeping in a fixture, with credentials redacted; hop-by-hop headers dropped. */
export function redactHeaders(
  headers: Readonly<Record<string, string | string[] | number | undefined>>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const key = name.toLowerCase();
    if (value === undefined || DROPPED_HEADERS.has(key)) continue;
    out[key] = SENSITIVE_HEADERS.has(key)
      ? REDACTED
      : Array.isArray(value)
        ? value.join(', ')
        : String(value);
  }
  return out;
}

const DROPPED_HEADERS: ReadonlySet<string> = new Set([
  'host',
  'connection',
  'keep-alive',
  'content-length',
  'transfer-encoding',
  'date',
  'etag',
  'x-request-id',
  'x-forwarded-for',
  'x-forwarded-proto',
]);
