// An admin API client over real HTTPS that parses every answer strictly: JSON answers must carry
// `application/json` and match the schema the OpenAPI document gives for their status, problems
// must be `application/problem+json` with type/title/status. The document's schemas are turned back
// into validators (z.fromJSONSchema), so a test checks the published document, not the code.
import { expect } from 'vitest';
import { z } from 'zod';
import { openApiDocument } from '../../src/api/index.js';
import { request } from './enroll-client.js';
import type { TestServer } from './server.js';

// biome-ignore lint/suspicious/noExplicitAny: walks the generated OpenAPI document
type Json = Record<string, any>;

// biome-ignore lint/suspicious/noExplicitAny: tests read answer bodies freely after the schema check
export interface ApiAnswer<T = any> {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  /** Parsed JSON body (undefined for an empty or CSV answer). */
  readonly body: T;
}

const toDefs = (v: unknown) =>
  JSON.parse(JSON.stringify(v).replace(/"#\/components\/schemas\//g, '"#/$defs/'));

const validators = new Map<string, z.ZodType>();

/** The documented operation for a concrete method and path (`/api/v1/devices/abc`). */
export function documentedOperation(
  method: string,
  path: string,
): { template: string; op: Json } | undefined {
  const doc = openApiDocument() as Json;
  const pathname = path.split('?')[0]!;
  for (const [template, methods] of Object.entries(doc.paths as Json)) {
    const re = new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`);
    const op = (methods as Json)[method.toLowerCase()];
    if (op && re.test(pathname)) return { template, op };
  }
  return undefined;
}

/** Checks an answer against the document: its status is documented and its body matches. */
export function expectDocumented(method: string, path: string, res: ApiAnswer): void {
  const found = documentedOperation(method, path);
  expect(found, `${method} ${path} is in the OpenAPI document`).toBeDefined();
  const response = found!.op.responses[String(res.status)];
  expect(response, `${method} ${found!.template} documents status ${res.status}`).toBeDefined();
  const type = String(res.headers['content-type'] ?? '');
  if (res.status === 204) {
    expect(res.text).toBe('');
    return;
  }
  if (type.startsWith('text/csv')) return;
  const content = response.content as Json | undefined;
  const media = type.split(';')[0]!;
  expect(Object.keys(content ?? {}), `${method} ${found!.template} ${res.status} content type`).toContain(
    media,
  );
  const key = `${method} ${found!.template} ${res.status} ${media}`;
  let validator = validators.get(key);
  if (!validator) {
    const schema = {
      ...toDefs(content![media].schema),
      $defs: toDefs((openApiDocument() as Json).components.schemas),
    };
    validator = z.fromJSONSchema(schema);
    validators.set(key, validator);
  }
  const checked = validator.safeParse(res.body);
  expect(checked.success, `${key}: ${checked.success ? '' : z.prettifyError(checked.error)}`).toBe(true);
}

export interface ApiClient {
  call(
    method: string,
    path: string,
    options?: {
      body?: unknown;
      token?: string | null;
      headers?: Record<string, string>;
      raw?: string | Buffer;
    },
  ): Promise<ApiAnswer>;
  get(path: string, token?: string | null): Promise<ApiAnswer>;
  post(path: string, body?: unknown, token?: string | null): Promise<ApiAnswer>;
}

export function apiClient(server: TestServer, defaultToken: string): ApiClient {
  const call: ApiClient['call'] = async (method, path, options = {}) => {
    const token = options.token === undefined ? defaultToken : options.token;
    const body = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
    const res = await request(`${server.url}${path}`, {
      method,
      serverCa: server.tlsCertPem,
      headers: {
        ...(token !== null && { authorization: `Bearer ${token}` }),
        ...(body !== undefined && { 'content-type': 'application/json' }),
        ...options.headers,
      },
      ...(body !== undefined && { body }),
    });
    const type = String(res.headers['content-type'] ?? '');
    let parsed: unknown;
    if (type.startsWith('application/json') || type.startsWith('application/problem+json')) {
      parsed = JSON.parse(res.body);
    } else if (res.status !== 204 && !type.startsWith('text/')) {
      throw new Error(`${method} ${path}: unexpected content type ${type} (${res.status})`);
    }
    if (res.status >= 400) {
      expect(type, `${method} ${path} ${res.status} is problem+json`).toMatch(/^application\/problem\+json/);
      expect(parsed).toMatchObject({
        type: expect.any(String),
        title: expect.any(String),
        status: res.status,
      });
    }
    const answer: ApiAnswer = { status: res.status, headers: res.headers, text: res.body, body: parsed };
    if (path.startsWith('/api/v1/') || ['/healthz', '/readyz', '/version'].includes(path)) {
      if (!['/api/v1/openapi.json', '/api/v1/docs'].includes(path) && documentedOperation(method, path)) {
        expectDocumented(method, path, answer);
      }
    }
    return answer;
  };
  return {
    call,
    get: (path, token) => call('GET', path, { token }),
    post: (path, body, token) => call('POST', path, { body: body ?? {}, token }),
  };
}
