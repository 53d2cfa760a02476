// The admin API (`/api/v1/…`, Bearer API token) and `/metrics` (Prometheus). Read-only reports
// from the database; every error is `application/problem+json` (RFC 9457).
import { createHash, timingSafeEqual } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { hashToken, verifyApiToken } from '../reporting/api-tokens.js';
import { complianceReport, deviceComplianceReport, policyStatusReport } from '../reporting/compliance.js';
import { complianceCsv } from '../reporting/csv.js';
import { createServerMetrics } from '../reporting/metrics.js';
import { isStorageUnavailable } from '../storage/errors.js';
import type { AppDeps } from './app.js';
import { clientErrorStatus } from './errors.js';
import { RETRY_AFTER_SECONDS } from './unavailable.js';

interface Problem {
  readonly status: number;
  readonly title: string;
  readonly detail?: string;
}

function sendProblem(res: Response, p: Problem, headers: Record<string, string> = {}): void {
  res
    .status(p.status)
    .set(headers)
    .type('application/problem+json')
    .send(
      JSON.stringify({
        type: 'about:blank',
        title: p.title,
        status: p.status,
        ...(p.detail ? { detail: p.detail } : {}),
      }),
    );
}

/** Constant-time comparison of a presented Bearer token with the expected one (compared as hashes). */
function bearerMatches(header: string | undefined, expected: string): boolean {
  const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  if (!m) return false;
  const digest = (t: string) => createHash('sha256').update(t).digest();
  return timingSafeEqual(digest(m[1]!), digest(expected));
}

const wantsCsv = (req: Request) =>
  req.query.format === 'csv' || (req.query.format === undefined && req.accepts(['json', 'csv']) === 'csv');

export function adminRoutes(deps: AppDeps): Router {
  const router = express.Router();
  const { storage } = deps;
  const now = deps.now ?? (() => new Date());
  const { registry } = deps.metrics ?? createServerMetrics(storage);

  // Optional Bearer token for the scraper (config `metricsToken`, MDM_METRICS_TOKEN); the admin API
  // tokens are not accepted here so a scraper credential cannot read device reports.
  const metricsToken = deps.config?.metricsToken;
  router.get('/metrics', async (req, res, next) => {
    if (metricsToken !== undefined && !bearerMatches(req.get('authorization'), metricsToken)) {
      sendProblem(
        res,
        {
          status: 401,
          title: 'Unauthorized',
          detail: 'send the metrics token as "Authorization: Bearer <token>"',
        },
        { 'WWW-Authenticate': 'Bearer realm="mdm-metrics"' },
      );
      return;
    }
    try {
      res.type(registry.contentType).send(await registry.metrics());
    } catch (err) {
      if (!isStorageUnavailable(err)) return next(err);
      deps.logger.warn({ err: err.message }, 'metrics: database unavailable');
      sendProblem(
        res,
        { status: 503, title: 'Service Unavailable', detail: 'the database is unavailable' },
        { 'Retry-After': String(RETRY_AFTER_SECONDS) },
      );
    }
  });

  const api = express.Router();
  api.use(async (req: Request, res: Response, next: NextFunction) => {
    const header = req.get('authorization') ?? '';
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    const challenge = { 'WWW-Authenticate': 'Bearer realm="mdm-admin"' };
    // Refused API authentications are audited (a prefix of the token's hash, never the token).
    const refused = (reason: string, token?: string) =>
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
        .catch((err: unknown) =>
          deps.logger.warn({ err: (err as Error).message }, 'audit: refusal not recorded'),
        );
    if (!m) {
      await refused('no Bearer token');
      sendProblem(
        res,
        {
          status: 401,
          title: 'Unauthorized',
          detail: 'send an API token as "Authorization: Bearer <token>" (create one with: mdm tokens create)',
        },
        challenge,
      );
      return;
    }
    try {
      const token = await verifyApiToken(storage.tokens, m[1]!, now());
      if (!token) {
        deps.logger.warn(
          { tokenHashPrefix: hashToken(m[1]!).slice(0, 8) },
          'admin API: unknown or revoked token',
        );
        await refused('unknown or revoked token', m[1]!);
        sendProblem(
          res,
          { status: 401, title: 'Unauthorized', detail: 'unknown or revoked API token' },
          { ...challenge, 'WWW-Authenticate': 'Bearer realm="mdm-admin", error="invalid_token"' },
        );
        return;
      }
      next();
    } catch (err) {
      next(err);
    }
  });

  const handle =
    (fn: (req: Request, res: Response) => Promise<void>) =>
    (req: Request, res: Response, next: NextFunction) => {
      fn(req, res).catch(next);
    };

  api.get(
    '/compliance',
    handle(async (req, res) => {
      if (req.query.format !== undefined && req.query.format !== 'json' && req.query.format !== 'csv') {
        sendProblem(res, { status: 400, title: 'Bad Request', detail: 'format must be json or csv' });
        return;
      }
      if (wantsCsv(req)) {
        res
          .type('text/csv; charset=utf-8')
          .set('Content-Disposition', 'attachment; filename="compliance.csv"')
          .send(await complianceCsv(storage));
        return;
      }
      res.json({ devices: await complianceReport(storage) });
    }),
  );

  api.get(
    '/devices/:id/compliance',
    handle(async (req, res) => {
      const report = await deviceComplianceReport(storage, String(req.params.id));
      if (!report) {
        sendProblem(res, { status: 404, title: 'Not Found', detail: `no device ${req.params.id}` });
        return;
      }
      res.json(report);
    }),
  );

  api.get(
    '/policies/:name/status',
    handle(async (req, res) => {
      const report = await policyStatusReport(storage, String(req.params.name));
      if (!report) {
        sendProblem(res, { status: 404, title: 'Not Found', detail: `no policy ${req.params.name}` });
        return;
      }
      res.json(report);
    }),
  );

  api.use((_req: Request, res: Response) => {
    sendProblem(res, { status: 404, title: 'Not Found', detail: 'no such admin API endpoint' });
  });
  api.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (isStorageUnavailable(err)) {
      deps.logger.warn({ err: err.message }, 'admin API: database unavailable');
      if (!res.headersSent) {
        sendProblem(
          res,
          {
            status: 503,
            title: 'Service Unavailable',
            detail: 'the database is unavailable; try again later',
          },
          { 'Retry-After': String(RETRY_AFTER_SECONDS) },
        );
      }
      return;
    }
    // A client error (a malformed percent-escape in the path is a URIError with status 400, a
    // body the parser refused): answered as such and logged without a stack.
    const status = clientErrorStatus(err);
    if (status !== undefined) {
      deps.logger.debug({ status, path: req.path, error: (err as Error).name }, 'admin API: bad request');
      if (!res.headersSent) {
        sendProblem(res, {
          status,
          title: STATUS_CODES[status] ?? 'Bad Request',
          detail:
            err instanceof URIError
              ? 'the request path holds a malformed percent-escape'
              : 'the request could not be read',
        });
      }
      return;
    }
    deps.logger.error({ err }, 'admin API error');
    if (!res.headersSent) sendProblem(res, { status: 500, title: 'Internal Server Error' });
  });

  router.use('/api/v1', api);
  return router;
}
