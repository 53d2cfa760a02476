// MS-MDE2 Discover request and DiscoverResponse (docs/protocol-notes.md#discovery).
import { childElement, childElements, textOf } from '../xml.js';
import { expectAction, type SoapRequest } from './envelope.js';
import { EnrollmentFault } from './faults.js';
import { ACTIONS, NS } from './namespaces.js';
import { renderSoapResponse } from './response.js';
import { el } from './writer.js';

export interface DiscoverRequest {
  readonly messageId: string | undefined;
  readonly emailAddress: string;
  /** Decimal string as sent, e.g. `4.0` or `9.0`. */
  readonly requestVersion: string;
  readonly deviceType: string;
  readonly applicationVersion: string;
  readonly osEdition: string;
  /** AuthPolicy values the client can do, in its order. */
  readonly authPolicies: readonly string[];
}

/** The docs sometimes write the namespace with a trailing slash; real clients do not (docs/protocol-notes.md#discovery). */
const isDiscoveryNs = (ns: string) => ns === NS.discovery || ns === `${NS.discovery}/`;

export function parseDiscover(request: SoapRequest): DiscoverRequest {
  expectAction(request, ACTIONS.discover);
  const discover = request.body;
  if (discover.local !== 'Discover' || !isDiscoveryNs(discover.ns)) {
    throw new EnrollmentFault('MessageFormat', 'SOAP body is not a Discover request');
  }
  const req = childElement(discover, 'request');
  if (!req || !isDiscoveryNs(req.ns)) throw new EnrollmentFault('MessageFormat', 'Discover has no request');
  const field = (name: string) => textOf(childElement(req, name)).trim();
  const requestVersion = field('RequestVersion');
  if (!requestVersion) throw new EnrollmentFault('MessageFormat', 'Discover request has no RequestVersion');
  const policies = childElement(req, 'AuthPolicies');
  return {
    messageId: request.messageId,
    emailAddress: field('EmailAddress'),
    requestVersion,
    deviceType: field('DeviceType'),
    applicationVersion: field('ApplicationVersion'),
    osEdition: field('OSEdition'),
    authPolicies: policies
      ? childElements(policies, 'AuthPolicy')
          .map((p) => textOf(p).trim())
          .filter(Boolean)
      : [],
  };
}

export interface DiscoverResponse {
  readonly relatesTo: string | undefined;
  readonly activityId: string;
  readonly authPolicy: string;
  readonly enrollmentVersion: string;
  readonly enrollmentPolicyServiceUrl: string;
  readonly enrollmentServiceUrl: string;
  /** Only for AuthPolicy Federated. */
  readonly authenticationServiceUrl?: string;
}

export function buildDiscoverResponse(r: DiscoverResponse): string {
  return renderSoapResponse({
    action: ACTIONS.discoverResponse,
    relatesTo: r.relatesTo,
    headerAfterAction: el('ActivityId', { CorrelationId: r.activityId, xmlns: NS.diagnostics }, r.activityId),
    body: el(
      'DiscoverResponse',
      { xmlns: NS.discovery },
      el(
        'DiscoverResult',
        {},
        el('AuthPolicy', {}, r.authPolicy),
        el('EnrollmentVersion', {}, r.enrollmentVersion),
        el('EnrollmentPolicyServiceUrl', {}, r.enrollmentPolicyServiceUrl),
        el('EnrollmentServiceUrl', {}, r.enrollmentServiceUrl),
        r.authenticationServiceUrl ? el('AuthenticationServiceUrl', {}, r.authenticationServiceUrl) : null,
      ),
    ),
  });
}
