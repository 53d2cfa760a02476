// One outbound HTTP(S) request as the server's clients make it (the WNS client, `mdm doctor`): no
// redirects followed (a 3xx is an answer like any other), no connection reuse, a deadline for the
// whole exchange, and an answer body kept only up to a cap. Node's http/https only, no project
// imports.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';

export interface HttpExchangeOptions {
  readonly method: 'GET' | 'POST';
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
  /** Trust anchors (PEM) that replace the default roots. */
  readonly ca?: string | readonly string[];
  /** Accept any server certificate (a caller that checks the certificate itself). */
  readonly anyCertificate?: boolean;
  /** Resolves the host name (for example, one that refuses internal addresses). */
  readonly lookup?: LookupFunction;
  /** Deadline for connect, request and the whole answer. */
  readonly timeoutMs: number;
  /** Answer bytes kept; the rest is read and dropped. */
  readonly maxAnswerBytes: number;
}

export interface HttpExchangeAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
  /** The answer was longer than `maxAnswerBytes`. */
  readonly truncated: boolean;
}

/** Any failure to get an answer: connection refused, TLS, timeout, a reset mid-answer. */
export class HttpExchangeError extends Error {
  override name = 'HttpExchangeError';
}

export function httpExchange(url: URL, options: HttpExchangeOptions): Promise<HttpExchangeAnswer> {
  const body = typeof options.body === 'string' ? Buffer.from(options.body, 'utf8') : options.body;
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: options.method,
        headers: { ...options.headers, ...(body && { 'Content-Length': String(body.length) }) },
        ...(options.ca && { ca: options.ca as string | string[] }),
        ...(options.anyCertificate && { rejectUnauthorized: false }),
        ...(options.lookup && { lookup: options.lookup }),
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          if (size < options.maxAnswerBytes) chunks.push(c.subarray(0, options.maxAnswerBytes - size));
          size += c.length;
        });
        res.on('end', () => {
          clearTimeout(deadline);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
            truncated: size > options.maxAnswerBytes,
          });
        });
        res.on('error', (e) => fail(e));
      },
    );
    const fail = (e: Error) => {
      clearTimeout(deadline);
      reject(e instanceof HttpExchangeError ? e : new HttpExchangeError(e.message));
    };
    const deadline = setTimeout(
      () => req.destroy(new HttpExchangeError(`no answer within ${options.timeoutMs} ms`)),
      options.timeoutMs,
    );
    deadline.unref();
    req.on('error', fail);
    req.end(body);
  });
}
