// Errors raised while reading a request (before or inside a route): Express and body-parser mark
// client errors with a 4xx `status` (a malformed percent-escape in a route parameter is a URIError
// with status 400, a body over the limit 413, an unknown charset 415). Each route family answers
// them in its own protocol; none of them is logged with a stack.

/** The 4xx status of a client error, or undefined for anything else (a server error). */
export function clientErrorStatus(err: unknown): number | undefined {
  const e = err as { status?: unknown; statusCode?: unknown } | null;
  const status = typeof e?.status === 'number' ? e.status : e?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) return status;
  return err instanceof URIError ? 400 : undefined;
}
