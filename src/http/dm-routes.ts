// The OMA-DM management endpoint (protocol.md §7.1): POST /ManagementServer/MDM.svc (Windows adds
// `?mode=Maintenance&Platform=WoA`; routing is on the path only). The device is identified by its
// TLS client certificate (socket, or a trusted proxy's header) checked against the enrollment CA,
// or by OMA-DM DIGEST inside the message (src/dm/auth.ts); a DIGEST session continues only at the
// RespURI the server named, whose `s` query parameter is passed on as the session token.
import type { Socket } from 'node:net';
import type { Request, Response } from 'express';
import { Router } from 'express';
import { SYNCML_CONTENT_TYPE } from '../codec/syncml/codes.js';
import type { PresentedIdentity } from '../dm/auth.js';
import { canReplaceFromCatalog } from '../dm/catalog-rules.js';
import { createDmSessionService } from '../dm/session.js';
import { sessionTokenOf } from '../dm/session-token.js';
import { enrollmentUrls } from '../enrollment/urls.js';
import { thumbprintOf } from '../pki/sign.js';
import { CERTIFICATE_REJECTIONS, verifyDeviceCertificate } from '../pki/verify.js';
import type { AppDeps } from './app.js';
import { markAuthenticated } from './capture.js';
import { clientCertificateOf, forwardedCertificateDer } from './client-cert.js';
import { rawBody } from './soap.js';

export const DM_PATH = '/ManagementServer/MDM.svc';

type CertificateIdentity = Extract<PresentedIdentity, { kind: 'certificate' }>;

const rejected = (reason: keyof typeof CERTIFICATE_REJECTIONS): PresentedIdentity => ({
  kind: 'rejected-certificate',
  reason: `client certificate rejected: ${CERTIFICATE_REJECTIONS[reason]}`,
});

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

  // The peer certificate of a TLS connection never changes: verify it once per connection.
  const verifiedSockets = new WeakMap<Socket, { identity: CertificateIdentity; notAfter: number }>();

  /**
   * Who presented which certificate (protocol.md §7.1, gotcha 36). Parsing and signature-checking
   * an X.509 certificate costs more CPU than the rest of a message (bench/README.md), so a
   * certificate the trusted proxy forwarded that is byte for byte one this server issued and
   * recorded (found by its SHA-1 thumbprint) needs only its validity period checked, and a TLS
   * connection's certificate is verified once per connection. Anything else gets the full check
   * against the enrollment CA. Revocation and enrollment status are checked for every message by
   * `authenticate` (src/dm/auth.ts).
   */
  async function identify(req: Request): Promise<PresentedIdentity> {
    const now = deps.now?.() ?? new Date();
    const socket = req.socket as Socket & { encrypted?: boolean };
    if (socket.encrypted) {
      const known = verifiedSockets.get(socket);
      if (known && now.getTime() <= known.notAfter) return known.identity;
    } else {
      const der = forwardedCertificateDer(req, config);
      const record = der && (await deps.storage.certificates.findByThumbprint(thumbprintOf(der)));
      if (der && record?.der.equals(der)) {
        if (now.getTime() < Date.parse(record.notBefore)) return rejected('not-yet-valid');
        if (now.getTime() > Date.parse(record.notAfter)) return rejected('expired');
        return { kind: 'certificate', deviceId: record.deviceId, serial: record.serial };
      }
    }
    const cert = clientCertificateOf(req, config);
    if (!cert) return { kind: 'none' };
    const check = verifyDeviceCertificate(deps.ca, cert, now);
    if (!check.ok) return { kind: 'rejected-certificate', reason: check.message };
    const identity: CertificateIdentity = {
      kind: 'certificate',
      deviceId: check.deviceId,
      serial: check.serial,
    };
    if (socket.encrypted) verifiedSockets.set(socket, { identity, notAfter: check.notAfter.getTime() });
    return identity;
  }

  router.post(DM_PATH, rawBody(config), async (req: Request, res: Response) => {
    const bytes = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const sessionToken = sessionTokenOf(req.originalUrl);
    const result = await service.exchange(bytes, await identify(req), {
      ...(sessionToken !== undefined && { sessionToken }),
    });
    if (result.httpStatus !== 200) {
      res.status(result.httpStatus).type('text/plain').send('malformed SyncML message');
      return;
    }
    if (result.refused === undefined && result.deviceId !== undefined)
      markAuthenticated(res, result.deviceId);
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
