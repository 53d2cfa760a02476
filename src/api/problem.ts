// Every admin API error is `application/problem+json` (RFC 9457 §3): `type`, `title`, `status`,
// `detail`, plus members of its own (`errors` for invalid input, `issues` for policy diagnostics).
import { STATUS_CODES } from 'node:http';
import type { Response } from 'express';

export interface ProblemBody {
  readonly type?: string;
  readonly title?: string;
  readonly detail?: string;
  readonly [extension: string]: unknown;
}

/** Thrown by a route to answer with a problem document. */
export class ApiProblem extends Error {
  override name = 'ApiProblem';
  constructor(
    readonly status: number,
    readonly detail?: string,
    readonly extra: Readonly<Record<string, unknown>> = {},
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(detail ?? STATUS_CODES[status] ?? String(status));
  }
}

export const badRequest = (detail: string, extra?: Record<string, unknown>) =>
  new ApiProblem(400, detail, extra);
export const notFound = (detail: string) => new ApiProblem(404, detail);
export const conflict = (detail: string) => new ApiProblem(409, detail);

export function sendProblem(
  res: Response,
  status: number,
  body: ProblemBody = {},
  headers: Readonly<Record<string, string>> = {},
): void {
  const { type, title, detail, ...extra } = body;
  res
    .status(status)
    .set(headers)
    .type('application/problem+json')
    .send(
      JSON.stringify({
        type: type ?? 'about:blank',
        title: title ?? STATUS_CODES[status] ?? 'Error',
        status,
        ...(detail ? { detail } : {}),
        ...extra,
      }),
    );
}

export function problemFor(res: Response, err: ApiProblem): void {
  sendProblem(res, err.status, { detail: err.detail, ...err.extra }, err.headers);
}
