// The OpenAPI 3.1 document of the admin API, generated from the route table and its zod schemas
// (z.toJSONSchema, JSON Schema 2020-12, the dialect OpenAPI 3.1 uses). Schemas with an `id` go to
// `components.schemas`; every `#/$defs/X` reference is pointed there.
import { z } from 'zod';
import type { RouteDef } from './route.js';
import { Problem } from './schemas.js';

type Json = Record<string, unknown>;

const COMMON_PROBLEMS: Record<number, string> = {
  400: 'invalid input (problem+json with errors[])',
  401: 'no token, or an unknown or revoked one',
  403: 'the token role does not allow this',
  404: 'no such resource',
  409: 'the resource is not in a state that allows this',
  415: 'the body is not application/json',
  429: 'rate limit reached; see Retry-After',
  503: 'the database is unavailable; see Retry-After',
};

export function buildOpenApi(routes: readonly RouteDef[], version: string): Json {
  const components: Record<string, Json> = {};
  const convert = (schema: z.ZodType, io: 'input' | 'output'): Json => {
    const json = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as Json;
    const { $schema: _s, $defs, ...rest } = json;
    for (const [id, def] of Object.entries(($defs ?? {}) as Record<string, Json>)) components[id] ??= def;
    return rest;
  };
  convert(Problem, 'output'); // registers components.schemas.Problem
  const problem = (description: string) => ({
    description,
    content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
  });

  const paths: Record<string, Record<string, Json>> = {};
  for (const r of routes) {
    const full = r.public ? r.path : `/api/v1${r.path}`;
    const oaPath = full.replace(/:([A-Za-z_]\w*)/g, '{$1}');
    const parameters: Json[] = [];
    const addParams = (schema: z.ZodObject | undefined, where: 'path' | 'query') => {
      if (!schema) return;
      const json = convert(schema, 'input') as { properties?: Record<string, Json>; required?: string[] };
      for (const [name, s] of Object.entries(json.properties ?? {})) {
        const { description, ...rest } = s as Json;
        parameters.push({
          name,
          in: where,
          required: where === 'path' || (json.required ?? []).includes(name),
          ...(description ? { description } : {}),
          schema: rest,
        });
      }
    };
    addParams(r.params, 'path');
    addParams(r.query, 'query');
    if (r.csv) {
      parameters.push({
        name: 'format',
        in: 'query',
        required: false,
        description: `csv: the ${r.csv} list as CSV (also with Accept: text/csv)`,
        schema: { type: 'string', enum: ['json', 'csv'] },
      });
    }
    const responses: Record<string, Json> = {};
    for (const [status, spec] of Object.entries(r.responses)) {
      responses[status] = {
        description: spec.description,
        ...(spec.schema && {
          content: {
            [spec.mediaType ?? 'application/json']: { schema: convert(spec.schema, 'output') },
            ...(r.csv && Number(status) < 300 ? { 'text/csv': { schema: { type: 'string' } } } : {}),
          },
        }),
      };
    }
    const problems = r.public ? [] : [400, 401, 403, 429, 503, ...(r.problems ?? [])];
    for (const status of [...new Set(problems)].sort()) {
      responses[String(status)] ??= problem(COMMON_PROBLEMS[status] ?? 'error');
    }
    paths[oaPath] ??= {};
    paths[oaPath][r.method] = {
      operationId: `${r.method}${oaPath.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`,
      summary: r.summary,
      tags: [r.tag],
      ...(r.public ? { security: [] } : { 'x-required-role': r.role }),
      ...(parameters.length > 0 && { parameters }),
      ...(r.body && {
        requestBody: {
          required: true,
          content: {
            'application/json': { schema: convert(r.body, 'input') },
            ...Object.fromEntries(
              (r.binaryBody?.mediaTypes ?? []).map((t) => [
                t,
                { schema: { type: 'string', contentMediaType: t, description: r.binaryBody!.description } },
              ]),
            ),
          },
        },
      }),
      responses,
    };
  }
  const doc = {
    openapi: '3.1.0',
    info: {
      title: 'Windows MDM server admin API',
      version,
      description:
        'Every administrative action over REST. Bearer API tokens (mdm tokens create) with roles ' +
        'admin (everything), operator (device actions and commands, read all), auditor (read-only). ' +
        'Errors are application/problem+json (RFC 9457). See docs/api.md.',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'an API token, mdm_…' } },
      schemas: components,
    },
  };
  return JSON.parse(JSON.stringify(doc).replace(/"#\/\$defs\//g, '"#/components/schemas/')) as Json;
}
