// MS-XCEP GetPolicies as profiled by MS-MDE2 (docs/protocol-notes.md#enrollment-policy). Element order follows the XCEP
// schema sequence; `xsi` is declared on `s:Body` for every `xsi:nil` (docs/protocol-notes.md#enrollment-policy).
import { expectAction, type SoapRequest } from './envelope.js';
import { EnrollmentFault } from './faults.js';
import { ACTIONS, NS } from './namespaces.js';
import { renderSoapResponse } from './response.js';
import { el, nil } from './writer.js';

export interface GetPoliciesRequest {
  readonly messageId: string | undefined;
}

export function parseGetPolicies(request: SoapRequest): GetPoliciesRequest {
  expectAction(request, ACTIONS.getPolicies);
  if (request.body.local !== 'GetPolicies' || request.body.ns !== NS.enrollmentPolicy) {
    throw new EnrollmentFault('MessageFormat', 'SOAP body is not a GetPolicies request');
  }
  return { messageId: request.messageId };
}

/** Hash algorithm OIDs for the CSR signature (XCEP OID group 1). */
export const CSR_HASH_OIDS = {
  sha256: { value: '2.16.840.1.101.3.4.2.1', name: 'szOID_NIST_sha256' },
} as const;

export interface GetPoliciesResponse {
  readonly relatesTo: string | undefined;
  readonly policyId: string;
  readonly templateName: string;
  readonly validityPeriodSeconds: number;
  readonly renewalPeriodSeconds: number;
  readonly minimalKeyLength: number;
}

const HASH_OID_REFERENCE = '1';

export function buildGetPoliciesResponse(r: GetPoliciesResponse): string {
  const attributes = el(
    'attributes',
    {},
    el('commonName', {}, r.templateName),
    el('policySchema', {}, '3'),
    el(
      'certificateValidity',
      {},
      el('validityPeriodSeconds', {}, String(r.validityPeriodSeconds)),
      el('renewalPeriodSeconds', {}, String(r.renewalPeriodSeconds)),
    ),
    el('permission', {}, el('enroll', {}, 'true'), el('autoEnroll', {}, 'false')),
    el(
      'privateKeyAttributes',
      {},
      el('minimalKeyLength', {}, String(r.minimalKeyLength)),
      nil('keySpec'),
      nil('keyUsageProperty'),
      nil('permissions'),
      nil('algorithmOIDReference'),
      nil('cryptoProviders'),
    ),
    el('revision', {}, el('majorRevision', {}, '101'), el('minorRevision', {}, '0')),
    nil('supersededPolicies'),
    nil('privateKeyFlags'),
    nil('subjectNameFlags'),
    nil('enrollmentFlags'),
    nil('generalFlags'),
    el('hashAlgorithmOIDReference', {}, HASH_OID_REFERENCE),
    nil('rARequirements'),
    nil('keyArchivalAttributes'),
    nil('extensions'),
  );
  return renderSoapResponse({
    action: ACTIONS.getPoliciesResponse,
    relatesTo: r.relatesTo,
    bodyAttrs: { 'xmlns:xsi': NS.xsi, 'xmlns:xsd': NS.xsd },
    body: el(
      'GetPoliciesResponse',
      { xmlns: NS.enrollmentPolicy },
      el(
        'response',
        {},
        el('policyID', {}, r.policyId),
        nil('policyFriendlyName'),
        nil('nextUpdateHours'),
        nil('policiesNotChanged'),
        el('policies', {}, el('policy', {}, el('policyOIDReference', {}, '0'), nil('cAs'), attributes)),
      ),
      nil('cAs'),
      el(
        'oIDs',
        {},
        el(
          'oID',
          {},
          el('value', {}, CSR_HASH_OIDS.sha256.value),
          el('group', {}, '1'),
          el('oIDReferenceID', {}, HASH_OID_REFERENCE),
          el('defaultName', {}, CSR_HASH_OIDS.sha256.name),
        ),
      ),
    ),
  });
}
