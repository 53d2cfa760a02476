// The shape of one `certificates:` entry of a policy (a SCEP certificate profile or a trusted root),
// apart from reading it (certificates.ts) so the policy schema (schema.ts) can include it.
// Nodes: https://learn.microsoft.com/en-us/windows/client-management/mdm/clientcertificateinstall-csp
// and https://learn.microsoft.com/en-us/windows/client-management/mdm/rootcacertificates-csp
import { z } from 'zod';

/** Extended key usage names → OIDs (RFC 5280 §4.2.1.12; Microsoft smart-card logon). */
export const EKU_OIDS: Readonly<Record<string, string>> = {
  clientAuth: '1.3.6.1.5.5.7.3.2',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  emailProtection: '1.3.6.1.5.5.7.3.4',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  smartcardLogon: '1.3.6.1.4.1.311.20.2.2',
};

export const CertificateProfileSchema = z
  .strictObject({
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'use letters, digits, `_` and `-` (at most 64)')
      .describe(
        'Profile name: the {UniqueID} node under ClientCertificateInstall/SCEP, and the name in {{certificate.<name>.thumbprint}}.',
      ),
    type: z
      .literal('scep')
      .default('scep')
      .describe('`scep`: the device enrols with this server’s SCEP endpoint.'),
    scope: z
      .enum(['device', 'user'])
      .optional()
      .describe(
        '`device` (machine certificate, ./Device/…) or `user` (./User/…); default the policy’s scope.',
      ),
    subject: z
      .string()
      .min(1)
      .describe('Subject name (RFC 4514), templates allowed: `CN={{device.id}},O=Example`.'),
    san: z
      .array(z.string().regex(/^(dns|email|uri|upn):.+$/, 'use dns:…, email:…, uri:… or upn:…'))
      .optional()
      .describe(
        'Subject alternative names, templates allowed: `dns:{{device.name}}.corp.example.com`, `upn:{{user.upn}}`.',
      ),
    keyLength: z
      .union([z.literal(2048), z.literal(4096)])
      .default(2048)
      .describe('RSA key length.'),
    keyUsage: z
      .array(z.enum(['digitalSignature', 'keyEncipherment']))
      .min(1)
      .default(['digitalSignature', 'keyEncipherment'])
      .describe('Key usage bits.'),
    ekus: z
      .array(z.string().refine((e) => e in EKU_OIDS || /^\d+(\.\d+)+$/.test(e), 'a known EKU name or an OID'))
      .min(1)
      .default(['clientAuth'])
      .describe(`Extended key usages: ${Object.keys(EKU_OIDS).join(', ')} or OIDs.`),
    validityDays: z
      .number()
      .int()
      .min(1)
      .max(3650)
      .default(365)
      .describe('Validity of the issued certificate.'),
    renewalThresholdPercent: z
      .number()
      .int()
      .min(1)
      .max(90)
      .default(20)
      .describe('Renew when less than this share of the validity is left.'),
    hashAlgorithm: z.enum(['SHA-1', 'SHA-2', 'SHA-3']).default('SHA-2').describe('HashAlgorithm node.'),
    retryCount: z.number().int().min(0).max(30).default(3).describe('RetryCount node.'),
    retryDelayMinutes: z.number().int().min(0).max(60).default(5).describe('RetryDelay node (minutes).'),
  })
  .describe('A SCEP certificate profile (ClientCertificateInstall/SCEP).');

export type CertificateProfile = z.output<typeof CertificateProfileSchema>;

/** RootCATrustedCertificates stores a policy may add to (CSP doc; the user scope has no `Root`). */
export const TRUSTED_ROOT_STORES = ['Root', 'CA', 'TrustedPublisher', 'TrustedPeople'] as const;

export const TrustedRootSchema = z
  .strictObject({
    type: z.literal('root').describe('`root`: a certificate the device trusts (RootCATrustedCertificates).'),
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'use letters, digits, `_` and `-` (at most 64)')
      .describe('A name for the certificate, unique among the policy’s certificates.'),
    store: z
      .enum(TRUSTED_ROOT_STORES)
      .default('Root')
      .describe('Store: Root (trusted roots), CA (intermediates), TrustedPublisher or TrustedPeople.'),
    scope: z
      .enum(['device', 'user'])
      .optional()
      .describe('`device` (./Device/…) or `user` (./User/…, no Root store); default the policy’s scope.'),
    certificate: z
      .string()
      .min(1)
      .describe('The certificate in PEM (`-----BEGIN CERTIFICATE-----` …), written inline with `|`.'),
  })
  .describe('A trusted certificate (RootCATrustedCertificates/<store>/<SHA-1 thumbprint>).');

export type TrustedRoot = z.output<typeof TrustedRootSchema>;

/** One `certificates:` entry: a trusted root when `type: root`, a SCEP profile otherwise. */
export const CertificateEntrySchema = z.union([TrustedRootSchema, CertificateProfileSchema]);
