// The Express application: shared middleware, then one router per protocol area. To add an area,
// write a `RouteModule` (deps → Router) and add it to `ROUTE_MODULES`.
import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type Express, type NextFunction, type Request, type Response, type Router } from 'express';
import type { CatalogLookup } from '../catalog/types.js';
import type { Config } from '../config.js';
import type { DmHooks } from '../dm/hooks.js';
import type { Logger } from '../logger.js';
import type { EnrollmentCa } from '../pki/ca.js';
import { createServerMetrics, type ServerMetrics } from '../reporting/metrics.js';
import { scepRoutes } from '../scep/routes.js';
import type { ScepService } from '../scep/service.js';
import { isStorageUnavailable } from '../storage/errors.js';
import type { Storage } from '../storage/index.js';
import { adminRoutes } from './admin-routes.js';
import { captureMiddleware, markAuthenticated } from './capture.js';
import { createDmEndpoint, DM_PATH, type DmEndpoint, isDmRequest } from './dm-endpoint.js';
import { enrollmentRoutes } from './enrollment-routes.js';
import { clientErrorStatus } from './errors.js';
import { rawBody } from './soap.js';
import { RETRY_AFTER_SECONDS } from './unavailable.js';

/** What every route module is built from (assembled by `startMdmServer` in src/main.ts). */
export interface AppDeps {
  /** Final configuration; `publicUrl` is the base of every URL handed out. */
  readonly config: Config;
  readonly storage: Storage;
  /** Enrollment CA: verify device certificates with `verifyDeviceCertificate(ca, cert)`. */
  readonly ca: EnrollmentCa;
  readonly logger: Logger;
  /** HMAC key of Federated sign-in tokens. */
  readonly tokenSecret: Buffer;
  /** Clock (tests may pin it). */
  readonly now?: () => Date;
  /** CSP catalog, loaded on first use: a 418'd Add is retried as Replace only where the node allows Replace (default: allowed). */
  readonly catalog?: () => CatalogLookup;
  /** OMA-DM session hooks (policy delivery observes command outcomes here; src/dm/hooks.ts). */
  readonly dmHooks?: DmHooks;
  /** `/metrics` and the counters the session engine feeds (default: a registry of its own). */
  readonly metrics?: ServerMetrics;
  /** SCEP server (RFC 8894) at `config.scepPath`; absent = no SCEP endpoint. */
  readonly scep?: ScepService;
}

export type RouteModule = (deps: AppDeps) => Router;

/** Mounted in order. */
export const ROUTE_MODULES: readonly RouteModule[] = [enrollmentRoutes, adminRoutes, scepRoutes];

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
  if (deps.config.captureDir) return app;
  return (req, res) => (isDmRequest(req) ? dm.handle(req, res) : app(req, res));
}

export function createApp(deps: AppDeps, dm: DmEndpoint = createDmEndpoint(deps)): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use((req: Request, res: Response, next: NextFunction) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      // The path only: a query string can carry a secret (the DIGEST session's RespURI token).
      deps.logger.debug({ method: req.method, path: req.path, status: res.statusCode, ms }, 'request');
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
