// Console session authentication, shared by the console's own routes and the admin API: a request
// carrying the console's session cookie is authenticated as the signed-in admin account, with that
// account's role, instead of a Bearer API token. Writes (any method but GET/HEAD/OPTIONS) must also
// carry the session's CSRF token in `X-CSRF-Token` (OWASP "Synchronizer Token Pattern"), and a
// cross-origin `Origin` is refused. The cookie is `__Host-` prefixed, HttpOnly, Secure,
// SameSite=Strict (RFC 6265bis §4.1.3.2, §5.4.7); the database holds only its SHA-256.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AdminRole, AdminSession } from '../storage/admins.js';
import type { Storage } from '../storage/index.js';
import type { ApiToken } from '../storage/tokens.js';
import type { AppDeps } from '../transport/deps.js';

export const SESSION_COOKIE = '__Host-mdm-console';
export const CSRF_HEADER = 'x-csrf-token';

/** Who a console request acts as. `actor` is what the audit log records. */
export interface ConsolePrincipal {
  readonly kind: 'console';
  readonly name: string;
  readonly role: AdminRole;
  readonly actor: string;
  readonly session: AdminSession;
}

export type ConsoleAuthResult =
  /** No console cookie on the request: authenticate it some other way (a Bearer token). */
  | { readonly outcome: 'none' }
  | { readonly outcome: 'ok'; readonly principal: ConsolePrincipal }
  /** The cookie is there but not good enough: answer with this problem. */
  | {
      readonly outcome: 'refused';
      readonly status: 401 | 403;
      readonly title: string;
      readonly detail: string;
      /** Set when the refusal is a write without its CSRF token (audited by the caller). */
      readonly csrf?: boolean;
    };

export interface ConsoleAuthDeps {
  readonly storage: Pick<Storage, 'admins'>;
  /** Minutes without a request after which a session ends. */
  readonly idleMinutes: number;
  /** The server's public URL: its origin is accepted in `Origin` besides the request's own Host. */
  readonly publicUrl?: string;
  readonly now?: () => Date;
}

export interface ConsoleAuth {
  authenticate(req: IncomingMessage): Promise<ConsoleAuthResult>;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** A session's last-seen time is written at most this often (not on every request). */
const TOUCH_EVERY_MS = 30_000;

export const hashSessionId = (id: string): string => createHash('sha256').update(id).digest('hex');
export const newSecret = (): string => randomBytes(32).toString('base64url');

/** The value of cookie `name` in a `Cookie` header (RFC 6265 §5.4), or undefined. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function sameText(a: string, b: string): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db);
}

/** Does the request's `Origin` (when sent) name this server? */
export function originAllowed(req: IncomingMessage, publicUrl?: string): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    return false;
  }
  if (host === req.headers.host) return true;
  if (!publicUrl) return false;
  try {
    return new URL(publicUrl).host === host;
  } catch {
    return false;
  }
}

export function createConsoleAuth(deps: ConsoleAuthDeps): ConsoleAuth {
  const now = deps.now ?? (() => new Date());
  const idleMs = deps.idleMinutes * 60_000;
  const unauthorized = (detail: string): ConsoleAuthResult => ({
    outcome: 'refused',
    status: 401,
    title: 'Unauthorized',
    detail,
  });
  return {
    async authenticate(req) {
      const id = readCookie(req.headers.cookie, SESSION_COOKIE);
      if (!id) return { outcome: 'none' };
      const idHash = hashSessionId(id);
      const session = await deps.storage.admins.getSession(idHash);
      if (!session) return unauthorized('the console session has ended; sign in again');
      const at = now();
      if (at.getTime() - Date.parse(session.lastSeenAt) >= idleMs) {
        await deps.storage.admins.deleteSession(idHash);
        return unauthorized('the console session timed out; sign in again');
      }
      const account = await deps.storage.admins.get(session.adminName);
      if (!account) {
        await deps.storage.admins.deleteSession(idHash);
        return unauthorized('the admin account no longer exists');
      }
      if (!SAFE_METHODS.has(req.method ?? 'GET')) {
        const header = req.headers[CSRF_HEADER];
        const token = Array.isArray(header) ? undefined : header;
        if (!token || !sameText(token, session.csrfToken) || !originAllowed(req, deps.publicUrl)) {
          return {
            outcome: 'refused',
            status: 403,
            title: 'Forbidden',
            detail: `a console write needs the session's CSRF token in the ${CSRF_HEADER} header`,
            csrf: true,
          };
        }
      }
      if (at.getTime() - Date.parse(session.lastSeenAt) >= TOUCH_EVERY_MS) {
        await deps.storage.admins.touchSession(idHash, at.toISOString());
      }
      return {
        outcome: 'ok',
        principal: {
          kind: 'console',
          name: account.name,
          role: account.role,
          actor: `console:${account.name}`,
          session,
        },
      };
    },
  };
}

/**
 * The `ConsoleAuth` of a server (one per storage), shared by the console routes and the admin API's
 * authentication middleware: call `authenticate(req)` when a request has no Bearer token.
 */
const AUTH = new WeakMap<object, ConsoleAuth>();
export function consoleAuthFor(deps: AppDeps): ConsoleAuth {
  let auth = AUTH.get(deps.storage);
  if (!auth) {
    auth = createConsoleAuth({
      storage: deps.storage,
      idleMinutes: deps.config?.consoleIdleMinutes ?? 30,
      publicUrl: deps.config?.publicUrl,
      ...(deps.now && { now: deps.now }),
    });
    AUTH.set(deps.storage, auth);
  }
  return auth;
}

/** The API caller a console session acts as: the account's role, `console:<name>` in the audit log. */
export function consoleApiToken(principal: ConsolePrincipal): ApiToken {
  return {
    id: principal.actor,
    name: principal.actor,
    role: principal.role,
    hash: '',
    createdAt: principal.session.createdAt,
    lastUsedAt: principal.session.lastSeenAt,
    revokedAt: null,
  };
}

function problem(res: ServerResponse, status: number, title: string, detail: string, headers = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/problem+json', ...headers });
  res.end(JSON.stringify({ type: 'about:blank', title, status, detail }));
}

/**
 * The admin API's alternative to a Bearer token: authenticates `req` by the console session and
 * sets `res.locals.apiToken` (the API's caller) when it is good ('ok'); answers 401 (an ended
 * session) or 403 (a write without the CSRF token, audited) itself ('answered'); 'none' when the
 * request has no console cookie (the caller then asks for a token).
 */
export async function consoleApiAuth(
  auth: ConsoleAuth,
  storage: Pick<Storage, 'audit'>,
  req: IncomingMessage,
  res: ServerResponse & { locals: Record<string, unknown> },
): Promise<'ok' | 'answered' | 'none'> {
  const result = await auth.authenticate(req);
  if (result.outcome === 'none') return 'none';
  if (result.outcome === 'ok') {
    res.locals.apiToken = consoleApiToken(result.principal);
    return 'ok';
  }
  if (result.csrf) {
    await storage.audit.record({
      actor: 'console',
      action: 'console.csrf_refused',
      details: { method: req.method ?? '', path: (req.url ?? '').split('?')[0] ?? '' },
    });
  }
  problem(res, result.status, result.title, result.detail);
  return 'answered';
}
