// One table of routes: each declares its method, path, minimum role, zod schemas of its path
// parameters, query, body and every response. The same table mounts the Express handlers (input
// parsed with the schemas, output checked against them) and generates the OpenAPI document
// (openapi.ts), so what is documented is what is validated.
import type { NextFunction, Request, Response, Router } from 'express';
import { z } from 'zod';
import type { Storage } from '../storage/index.js';
import type { ApiToken, TokenRole } from '../storage/tokens.js';
import type { AppDeps } from '../transport/deps.js';
import { actorOfToken, roleAllows, tokenOf } from './auth.js';
import { toCsv } from './csv.js';
import { ApiProblem } from './problem.js';

/** The caller of a public route (no token): it may only reach routes whose role is `auditor`. */
const PUBLIC_CALLER: ApiToken = {
  id: '',
  name: 'anonymous',
  role: 'auditor',
  hash: '',
  createdAt: '',
  lastUsedAt: null,
  revokedAt: null,
};

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface RouteContext<P, Q, B> {
  readonly params: P;
  readonly query: Q;
  readonly body: B;
  readonly token: ApiToken;
  /** The audit actor: the token's name. */
  readonly actor: string;
  readonly storage: Storage;
  readonly deps: AppDeps;
  readonly req: Request;
}

export interface RouteResult {
  readonly status?: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface ResponseSpec {
  readonly description: string;
  /** Default `application/json`; `application/problem+json` for an error with members of its own. */
  readonly mediaType?: string;
  /** Omitted for problem responses (documented as problem+json). */
  readonly schema?: z.ZodType;
}

export interface RouteDef {
  readonly method: Method;
  /** Express path under /api/v1, `:name` parameters. */
  readonly path: string;
  readonly summary: string;
  readonly tag: string;
  /** Least role allowed to call it. */
  readonly role: TokenRole;
  readonly params?: z.ZodObject;
  readonly query?: z.ZodObject;
  readonly body?: z.ZodType;
  /**
   * The body may also come in these binary media types (an archive): `read` turns it into what
   * `body` validates. Errors it throws are the caller's (a 400).
   */
  readonly binaryBody?: {
    readonly mediaTypes: readonly string[];
    readonly description: string;
    readonly read: (body: Buffer) => unknown;
  };
  /** Success responses by status; every route may also answer the common problems. */
  readonly responses: Readonly<Record<number, ResponseSpec>>;
  /** Problem statuses this route answers beyond 400/401/403/429/503. */
  readonly problems?: readonly number[];
  /** `?format=csv` (or `Accept: text/csv`) renders the list in `body[csv]` as CSV. */
  readonly csv?: string;
  /** A CSV of the route's own (instead of the generic one of `body[csv]`), given the handler's answer. */
  // biome-ignore lint/suspicious/noExplicitAny: the body the route's own handler returned
  readonly csvBody?: (storage: Storage, body: any) => Promise<string> | string;
  /** Served outside /api/v1 at `path`, without a token (health, readiness, version). */
  readonly public?: boolean;
  // biome-ignore lint/suspicious/noExplicitAny: each handler is typed by `route()` from its own schemas
  readonly handler: (ctx: RouteContext<any, any, any>) => Promise<RouteResult>;
}

/** Typed route definition: the handler sees the parsed types of its schemas. */
export function route<
  P extends z.ZodObject | undefined = undefined,
  Q extends z.ZodObject | undefined = undefined,
  B extends z.ZodType | undefined = undefined,
>(
  def: Omit<RouteDef, 'handler' | 'params' | 'query' | 'body'> & {
    params?: P;
    query?: Q;
    body?: B;
    handler: (
      ctx: RouteContext<
        P extends z.ZodType ? z.output<P> : Record<string, never>,
        Q extends z.ZodType ? z.output<Q> : Record<string, never>,
        B extends z.ZodType ? z.output<B> : undefined
      >,
    ) => Promise<RouteResult>;
  },
): RouteDef {
  return def as RouteDef;
}

/** Zod issues as `errors: [{ path, message }]` (the `in` says which part of the request). */
function invalid(where: 'path' | 'query' | 'body', error: z.ZodError): ApiProblem {
  return new ApiProblem(400, `invalid ${where === 'path' ? 'path parameter' : where}`, {
    errors: error.issues.map((i) => ({
      in: where,
      path: i.path.map(String).join('.'),
      message: i.message,
    })),
  });
}

const wantsCsv = (req: Request) =>
  req.query.format === 'csv' ||
  (req.query.format === undefined && req.accepts(['application/json', 'text/csv']) === 'text/csv');

export function mountRoutes(router: Router, routes: readonly RouteDef[], deps: AppDeps): void {
  for (const def of routes) {
    router[def.method](def.path, async (req: Request, res: Response, next: NextFunction) => {
      try {
        const token = def.public ? PUBLIC_CALLER : tokenOf(res);
        if (!roleAllows(token.role, def.role)) {
          await deps.storage.audit.record({
            actor: actorOfToken(token),
            action: 'api.forbidden',
            details: { method: req.method, path: req.path, role: token.role, needs: def.role },
          });
          throw new ApiProblem(403, `this needs the ${def.role} role; the token has ${token.role}`);
        }
        const params = def.params ? def.params.safeParse(req.params) : { success: true as const, data: {} };
        if (!params.success) throw invalid('path', params.error);
        const rawQuery = { ...(req.query as Record<string, unknown>) };
        if (def.csv) delete rawQuery.format;
        if (
          def.csv &&
          req.query.format !== undefined &&
          req.query.format !== 'csv' &&
          req.query.format !== 'json'
        )
          throw new ApiProblem(400, 'format must be json or csv');
        const query = def.query ? def.query.safeParse(rawQuery) : { success: true as const, data: {} };
        if (!query.success) throw invalid('query', query.error);
        let body: unknown;
        if (def.body) {
          const binary =
            def.binaryBody && req.is([...def.binaryBody.mediaTypes]) ? def.binaryBody : undefined;
          if (!binary && !req.is('application/json'))
            throw new ApiProblem(
              415,
              `send the body as application/json${def.binaryBody ? ` or ${def.binaryBody.mediaTypes.join(', ')}` : ''}`,
            );
          const parsed = def.body.safeParse(
            binary ? binary.read(Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0)) : req.body,
          );
          if (!parsed.success) throw invalid('body', parsed.error);
          body = parsed.data;
        }
        const result = await def.handler({
          params: params.data,
          query: query.data,
          body,
          token,
          actor: actorOfToken(token),
          storage: deps.storage,
          deps,
          req,
        });
        const status = result.status ?? 200;
        const spec = def.responses[status];
        if (!spec)
          throw new Error(`${def.method.toUpperCase()} ${def.path} answered an undocumented ${status}`);
        // The documented shape is checked on every answer: a mismatch is a server bug, not sent.
        if (spec.schema) {
          const checked = spec.schema.safeParse(result.body);
          if (!checked.success) {
            throw new Error(
              `${def.method.toUpperCase()} ${def.path} ${status} does not match its schema: ${z.prettifyError(checked.error)}`,
            );
          }
        }
        res.status(status).set(result.headers ?? {});
        if (def.csv && wantsCsv(req)) {
          if (def.csvBody) {
            res
              .type('text/csv; charset=utf-8')
              .set('Content-Disposition', `attachment; filename="${def.csv}.csv"`)
              .send(await def.csvBody(deps.storage, result.body));
            return;
          }
          const rows = (result.body as Record<string, unknown>)[def.csv] as Record<string, unknown>[];
          res
            .type('text/csv; charset=utf-8')
            .set('Content-Disposition', `attachment; filename="${def.csv}.csv"`)
            .send(toCsv(rows));
          return;
        }
        if (result.body === undefined) res.end();
        else if (spec.mediaType) res.type(spec.mediaType).send(JSON.stringify(result.body));
        else res.json(result.body);
      } catch (err) {
        next(err);
      }
    });
  }
}
