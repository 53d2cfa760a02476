// The Express application: shared middleware, then one router per protocol area. To add an area,
// write a `RouteModule` (deps → Router) and add it to `ROUTE_MODULES`.
import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type Express, type NextFunction, type Request, type Response, type Router } from 'express';
import { consoleRoutes } from '../console/routes.js';
import { createServerMetrics, routeFamily } from '../reporting/metrics.js';
import { isStorageUnavailable } from '../storage/errors.js';
import type { AppDeps } from '../transport/deps.js';
import { clientErrorStatus } from '../transport/errors.js';
import { RETRY_AFTER_SECONDS } from '../transport/unavailable.js';
import { adminRoutes } from './admin-routes.js';
import { captureMiddleware, markAuthenticated } from './capture.js';
import { contentRoutes } from './content-routes.js';
import { createDmEndpoint, DM_PATH, type DmEndpoint, isDmRequest } from './dm-endpoint.js';
import { enrollmentRoutes } from './enrollment-routes.js';
import { scepRoutes } from './scep-routes.js';
import { rawBody } from './soap.js';

export type { AppDeps } from '../transport/deps.js';

export type RouteModule = (deps: AppDeps) => Router;

/** Mounted in order. */
export const ROUTE_MODULES: readonly RouteModule[] = [
  enrollmentRoutes,
  adminRoutes,
  consoleRoutes,
  contentRoutes,
  scepRoutes,
];

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * The server's request handler: the OMA-DM endpoint on a bare node:http handler (the hot path),
 * everything else through Express. With session capture on, OMA-DM goes through Express too, so
 * the capture middleware sees it.
 */
export function createRequestHandler(appDeps: AppDeps): RequestHandler {
  const deps = { ...appDeps, metrics: appDeps.metrics ?? createServerMetrics(appDeps.storage) };
  const dm = createDmEndpoint(deps);
  const app = createApp(deps, dm);
  const metrics = deps.metrics;
  const route: RequestHandler = deps.config.captureDir
    ? app
    : (req, res) => (isDmRequest(req) ? dm.handle(req, res) : app(req, res));
  // Request durations per route family (and OMA-DM exchange durations) for /metrics.
  return (req, res) => {
    const started = process.hrtime.bigint();
    // Taken now: routers rewrite req.url while they handle it.
    const family = isDmRequest(req) ? 'omadm' : routeFamily((req.url ?? '/').split('?')[0]!);
    res.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.httpRequest(family, req.method ?? 'GET', res.statusCode, seconds);
      if (family === 'omadm' && req.method === 'POST') metrics.dmExchange(seconds);
    });
    route(req, res);
  };
}

export function createApp(deps: AppDeps, dm: DmEndpoint = createDmEndpoint(deps)): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use((req: Request, res: Response, next: NextFunction) => {
    const started = process.hrtime.bigint();
    // The path only: a query string can carry a secret (the DIGEST session's RespURI token). Taken
    // now, since a mounted router strips its prefix from req.path while it handles the request.
    const path = req.path;
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      deps.logger.debug({ method: req.method, path, status: res.statusCode, ms }, 'request');
    });
    next();
  });
  const capture = captureMiddleware(deps.config, deps.logger);
  if (capture) app.use(capture);
  for (const module of ROUTE_MODULES) app.use(module(deps));
  app.post(DM_PATH, rawBody(deps.config), (req: Request, res: Response, next: NextFunction) => {
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    dm.serve(req, res, body, (deviceId) => markAuthenticated(res, deviceId)).catch(next);
  });
  app.use((_req: Request, res: Response) => {
    res.status(404).type('text/plain').send('not found');
  });
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (isStorageUnavailable(err)) {
      deps.logger.warn({ err: err.message }, 'request refused: database unavailable');
      if (!res.headersSent) res.status(503).set('Retry-After', String(RETRY_AFTER_SECONDS)).end();
      return;
    }
    // Client errors outside the routes' own handlers (the OMA-DM endpoint's body limit, a path
    // Express could not decode): the HTTP status, a plain body, no stack in the log.
    const status = clientErrorStatus(err);
    if (status !== undefined) {
      deps.logger.debug({ status, path: req.path, error: (err as Error).name }, 'bad request');
      if (!res.headersSent) res.status(status).type('text/plain').send('bad request');
      return;
    }
    deps.logger.error({ err }, 'unhandled request error');
    if (!res.headersSent) res.status(500).type('text/plain').send('internal error');
  });
  return app;
}
