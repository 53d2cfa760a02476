// Session capture (config `captureDir` / MDM_CAPTURE_DIR, off by default): every enrollment and
// OMA-DM exchange served is handed to the fixture recorder (src/replay/capture.ts), which groups
// exchanges into replayable fixtures, redacts secrets, writes only authenticated exchanges and
// keeps each fixture and the folder under their caps (captureMaxBytes, captureDirMaxBytes). Only
// the protocol paths are recorded; a route marks the exchanges it authenticated with
// `markAuthenticated`.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Config } from '../config.js';
import { publicBase } from '../config.js';
import type { Logger } from '../logger.js';
import { type CaptureRecorder, createCaptureRecorder } from '../replay/capture.js';

const CAPTURED_PATHS = /^\/(EnrollmentServer|ManagementServer)\//;

/** Express middleware that records request/response pairs; a no-op when capture is off. */
export function captureMiddleware(config: Config, logger: Logger): RequestHandler | undefined {
  if (!config.captureDir) return undefined;
  const recorder = createCaptureRecorder({
    dir: config.captureDir,
    server: publicBase(config),
    maxFixtureBytes: config.captureMaxBytes,
    maxTotalBytes: config.captureDirMaxBytes,
    onError: (err) => logger.warn({ err }, 'session capture failed'),
    // Counted in capture-skipped.json; the path only (a query can hold a session token).
    onSkip: (reason, x) =>
      logger.debug(
        { reason, path: x.request.path.split('?')[0], status: x.response.status },
        'exchange not captured',
      ),
  });
  logger.warn(
    {
      captureDir: config.captureDir,
      captureMaxBytes: config.captureMaxBytes,
      captureDirMaxBytes: config.captureDirMaxBytes,
    },
    'recording authenticated sessions into the capture folder',
  );
  return (req, res, next) => record(recorder, req, res, next);
}

const AUTHENTICATED = 'captureAuthenticated';

/** Marks this exchange as authenticated (a user or device proved who it is), so capture may keep it. */
export function markAuthenticated(res: Response, deviceId?: string): void {
  res.locals[AUTHENTICATED] = { deviceId };
}

function authenticatedAs(res: Response): { deviceId?: string } | undefined {
  return res.locals[AUTHENTICATED] as { deviceId?: string } | undefined;
}

function record(recorder: CaptureRecorder, req: Request, res: Response, next: NextFunction): void {
  if (!CAPTURED_PATHS.test(req.path)) {
    next();
    return;
  }
  // Read now: by 'finish' the client may have closed the connection, and a closed socket has no address.
  const remoteAddress = req.socket.remoteAddress;
  const chunks: Buffer[] = [];
  const keep = (chunk: unknown, encoding?: unknown) => {
    if (chunk === undefined || chunk === null || typeof chunk === 'function') return;
    chunks.push(
      Buffer.isBuffer(chunk)
        ? chunk
        : Buffer.from(String(chunk), (typeof encoding === 'string' ? encoding : 'utf8') as BufferEncoding),
    );
  };
  const write = res.write.bind(res) as (...args: unknown[]) => boolean;
  const end = res.end.bind(res) as (...args: unknown[]) => Response;
  res.write = ((chunk: unknown, ...rest: unknown[]) => {
    keep(chunk, rest[0]);
    return write(chunk, ...rest);
  }) as Response['write'];
  res.end = ((chunk?: unknown, ...rest: unknown[]) => {
    keep(chunk, rest[0]);
    return end(chunk, ...rest);
  }) as Response['end'];
  res.on('finish', () => {
    // The protocol routes leave the raw request body in req.body (a Buffer).
    const body = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
    const identity = authenticatedAs(res);
    recorder.recordExchange({
      authenticated: identity !== undefined,
      ...(identity?.deviceId !== undefined && { deviceId: identity.deviceId }),
      request: { method: req.method, path: req.originalUrl, headers: req.headers, body },
      response: {
        status: res.statusCode,
        headers: res.getHeaders() as Record<string, string | string[] | number>,
        body: Buffer.concat(chunks).toString('utf8'),
      },
      remoteAddress,
    });
  });
  next();
}
