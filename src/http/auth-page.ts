// The Federated sign-in page at AuthenticationServiceUrl (docs/protocol-notes.md#federated-sign-in). Windows opens it as
// `?appru=ms-app://…&login_hint=upn`; after a good password the page auto-posts `wresult` (our
// signed token) to `appru`, which the Web Authentication Broker intercepts.
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { escapeXml } from '../codec/xml.js';
import type { Config } from '../config.js';
import type { EnrollmentService } from '../enrollment/service.js';
import { ENROLLMENT_PATHS } from '../enrollment/urls.js';
import { isStorageUnavailable } from '../storage/errors.js';
import { RETRY_AFTER_SECONDS } from '../transport/unavailable.js';
import { withIdleTimeout } from './body.js';
import { markAuthenticated } from './capture.js';

/**
 * Only Windows app return URIs: never post a token to a web site. Printable ASCII without space,
 * quotes and angle brackets (no control character can reach the page through it).
 */
const APPRU_RE = /^ms-app:\/\/[!#-&(-;=?-~]+$/i;

/**
 * Text for the page: escaped, characters XML 1.0 does not allow replaced (escapeXml), and the
 * C1 controls and DEL too, which HTML also forbids (HTML §13.2.3.5 control characters).
 */
const escapeHtml = (text: string) => escapeXml(text.replace(/[\u007f-\u009f]/g, '\uFFFD'));

const CSP =
  "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; form-action 'self' ms-app:; frame-ancestors 'none'";

function page(res: Response, status: number, title: string, body: string): void {
  res
    .status(status)
    .set({ 'Content-Security-Policy': CSP, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' })
    .type('text/html; charset=utf-8')
    .send(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">` +
        `<title>${escapeHtml(title)}</title><style>body{font-family:Segoe UI,sans-serif;margin:2em;max-width:26em}` +
        `label,input{display:block;width:100%;margin:.3em 0}.error{color:#a4262c}</style></head>${body}</html>`,
    );
}

function signInForm(res: Response, appru: string, loginHint: string, error?: string): void {
  page(
    res,
    200,
    'Sign in to enroll this device',
    `<body><h1>Sign in</h1><p>Sign in to enroll this device in device management.</p>` +
      (error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : '') +
      `<form method="post" action="${ENROLLMENT_PATHS.auth}">` +
      `<input type="hidden" name="appru" value="${escapeHtml(appru)}">` +
      `<label for="username">User name</label><input id="username" name="username" autocomplete="username" required value="${escapeHtml(loginHint)}">` +
      `<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>` +
      `<input type="submit" value="Sign in"></form></body>`,
  );
}

const badRequest = (res: Response) =>
  page(
    res,
    400,
    'Bad request',
    '<body><p>This page must be opened by Windows enrollment (missing or invalid appru).</p></body>',
  );

const field = (source: unknown, name: string): string => {
  const v = (source as Record<string, unknown> | undefined)?.[name];
  return typeof v === 'string' ? v : '';
};

export function registerSignInPage(router: Router, service: EnrollmentService, config: Config): void {
  router.get(ENROLLMENT_PATHS.auth, (req, res) => {
    const appru = field(req.query, 'appru');
    if (!APPRU_RE.test(appru)) return badRequest(res);
    signInForm(res, appru, field(req.query, 'login_hint'));
  });

  router.post(
    ENROLLMENT_PATHS.auth,
    withIdleTimeout(
      express.urlencoded({
        extended: false,
        limit: Math.min(config.maxBodyBytes, 16 * 1024),
        parameterLimit: 10,
      }),
      config.bodyTimeoutSeconds * 1000,
    ),
    async (req: Request, res: Response) => {
      const appru = field(req.body, 'appru');
      if (!APPRU_RE.test(appru)) return badRequest(res);
      const username = field(req.body, 'username');
      let token: string | undefined;
      try {
        token = await service.signIn(username, field(req.body, 'password'));
      } catch (err) {
        if (!isStorageUnavailable(err)) throw err;
        res.set('Retry-After', String(RETRY_AFTER_SECONDS));
        return page(
          res,
          503,
          'Try again later',
          '<body><p>Sign-in is temporarily unavailable. Try again later.</p></body>',
        );
      }
      if (!token) return signInForm(res, appru, username, 'The user name or password is incorrect.');
      markAuthenticated(res);
      page(
        res,
        200,
        'Signed in',
        `<body onload="document.forms[0].submit()"><form method="post" action="${escapeHtml(appru)}">` +
          `<input type="hidden" name="wresult" value="${escapeHtml(token)}">` +
          `<noscript><input type="submit" value="Continue"></noscript></form></body>`,
      );
    },
    // An unreadable form (too large, too many fields, an unknown charset) gets the page's own error.
    (err: unknown, _req: Request, res: Response, next: NextFunction) => {
      const status = (err as { status?: number }).status;
      if (res.headersSent || typeof status !== 'number' || status < 400 || status >= 500) return next(err);
      page(res, status, 'Bad request', '<body><p>The sign-in form could not be read.</p></body>');
    },
  );
}
