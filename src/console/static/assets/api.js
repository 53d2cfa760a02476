// @ts-check
// The console's only way to the server: the admin API (`/api/v1`, docs/api.md) with the session
// cookie, plus the CSRF token on every write. Errors are RFC 9457 problem+json.

/** @typedef {{ name: string, role: 'admin' | 'operator' | 'auditor', csrfToken: string, idleMinutes: number }} Session */

/** @type {Session | null} */
export let session = null;

/** @param {Session | null} s */
export function setSession(s) {
  session = s;
}

export class ApiError extends Error {
  /** @param {number} status @param {string} message @param {any} body */
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

/**
 * @param {string} method
 * @param {string} path
 * @param {unknown} [body]
 * @returns {Promise<any>}
 */
export async function request(method, path, body) {
  /** @type {Record<string, string>} */
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && session) headers['X-CSRF-Token'] = session.csrfToken;
  const res = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  /** @type {any} */
  let parsed = null;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  if (!res.ok) {
    if (res.status === 401 && path !== '/console/session')
      window.dispatchEvent(new CustomEvent('mdm:signed-out'));
    const detail = parsed && typeof parsed === 'object' ? (parsed.detail ?? parsed.title) : undefined;
    throw new ApiError(res.status, `${res.status} ${detail ?? res.statusText}`, parsed);
  }
  return parsed;
}

/** @param {string} path */
export const get = (path) => request('GET', path);
/** @param {string} path @param {unknown} [body] */
export const post = (path, body = {}) => request('POST', path, body);

/** @param {Record<string, string | number | undefined | null>} params */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** Role checks mirror the API's (admin: everything; operator: device actions and commands; auditor: read). */
export const can = {
  act: () => session?.role === 'admin' || session?.role === 'operator',
  wipe: () => session?.role === 'admin' || session?.role === 'operator',
  applyPolicy: () => session?.role === 'admin',
};

/** @param {string} s */
export const enc = (s) => encodeURIComponent(s);
