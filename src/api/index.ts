// The admin API (docs/api.md): `/api/v1/…` with Bearer API tokens and roles, the OpenAPI document
// and its reference page, and the token-free operations endpoints (/healthz, /readyz, /version).
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { TAR_BUNDLE_TYPES } from '../services/policy.js';
import { isStorageUnavailable } from '../storage/errors.js';
import type { AppDeps } from '../transport/deps.js';
import { clientErrorStatus } from '../transport/errors.js';
import { RETRY_AFTER_SECONDS } from '../transport/unavailable.js';
import { bearerAuth, rateLimiter } from './auth.js';
import { buildOpenApi } from './openapi.js';
import { ApiProblem, problemFor, sendProblem } from './problem.js';
import { referencePage } from './reference.js';
import { mountRoutes, type RouteDef } from './route.js';
import { adminRoutes } from './routes/admin.js';
import { appRoutes } from './routes/apps.js';
import { catalogRoutes } from './routes/catalog.js';
import { certificateRoutes } from './routes/certificates.js';
import { commandRoutes } from './routes/commands.js';
import { deviceRoutes } from './routes/devices.js';
import { opsRoutes, packageVersion } from './routes/ops.js';
import { policyRoutes } from './routes/policies.js';
import { reportRoutes } from './routes/reports.js';
import { webhookRoutes } from './routes/webhooks.js';
import { consoleAuthFor } from './session-auth.js';

/** Every route of the API, in the order the OpenAPI document lists them. */
export const API_ROUTES: readonly RouteDef[] = [
  ...opsRoutes,
  ...certificateRoutes,
  ...deviceRoutes,
  ...commandRoutes,
  ...policyRoutes,
  ...reportRoutes,
  ...appRoutes,
  ...catalogRoutes,
  ...adminRoutes,
  ...webhookRoutes,
];

let openApiDoc: Record<string, unknown> | undefined;
export function openApiDocument(): Record<string, unknown> {
  openApiDoc ??= buildOpenApi(API_ROUTES, packageVersion());
  return openApiDoc;
}

/** Largest JSON body (a policy bundle is the biggest). */
const BODY_LIMIT = '8mb';

export function apiRouter(deps: AppDeps): Router {
  const root = express.Router();
  const now = deps.now ?? (() => new Date());
  const errors = (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) return;
    if (err instanceof ApiProblem) return problemFor(res, err);
    if (isStorageUnavailable(err)) {
      deps.logger.warn({ err: err.message }, 'admin API: database unavailable');
      return sendProblem(
        res,
        503,
        { detail: 'the database is unavailable; try again later' },
        { 'Retry-After': String(RETRY_AFTER_SECONDS) },
      );
    }
    // A client error (a malformed percent-escape is a URIError with status 400, a body the parser
    // refused): answered as such and logged without a stack.
    const status = clientErrorStatus(err);
    if (status !== undefined) {
      deps.logger.debug({ status, path: req.path, error: (err as Error).name }, 'admin API: bad request');
      return sendProblem(res, status, {
        detail:
          err instanceof URIError
            ? 'the request path holds a malformed percent-escape'
            : status === 413
              ? `the body is larger than ${BODY_LIMIT}`
              : 'the request could not be read (send well-formed application/json)',
      });
    }
    deps.logger.error({ err, path: req.path }, 'admin API error');
    sendProblem(res, 500);
  };

  const ops = express.Router();
  mountRoutes(ops, opsRoutes, deps);
  ops.use(errors);
  root.use(ops);

  const api = express.Router();
  api.get('/openapi.json', (_req, res) => {
    res.json(openApiDocument());
  });
  api.get('/docs', (_req, res) => {
    res
      .type('text/html; charset=utf-8')
      .set('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'")
      .send(referencePage(openApiDocument()));
  });
  api.use(bearerAuth(deps.storage, deps.logger, now, consoleAuthFor(deps)));
  api.use(rateLimiter(deps.config?.apiRateLimit ?? 600));
  api.use(
    express.json({ limit: BODY_LIMIT, strict: false, type: ['application/json', 'application/*+json'] }),
  );
  api.use(express.raw({ limit: BODY_LIMIT, type: [...TAR_BUNDLE_TYPES] }));
  mountRoutes(
    api,
    API_ROUTES.filter((r) => !r.public),
    deps,
  );
  api.use((_req: Request, res: Response) => {
    sendProblem(res, 404, { detail: 'no such admin API endpoint' });
  });
  api.use(errors);
  root.use('/api/v1', api);
  return root;
}
