// The WNS access-token request and its answer, as Microsoft documents them
// (https://learn.microsoft.com/windows/apps/design/shell/tiles-and-notifications/windows-push-notification-services--wns--overview,
// "Authenticating with WNS"): an OAuth 2.0 client credentials grant (RFC 6749 §4.4), POSTed as
// `application/x-www-form-urlencoded` to the token URL; the answer is JSON `access_token`,
// `token_type` (bearer), `expires_in`, or an error status with JSON `error` (RFC 6749 §5.2). Used
// by the push sender and by `mdm doctor`; each sends it over its own HTTPS request.

export const WNS_TOKEN_CONTENT_TYPE = 'application/x-www-form-urlencoded';

/** The form body of the token request. */
export function wnsTokenRequestBody(clientId: string, clientSecret: string): string {
  return new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: clientId,
    client_secret: clientSecret,
    scope: 'notify.windows.com',
  }).toString();
}

export type WnsTokenAnswer =
  | { readonly ok: true; readonly accessToken: string; readonly expiresInSeconds?: number }
  | {
      readonly ok: false;
      /** Why, for logs and `mdm doctor`: never the token or the secret. */
      readonly error: string;
      /** The OAuth `error` code of a refusal (`invalid_client`, …), when the endpoint sent one. */
      readonly oauthError?: string;
    };

/** Reads the token endpoint's answer (HTTP status and body). */
export function parseWnsTokenAnswer(status: number, body: string): WnsTokenAnswer {
  let doc:
    | { access_token?: unknown; token_type?: unknown; expires_in?: unknown; error?: unknown }
    | undefined;
  try {
    const parsed: unknown = JSON.parse(body);
    if (parsed && typeof parsed === 'object') doc = parsed as typeof doc;
  } catch {
    doc = undefined;
  }
  if (status !== 200) {
    const code =
      typeof doc?.error === 'string' && /^[\x20-\x7e]{1,64}$/.test(doc.error) ? doc.error : undefined;
    return {
      ok: false,
      error: `token endpoint answered ${status}${code ? ` (${code})` : ''}`,
      ...(code && { oauthError: code }),
    };
  }
  if (!doc) return { ok: false, error: 'token endpoint answered no JSON' };
  if (typeof doc.access_token !== 'string' || doc.access_token === '' || /[\r\n]/.test(doc.access_token))
    return { ok: false, error: 'token endpoint answered no access_token' };
  if (typeof doc.token_type === 'string' && doc.token_type.toLowerCase() !== 'bearer')
    return { ok: false, error: `token endpoint answered token_type ${doc.token_type.slice(0, 40)}` };
  const seconds = Number(doc.expires_in);
  return {
    ok: true,
    accessToken: doc.access_token,
    ...(Number.isFinite(seconds) && seconds > 0 && { expiresInSeconds: seconds }),
  };
}
