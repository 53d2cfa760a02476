// Bearer API tokens (RFC 6750 §2.1) with roles, and the per-token rate limit (RFC 6585 §4 429 with
// Retry-After). A token's role is checked against each route's minimum role; a refusal is audited.
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '../logger.js';
import { hashToken, verifyApiToken } from '../reporting/api-tokens.js';
import type { Storage } from '../storage/index.js';
import type { ApiToken, TokenRole } from '../storage/tokens.js';
import { sendProblem } from './problem.js';
import { type ConsoleAuth, consoleApiAuth } from './session-auth.js';

/** auditor < operator < admin: each role may do everything the ones before it may. */
const RANK: Record<TokenRole, number> = { auditor: 0, operator: 1, admin: 2 };

export const roleAllows = (have: TokenRole, need: TokenRole) => RANK[have] >= RANK[need];

/** The authenticated token of a request (set by `bearerAuth`). */
export function tokenOf(res: Response): ApiToken {
  const token = res.locals.apiToken as ApiToken | undefined;
  if (!token) throw new Error('route reached without an authenticated token');
  return token;
}

/** Who an API call is in the audit log: the token's name. */
export const actorOfToken = (token: ApiToken) => token.name;

const CHALLENGE = 'Bearer realm="mdm-admin"';

export function bearerAuth(storage: Storage, logger: Logger, now: () => Date, consoleAuth?: ConsoleAuth) {
  // Refused authentications are audited (a prefix of the token's hash, never the token).
  const refused = (req: Request, reason: string, token?: string) =>
    storage.audit
      .record({
        actor: 'anonymous',
        action: 'auth.refused',
        details: {
          realm: 'admin-api',
          reason,
          address: req.socket.remoteAddress ?? null,
          ...(token !== undefined && { tokenHashPrefix: hashToken(token).slice(0, 8) }),
        },
      })
      .catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'audit: refusal not recorded'));
  return async (req: Request, res: Response, next: NextFunction) => {
    const m = /^Bearer\s+(\S+)$/i.exec(req.get('authorization') ?? '');
    if (!m && consoleAuth) {
      // The web console's session cookie (+ CSRF token on writes) stands in for a token, with the
      // admin account's role (session-auth.ts).
      let viaConsole: 'ok' | 'answered' | 'none';
      try {
        viaConsole = await consoleApiAuth(consoleAuth, storage, req, res);
      } catch (err) {
        next(err);
        return;
      }
      if (viaConsole === 'ok') next();
      if (viaConsole !== 'none') return;
    }
    if (!m) {
      await refused(req, 'no Bearer token');
      sendProblem(
        res,
        401,
        {
          detail: 'send an API token as "Authorization: Bearer <token>" (create one with: mdm tokens create)',
        },
        { 'WWW-Authenticate': CHALLENGE },
      );
      return;
    }
    try {
      const token = await verifyApiToken(storage.tokens, m[1]!, now());
      if (!token) {
        logger.warn({ tokenHashPrefix: hashToken(m[1]!).slice(0, 8) }, 'admin API: unknown or revoked token');
        await refused(req, 'unknown or revoked token', m[1]!);
        sendProblem(
          res,
          401,
          { detail: 'unknown or revoked API token' },
          { 'WWW-Authenticate': `${CHALLENGE}, error="invalid_token"` },
        );
        return;
      }
      res.locals.apiToken = token;
      next();
    } catch (err) {
      next(err);
    }
  };
}

/**
 * Token bucket per API token: `perMinute` requests of burst, refilled at `perMinute` per minute.
 * Counted in this process (each server instance limits on its own).
 */
export function rateLimiter(perMinute: number, now: () => number = Date.now) {
  const buckets = new Map<string, { tokens: number; at: number }>();
  const ratePerMs = perMinute / 60_000;
  return (_req: Request, res: Response, next: NextFunction) => {
    const id = tokenOf(res).id;
    const t = now();
    const b = buckets.get(id) ?? { tokens: perMinute, at: t };
    b.tokens = Math.min(perMinute, b.tokens + (t - b.at) * ratePerMs);
    b.at = t;
    buckets.set(id, b);
    if (buckets.size > 10_000) buckets.delete(buckets.keys().next().value!);
    if (b.tokens < 1) {
      const retryAfter = Math.max(1, Math.ceil((1 - b.tokens) / ratePerMs / 1000));
      sendProblem(
        res,
        429,
        { detail: `more than ${perMinute} requests per minute with this token` },
        { 'Retry-After': String(retryAfter) },
      );
      return;
    }
    b.tokens -= 1;
    res.setHeader('RateLimit-Remaining', String(Math.floor(b.tokens)));
    next();
  };
}
