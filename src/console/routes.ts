// The web console at `/console`: the static single-page app (no build step, no CDN; files under
// ./static shipped with the package) and its sign-in session (`/console/session`). Every page
// reads and writes through the admin API (`/api/v1`) with the session cookie and CSRF token
// (src/api/session-auth.ts); nothing here reads device data. README "Web console".
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import {
  consoleAuthFor,
  hashSessionId,
  newSecret,
  originAllowed,
  SESSION_COOKIE,
} from '../api/session-auth.js';
import { createLoginThrottle } from '../enrollment/login-throttle.js';
import type { AppDeps } from '../transport/deps.js';
import { checkAdminPassword } from './accounts.js';

const THROTTLE_WINDOW_MS = 15 * 60_000;

/** The static files: next to this module in the source tree, or the source tree seen from dist/. */
export function staticDir(): string {
  const candidates = [
    new URL('./static/', import.meta.url),
    new URL('../../../src/console/static/', import.meta.url),
  ];
  for (const url of candidates) {
    const path = fileURLToPath(url);
    if (existsSync(`${path}index.html`)) return path;
  }
  throw new Error('console static files not found (src/console/static)');
}

/** Headers of every console response: no framing, no inline script, no third-party origin (CSP Level 3). */
function securityHeaders(_req: Request, res: Response, next: NextFunction): void {
  res.set({
    'Content-Security-Policy':
      "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
      "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
  });
  next();
}

const cookie = (value: string, clear = false) =>
  `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; Secure; SameSite=Strict${clear ? '; Max-Age=0' : ''}`;

function problem(res: Response, status: number, title: string, detail: string, headers = {}): void {
  res
    .status(status)
    .set(headers)
    .type('application/problem+json')
    .send(JSON.stringify({ type: 'about:blank', title, status, detail }));
}

export function consoleRoutes(deps: AppDeps): Router {
  const router = express.Router();
  const { storage, logger } = deps;
  const now = deps.now ?? (() => new Date());
  const auth = consoleAuthFor(deps);
  const throttle = createLoginThrottle(storage.loginThrottle, {
    maxFailures: deps.config.consoleMaxFailedSignIns,
    windowMs: THROTTLE_WINDOW_MS,
  });
  const dir = staticDir();
  const idleMinutes = deps.config.consoleIdleMinutes;
  const handle =
    (fn: (req: Request, res: Response) => Promise<void>) =>
    (req: Request, res: Response, next: NextFunction) => {
      fn(req, res).catch(next);
    };

  router.use('/console', securityHeaders);
  router.use(
    '/console/assets',
    express.static(`${dir}assets`, { index: false, dotfiles: 'ignore', fallthrough: false, maxAge: 0 }),
  );

  router.get(
    '/console/session',
    handle(async (req, res) => {
      res.set('Cache-Control', 'no-store');
      const result = await auth.authenticate(req);
      if (result.outcome !== 'ok') {
        problem(res, 401, 'Unauthorized', result.outcome === 'none' ? 'not signed in' : result.detail);
        return;
      }
      const { principal } = result;
      res.json({
        name: principal.name,
        role: principal.role,
        csrfToken: principal.session.csrfToken,
        idleMinutes,
      });
    }),
  );

  router.post(
    '/console/session',
    express.json({ limit: '16kb' }),
    handle(async (req, res) => {
      res.set('Cache-Control', 'no-store');
      // A JSON body (a cross-origin form cannot send one without a CORS preflight) from this origin.
      if (!req.is('application/json') || !originAllowed(req, deps.config.publicUrl)) {
        problem(res, 403, 'Forbidden', 'sign in from the console page');
        return;
      }
      const body = req.body as { name?: unknown; password?: unknown } | undefined;
      const name = typeof body?.name === 'string' ? body.name.trim() : '';
      const password = typeof body?.password === 'string' ? body.password : '';
      if (!name || name.length > 128 || !password || password.length > 1024) {
        problem(res, 400, 'Bad Request', 'send {"name": …, "password": …}');
        return;
      }
      const at = now();
      const address = req.socket.remoteAddress ?? null;
      const key = `console:${name.toLowerCase()}`;
      if (await throttle.isLocked(key, at)) {
        await storage.audit.record({
          actor: `console:${name}`,
          action: 'console.sign_in_refused',
          details: { name, address, reason: 'too many failed sign-ins' },
        });
        problem(res, 429, 'Too Many Requests', 'too many failed sign-ins; try again later', {
          'Retry-After': String(THROTTLE_WINDOW_MS / 1000),
        });
        return;
      }
      const account = await checkAdminPassword(storage.admins, name, password);
      if (!account) {
        await throttle.recordFailure(key, at);
        await storage.audit.record({
          actor: `console:${name}`,
          action: 'console.sign_in_failed',
          details: { name, address },
        });
        logger.warn({ address }, 'console: failed sign-in');
        problem(res, 401, 'Unauthorized', 'wrong name or password');
        return;
      }
      await throttle.recordSuccess(key);
      const id = newSecret();
      const stamp = at.toISOString();
      const csrfToken = newSecret();
      await storage.admins.deleteIdleSessions(new Date(at.getTime() - idleMinutes * 60_000).toISOString());
      await storage.admins.createSession({
        idHash: hashSessionId(id),
        adminName: account.name,
        csrfToken,
        createdAt: stamp,
        lastSeenAt: stamp,
      });
      await storage.audit.record({
        actor: `console:${account.name}`,
        action: 'console.sign_in',
        details: { role: account.role, address },
      });
      res.set('Set-Cookie', cookie(id)).status(201).json({
        name: account.name,
        role: account.role,
        csrfToken,
        idleMinutes,
      });
    }),
  );

  router.delete(
    '/console/session',
    handle(async (req, res) => {
      res.set('Cache-Control', 'no-store');
      const result = await auth.authenticate(req);
      if (result.outcome === 'none') {
        problem(res, 401, 'Unauthorized', 'not signed in');
        return;
      }
      if (result.outcome === 'refused') {
        problem(res, result.status, result.title, result.detail);
        return;
      }
      await storage.admins.deleteSession(result.principal.session.idHash);
      await storage.audit.record({ actor: result.principal.actor, action: 'console.sign_out', details: {} });
      res.set('Set-Cookie', cookie('', true)).status(204).end();
    }),
  );

  // The app's single page for /console and every path under it (the app routes in the URL hash).
  router.get(/^\/console(\/.*)?$/, (_req, res) => {
    res.set('Cache-Control', 'no-store').sendFile(`${dir}index.html`);
  });
  return router;
}
