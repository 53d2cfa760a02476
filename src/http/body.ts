// Reading request bodies within limits: body-parser caps the size; `withIdleTimeout` ends a body
// that stops arriving (a slow trickle, a chunked body never finished) after `bodyTimeoutSeconds`
// of silence with a 408 client error, answered by the route in its protocol, and closes the
// connection (the rest of the body is never read). Node's `requestTimeout` bounds the whole
// request (src/http/server.ts).
import type { NextFunction, Request, RequestHandler, Response } from 'express';

/** The error a stalled body raises (status 408, body-parser's error shape). */
export class BodyTimeoutError extends Error {
  override name = 'BodyTimeoutError';
  readonly status = 408;
  readonly type = 'request.timeout';
  readonly expose = true;
  constructor() {
    super('request body timed out');
  }
}

/** Runs a body parser; when no body data arrives for `idleTimeoutMs`, gives up with `BodyTimeoutError`. */
export function withIdleTimeout(parser: RequestHandler, idleTimeoutMs: number): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (err?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.off('data', arm);
      next(err);
    };
    function arm() {
      clearTimeout(timer);
      timer = setTimeout(() => {
        res.setHeader('Connection', 'close');
        finish(new BodyTimeoutError());
      }, idleTimeoutMs);
    }
    // The parser attaches its own 'data' listener synchronously; ours only resets the timer.
    parser(req, res, finish);
    if (!settled) {
      arm();
      req.on('data', arm);
    }
  };
}
