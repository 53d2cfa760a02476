// Certificates issued over SCEP (RFC 8894) and their revocation (the CRL at `<scepPath>/crl`).
import { z } from 'zod';
import { revokeCertificate } from '../../services/certificates.js';
import type { ScepCertificateRecord } from '../../storage/scep.js';
import { SCEP_CERTIFICATE_STATUSES } from '../../storage/scep.js';
import { conflict, notFound } from '../problem.js';
import { type RouteDef, route } from '../route.js';

const Certificate = z
  .strictObject({
    serial: z.string().describe('upper-case hex'),
    thumbprint: z.string().describe('SHA-1 of the DER, upper-case hex (what Windows reports)'),
    deviceId: z.string(),
    profile: z.string(),
    subject: z.string(),
    notBefore: z.string(),
    notAfter: z.string(),
    issuedAt: z.string(),
    renewedFrom: z.string().optional(),
    status: z.enum(SCEP_CERTIFICATE_STATUSES),
    revokedAt: z.string().optional(),
    revocationReason: z.string().optional(),
  })
  .meta({ id: 'ScepCertificate' });

/** Everything but the DER (fields without a value are left out of the JSON). */
const view = ({ der: _der, ...c }: ScepCertificateRecord) => c;

export const certificateRoutes: RouteDef[] = [
  route({
    method: 'get',
    path: '/certificates',
    tag: 'certificates',
    role: 'auditor',
    summary: 'Certificates issued over SCEP, newest first (mdm certificates list)',
    query: z.strictObject({
      device: z.string().min(1).max(128).optional(),
      profile: z.string().min(1).max(128).optional(),
      status: z.enum(SCEP_CERTIFICATE_STATUSES).optional(),
    }),
    csv: 'certificates',
    responses: {
      200: {
        description: 'the certificates',
        schema: z.strictObject({ certificates: z.array(Certificate) }),
      },
    },
    handler: async ({ storage, query }) => {
      const list = await storage.scep.listCertificates({
        ...(query.device !== undefined && { deviceId: query.device }),
        ...(query.profile !== undefined && { profile: query.profile }),
        ...(query.status !== undefined && { status: query.status }),
      });
      return { body: { certificates: list.map(view) } };
    },
  }),
  route({
    method: 'post',
    path: '/certificates/:serial/revoke',
    tag: 'certificates',
    role: 'admin',
    summary: 'Revoke a SCEP certificate: it appears on the CRL (mdm certificates revoke)',
    params: z.strictObject({ serial: z.string().min(1).max(128) }),
    body: z.strictObject({ reason: z.string().min(1).max(500).optional() }),
    problems: [404, 409, 415],
    responses: { 200: { description: 'revoked', schema: Certificate } },
    handler: async ({ storage, params, body, actor }) => {
      const r = await revokeCertificate(storage, {
        serial: params.serial,
        reason: body.reason ?? 'revoked by an administrator',
        actor,
      });
      if (r.outcome === 'unknown') throw notFound(`no SCEP certificate ${params.serial}`);
      if (r.outcome === 'already-revoked')
        throw conflict(`certificate ${r.certificate.serial} is already revoked`);
      return { body: view(r.certificate) };
    },
  }),
];
