// The SCEP endpoint (RFC 8894 §4): `GET <scepPath>?operation=GetCACaps|GetCACert`, PKIOperation by
// GET (`message=<base64>`, §4.3) or POST (`application/x-pki-message`, §4.3), and the CRL of the
// SCEP CA at `<scepPath>/crl` (RFC 5280 §5, `application/pkix-crl`).
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { SCEP_CAPABILITIES } from '../scep/service.js';
import type { AppDeps } from '../transport/deps.js';
import { rawBody } from './soap.js';

const PKI_MESSAGE = 'application/x-pki-message';

export function scepRoutes(deps: AppDeps): Router {
  const router = express.Router();
  const scep = deps.scep;
  if (!scep) return router;
  const path = deps.config.scepPath;
  const badRequest = (res: Response, text: string) => res.status(400).type('text/plain').send(`${text}\n`);

  const pkiOperation = async (res: Response, message: Buffer) => {
    if (message.length === 0) return badRequest(res, 'PKIOperation needs a pkiMessage');
    const result = await scep.pkiOperation(message);
    if (result.kind === 'bad-request') return badRequest(res, 'the pkiMessage could not be read');
    res.status(200).type(PKI_MESSAGE).send(result.body);
  };

  router.get(path, (req: Request, res: Response, next: NextFunction) => {
    const operation = typeof req.query.operation === 'string' ? req.query.operation : '';
    switch (operation) {
      case 'GetCACaps':
        res
          .status(200)
          .type('text/plain')
          .send(`${SCEP_CAPABILITIES.join('\n')}\n`);
        return;
      case 'GetCACert':
        // One CA and no RA: the DER certificate (RFC 8894 §4.2.1.1).
        res.status(200).type('application/x-x509-ca-cert').send(scep.caCertificate());
        return;
      case 'PKIOperation': {
        const raw = typeof req.query.message === 'string' ? req.query.message : '';
        // A `+` that was not percent-encoded arrives as a space.
        const message = Buffer.from(raw.replace(/ /g, '+'), 'base64');
        pkiOperation(res, message).catch(next);
        return;
      }
      default:
        badRequest(res, 'operation must be GetCACaps, GetCACert or PKIOperation');
    }
  });
  router.post(path, rawBody(deps.config), (req: Request, res: Response, next: NextFunction) => {
    if (req.query.operation !== 'PKIOperation')
      return void badRequest(res, 'POST is for operation=PKIOperation');
    pkiOperation(res, Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0)).catch(next);
  });
  router.get(`${path}/crl`, (_req: Request, res: Response, next: NextFunction) => {
    scep
      .crl()
      .then((crl) =>
        res.status(200).type('application/pkix-crl').set('Cache-Control', 'max-age=300').send(crl),
      )
      .catch(next);
  });
  return router;
}
