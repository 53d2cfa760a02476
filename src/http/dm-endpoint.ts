// The OMA-DM management endpoint (MS-MDM 2.2; OMA-DM 1.2 SyncML over HTTP): POST
// /ManagementServer/MDM.svc (Windows adds `?mode=Maintenance&Platform=WoA`; routing is on the path
// only), served by a bare node:http handler ahead of Express: it is the hot path of a fleet.
// Who is talking is decided without a database read of its own: a TLS client certificate is
// verified against the enrollment CA once per TLS connection; a certificate a trusted proxy
// forwards is only decoded here and must be byte for byte one the server issued (the session's
// one snapshot read looks it up, src/dm/auth.ts); a DIGEST session continues only at the
// RespURI the server named, whose `s` query parameter is passed on as the session token.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { SYNCML_CONTENT_TYPE } from '../codec/syncml/codes.js';
import type { PresentedIdentity } from '../dm/auth.js';
import { canReplaceFromCatalog } from '../dm/catalog-rules.js';
import { createDmSessionService } from '../dm/session.js';
import { sessionTokenOf } from '../dm/session-token.js';
import { enrollmentUrls } from '../enrollment/urls.js';
import { thumbprintOf } from '../pki/sign.js';
import { verifyDeviceCertificate } from '../pki/verify.js';
import { pushEnabled } from '../push/service.js';
import type { AppDeps } from '../transport/deps.js';
import { RETRY_AFTER_SECONDS } from '../transport/unavailable.js';
import { clientCertificateOf, forwardedCertificateDer } from './client-cert.js';

export const DM_PATH = '/ManagementServer/MDM.svc';

/** Is this request for the management endpoint (path only, any query)? */
export function isDmRequest(req: IncomingMessage): boolean {
  const url = req.url ?? '';
  return url.startsWith(DM_PATH) && (url.length === DM_PATH.length || url[DM_PATH.length] === '?');
}

type CertificateIdentity = Extract<PresentedIdentity, { kind: 'certificate' }>;

export interface DmEndpoint {
  /** The bare handler: reads the body itself (limit `maxBodyBytes`). */
  readonly handle: (req: IncomingMessage, res: ServerResponse) => void;
  /**
   * Serves a body read elsewhere (the Express route, when session capture needs the middleware);
   * `onAuthenticated` learns the device of an exchange that was not refused, before the reply.
   */
  readonly serve: (
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer,
    onAuthenticated?: (deviceId: string) => void,
  ) => Promise<void>;
}

export function createDmEndpoint(deps: AppDeps): DmEndpoint {
  const { config, logger } = deps;
  const service = createDmSessionService({
    storage: deps.storage,
    config: {
      ...config,
      managementUrl: enrollmentUrls(config).management,
      ...(pushEnabled(config) && { push: { pfn: config.wnsPfn!, providerId: config.providerId } }),
    },
    logger,
    ...(deps.catalog && { canReplace: canReplaceFromCatalog(deps.catalog) }),
    ...(deps.dmHooks && { hooks: deps.dmHooks }),
    ...(deps.metrics && { metrics: deps.metrics.dm, pushMetrics: deps.metrics.push }),
    ...(deps.now && { now: deps.now }),
  });

  // The peer certificate of a TLS connection never changes: verify it once per connection.
  const verifiedSockets = new WeakMap<Socket, { identity: PresentedIdentity; notAfter: number }>();

  function identify(req: IncomingMessage): PresentedIdentity {
    const socket = req.socket as Socket & { encrypted?: boolean };
    if (!socket.encrypted) {
      const der = forwardedCertificateDer(req, config);
      return der ? { kind: 'forwarded-certificate', der, thumbprint: thumbprintOf(der) } : { kind: 'none' };
    }
    const now = deps.now?.() ?? new Date();
    const known = verifiedSockets.get(socket);
    if (known && now.getTime() <= known.notAfter) return known.identity;
    const cert = clientCertificateOf(req, config);
    if (!cert) return { kind: 'none' };
    const check = verifyDeviceCertificate(deps.ca, cert, now);
    if (!check.ok) return { kind: 'rejected-certificate', reason: check.message };
    const identity: CertificateIdentity = {
      kind: 'certificate',
      deviceId: check.deviceId,
      serial: check.serial,
    };
    verifiedSockets.set(socket, { identity, notAfter: check.notAfter.getTime() });
    return identity;
  }

  function reply(res: ServerResponse, status: number, body: string, contentType?: string): void {
    if (res.headersSent) return;
    const bytes = Buffer.from(body, 'utf8');
    // The SyncML media type exactly, with an explicit Content-Length.
    if (contentType) res.setHeader('Content-Type', contentType);
    res.setHeader('Content-Length', bytes.length);
    if (status === 503) res.setHeader('Retry-After', String(RETRY_AFTER_SECONDS));
    res.statusCode = status;
    res.end(bytes);
  }

  async function serve(
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer,
    onAuthenticated?: (deviceId: string) => void,
  ): Promise<void> {
    const sessionToken = sessionTokenOf(req.url ?? '');
    // MS-MDM 3.1.7.2: why the client started the session (sent with SyncApplicationVersion 4.0+).
    const origin = req.headers.useragentorigin;
    const userAgentOrigin = typeof origin === 'string' && origin.length <= 64 ? origin : undefined;
    const result = await service.exchange(body, identify(req), {
      ...(sessionToken !== undefined && { sessionToken }),
      ...(userAgentOrigin !== undefined && { userAgentOrigin }),
    });
    if (result.refused === undefined && result.deviceId !== undefined) onAuthenticated?.(result.deviceId);
    if (result.httpStatus === 400) reply(res, 400, 'malformed SyncML message', 'text/plain; charset=utf-8');
    else reply(res, result.httpStatus, result.body, SYNCML_CONTENT_TYPE);
  }

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST');
      reply(res, 405, '');
      return;
    }
    const limit = config.maxBodyBytes;
    const declared = Number(req.headers['content-length']);
    if (declared > limit) {
      reply(res, 413, '');
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    // A body that stops arriving (a slow trickle, a chunked body never finished) is given up after
    // `bodyTimeoutSeconds` of silence: 408, and the connection is closed (README "Limits").
    let idle: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(idle);
      idle = setTimeout(() => {
        refused = true;
        res.setHeader('Connection', 'close');
        reply(res, 408, '');
        req.destroy();
      }, config.bodyTimeoutSeconds * 1000);
    };
    arm();
    req.on('data', (chunk: Buffer) => {
      if (refused) return;
      arm();
      size += chunk.length;
      if (size > limit) {
        refused = true;
        clearTimeout(idle);
        reply(res, 413, '');
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', () => {
      refused = true;
      clearTimeout(idle);
    });
    req.on('end', () => {
      clearTimeout(idle);
      if (refused) return;
      const started = process.hrtime.bigint();
      serve(req, res, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size))
        .catch((err: unknown) => {
          logger.error({ err }, 'OMA-DM exchange failed');
          reply(res, 500, '');
        })
        .finally(() => {
          // The path only: a query string can carry a secret (the DIGEST session's RespURI token).
          if (logger.isLevelEnabled('debug')) {
            const ms = Number(process.hrtime.bigint() - started) / 1e6;
            logger.debug({ method: 'POST', path: DM_PATH, status: res.statusCode, ms }, 'request');
          }
        });
    });
  };
  return { handle, serve };
}
