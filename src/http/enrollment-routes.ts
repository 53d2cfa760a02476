// MS-MDE2 endpoints: discovery (GET probe + POST), enrollment policy, enrollment/renewal, and the
// Federated sign-in page (docs/protocol-notes.md#enrollment-flow, #federated-sign-in, #enrollment-policy, #request-security-token). Every failure is answered with a SOAP fault.
import type { Request, Response } from 'express';
import { Router } from 'express';
import { buildDiscoverResponse, parseDiscover } from '../codec/soap/discovery.js';
import { parseSoapRequest, type SoapRequest } from '../codec/soap/envelope.js';
import { EnrollmentFault } from '../codec/soap/faults.js';
import { ACTIONS } from '../codec/soap/namespaces.js';
import { buildRequestSecurityTokenResponse, parseRequestSecurityToken } from '../codec/soap/wstep.js';
import { buildGetPoliciesResponse, parseGetPolicies } from '../codec/soap/xcep.js';
import { createEnrollmentService } from '../enrollment/service.js';
import { ENROLLMENT_PATHS } from '../enrollment/urls.js';
import type { AppDeps } from '../transport/deps.js';
import { registerSignInPage } from './auth-page.js';
import { markAuthenticated } from './capture.js';
import { clientCertificateOf } from './client-cert.js';
import { rawBody, sendFault, sendSoap, soapBodyErrors } from './soap.js';

/** The `mdm_enrollments_total` result of a refused enrollment: its fault subcode (a bounded set) or `error`. */
const faultResult = (err: unknown) => (err instanceof EnrollmentFault ? err.subcode : 'error');

export function enrollmentRoutes(deps: AppDeps): Router {
  const { config, logger } = deps;
  const service = createEnrollmentService(deps);
  const router = Router();
  const body = rawBody(config);

  /** One SOAP operation: parse the envelope, run `handle`, answer its XML or a fault. */
  function soapRoute(
    path: string,
    responseAction: string,
    handle: (soap: SoapRequest, req: Request, res: Response) => Promise<string>,
    onFault?: (err: unknown) => void,
  ) {
    router.post(
      path,
      body,
      async (req: Request, res: Response) => {
        let relatesTo: string | undefined;
        try {
          const bytes = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
          const soap = parseSoapRequest(bytes, { maxBytes: config.maxBodyBytes });
          relatesTo = soap.messageId;
          sendSoap(res, await handle(soap, req, res));
        } catch (err) {
          onFault?.(err);
          sendFault(res, err, { action: responseAction, relatesTo }, logger);
        }
      },
      soapBodyErrors(responseAction, logger),
    );
  }

  // The availability probe must get a 200 (docs/protocol-notes.md#discovery).
  router.get(ENROLLMENT_PATHS.discovery, (_req, res) => {
    res.status(200).set('Content-Length', '0').end();
  });

  soapRoute(ENROLLMENT_PATHS.discovery, ACTIONS.discoverResponse, async (soap) =>
    buildDiscoverResponse(service.discover(parseDiscover(soap))),
  );

  soapRoute(ENROLLMENT_PATHS.policy, ACTIONS.getPoliciesResponse, async (soap, _req, res) => {
    const request = parseGetPolicies(soap);
    const response = await service.getPolicies(request.messageId, soap.security);
    markAuthenticated(res);
    return buildGetPoliciesResponse(response);
  });

  soapRoute(
    ENROLLMENT_PATHS.enrollment,
    ACTIONS.requestSecurityTokenResponse,
    async (soap, req, res) => {
      const request = parseRequestSecurityToken(soap);
      const result = await service.requestSecurityToken(
        request,
        soap.security,
        clientCertificateOf(req, config),
      );
      logger.info(
        { deviceId: result.deviceId, requestType: request.requestType, serial: result.certificate.serial },
        'device certificate issued',
      );
      markAuthenticated(res, result.deviceId);
      deps.metrics?.enrollment(/renew/i.test(request.requestType) ? 'renewed' : 'issued');
      return buildRequestSecurityTokenResponse({
        relatesTo: request.messageId,
        provisioningDoc: result.provisioningDoc,
        now: new Date(),
      });
    },
    (err) => deps.metrics?.enrollment(faultResult(err)),
  );

  registerSignInPage(router, service, config);
  return router;
}
