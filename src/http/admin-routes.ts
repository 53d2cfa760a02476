// `/metrics` (Prometheus) and the admin API (`/api/v1/…`, src/api/, docs/api.md); every error is
// `application/problem+json` (RFC 9457).
import { createHash, timingSafeEqual } from 'node:crypto';
import express, { type Response, type Router } from 'express';
import { apiRouter } from '../api/index.js';
import { createServerMetrics } from '../reporting/metrics.js';
import { isStorageUnavailable } from '../storage/errors.js';
import type { AppDeps } from '../transport/deps.js';
import { RETRY_AFTER_SECONDS } from '../transport/unavailable.js';

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

export function adminRoutes(deps: AppDeps): Router {
  const router = express.Router();
  const { storage } = deps;
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

  router.use(apiRouter(deps));
  return router;
}
