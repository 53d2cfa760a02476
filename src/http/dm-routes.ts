// The OMA-DM management endpoint (protocol.md §7.1): POST /ManagementServer/MDM.svc (Windows adds
// `?mode=Maintenance&Platform=WoA`; routing is on the path only). The device is identified by its
// TLS client certificate (socket, or a trusted proxy's header) checked against the enrollment CA,
// or by OMA-DM DIGEST inside the message (src/dm/auth.ts); a DIGEST session continues only at the
// RespURI the server named, whose `s` query parameter is passed on as the session token.
// Finished sessions are pruned on an unref'd timer (src/dm/retention.ts).
import type { Request, Response } from 'express';
import { Router } from 'express';
import { SYNCML_CONTENT_TYPE } from '../codec/syncml/codes.js';
import type { PresentedIdentity } from '../dm/auth.js';
import { canReplaceFromCatalog } from '../dm/catalog-rules.js';
import { createDmSessionService } from '../dm/session.js';
import { sessionTokenOf } from '../dm/session-token.js';
import { enrollmentUrls } from '../enrollment/urls.js';
import { verifyDeviceCertificate } from '../pki/verify.js';
import type { AppDeps } from './app.js';
import { clientCertificateOf } from './client-cert.js';
import { rawBody } from './soap.js';

export const DM_PATH = '/ManagementServer/MDM.svc';

export function dmRoutes(deps: AppDeps): Router {
  const { config, logger } = deps;
  const service = createDmSessionService({
    storage: deps.storage,
    config: { ...config, managementUrl: enrollmentUrls(config).management },
    logger,
    ...(deps.catalog && { canReplace: canReplaceFromCatalog(deps.catalog) }),
    ...(deps.dmHooks && { hooks: deps.dmHooks }),
    ...(deps.now && { now: deps.now }),
  });
  const router = Router();

  function identify(req: Request): PresentedIdentity {
    const cert = clientCertificateOf(req, config);
    if (!cert) return { kind: 'none' };
    const check = verifyDeviceCertificate(deps.ca, cert, deps.now?.() ?? new Date());
    return check.ok
      ? { kind: 'certificate', deviceId: check.deviceId, serial: check.serial }
      : { kind: 'rejected-certificate', reason: check.message };
  }

  router.post(DM_PATH, rawBody(config.maxBodyBytes), async (req: Request, res: Response) => {
    const bytes = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const sessionToken = sessionTokenOf(req.originalUrl);
    const result = await service.exchange(bytes, identify(req), {
      ...(sessionToken !== undefined && { sessionToken }),
    });
    if (result.httpStatus !== 200) {
      res.status(result.httpStatus).type('text/plain').send('malformed SyncML message');
      return;
    }
    // Gotcha 22: the SyncML content type and an explicit Content-Length.
    const body = Buffer.from(result.body, 'utf8');
    // res.setHeader, not res.set: Express would append a charset to the SyncML media type.
    res.status(200);
    res.setHeader('Content-Type', SYNCML_CONTENT_TYPE);
    res.setHeader('Content-Length', body.length);
    res.end(body);
  });
  return router;
}
