// The policy file format (YAML). This zod schema is the single source of truth: the JSON Schema that
// editors use (`csp-catalog/policy.schema.json`, via `# yaml-language-server: $schema=…`) is generated
// from it by `policyJsonSchema()`, and a test fails when the committed file differs.
import { z } from 'zod';
import { PolicyAppSchema } from '../apps/schema.js';
import { CertificateEntrySchema } from './certificate-schema.js';

/** `10.0.19045` or `10.0.22631.4037` (Major.Minor.Build[.Revision], as DevDetail/SwV reports it). */
export const OS_BUILD_RE = /^\d+\.\d+\.\d+(\.\d+)?$/;

const scalar = z.union([z.string(), z.number(), z.boolean()]);

export const PolicyTargetSchema = z
  .strictObject({
    scope: z
      .enum(['device', 'user'])
      .default('device')
      .describe(
        'Where the settings apply: `device` (./Device/…, the default) or `user` (./User/…, the enrolled user, applied while that user is signed in).',
      ),
    minOsBuild: z
      .string()
      .regex(OS_BUILD_RE, 'expected a Windows build such as 10.0.19045 or 10.0.22631.4037')
      .optional()
      .describe(
        'Oldest Windows build the policy must work on, e.g. `10.0.19045` (Windows 10 22H2). Settings that need a newer build are errors. Quote it in YAML.',
      ),
  })
  .describe('Which devices the policy is written for.');

export const PolicySettingSchema = z
  .strictObject({
    path: z
      .string()
      .min(1)
      .describe(
        'The CSP node: a full LocURI (`./Device/Vendor/MSFT/BitLocker/RequireDeviceEncryption`, `./Vendor/MSFT/…`, `./User/…`) or, for Policy CSP settings, the short form `Area/Policy` (`DeviceLock/DevicePasswordEnabled`).',
      ),
    value: z
      .union([scalar, z.array(scalar)])
      .optional()
      .describe(
        "The value in the node's natural type: a number, a boolean, a string, an ENUM value or its name, a list of flag values, XML text, or `enabled`/`disabled` for ADMX-backed policies.",
      ),
    data: z
      .record(z.string(), z.union([scalar, z.array(scalar)]))
      .optional()
      .describe(
        'ADMX-backed policies set to `enabled`: the data elements, element id → value (a list becomes a U+F000-separated list).',
      ),
    file: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Read the value from this file (relative to the policy file): base64-encoded for b64 nodes, the text otherwise (XML payloads, certificates in PEM).',
      ),
    comment: z.string().optional().describe('Why this setting is here (not sent to devices).'),
  })
  .describe('One CSP node and the value to give it. Exactly one of `value` or `file`.');

export const PolicySchema = z
  .strictObject({
    $schema: z.string().optional().describe('JSON Schema reference for editors.'),
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'use letters, digits, `.`, `_` and `-` (at most 100)')
      .describe('Unique policy name, used to assign the policy and in reports.'),
    description: z.string().optional().describe('What the policy is for.'),
    target: PolicyTargetSchema.optional(),
    atomic: z
      .boolean()
      .default(false)
      .describe(
        'Send all settings inside one Atomic: the device applies all of them or none (docs/protocol-notes.md#atomic).',
      ),
    certificates: z
      .array(CertificateEntrySchema)
      .optional()
      .describe(
        'Certificate profiles (SCEP) the devices enrol for, named in settings with {{certificate.<name>.thumbprint}}, and trusted roots (`type: root`).',
      ),
    settings: z
      .array(PolicySettingSchema)
      .min(1)
      .optional()
      .describe('The settings, applied in this order. A policy has `settings`, `apps` or both.'),
    apps: z
      .array(PolicyAppSchema)
      .min(1)
      .optional()
      .describe('Applications the policy installs (MSI or MSIX), removed again when unassigned.'),
  })
  .describe('A declarative Windows MDM policy: a named set of CSP settings for devices or users.');

export type PolicySource = z.infer<typeof PolicySchema>;
export type PolicySettingSource = z.infer<typeof PolicySettingSchema>;

/** The JSON Schema shipped as `csp-catalog/policy.schema.json` (draft-07, for yaml-language-server). */
export function policyJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(PolicySchema, { target: 'draft-7', io: 'input' }) as Record<string, unknown>;
  return { ...schema, title: 'Windows MDM policy' };
}

/** The file's text: stable key order, two-space indentation, trailing newline. */
export function policyJsonSchemaText(): string {
  return `${JSON.stringify(policyJsonSchema(), null, 2)}\n`;
}
