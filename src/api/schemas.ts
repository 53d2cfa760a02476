// The admin API's resources as zod schemas (docs/api.md). Requests are parsed with them, answers
// are checked against them, and `GET /api/v1/openapi.json` is generated from them. Schemas with an
// `id` become `components.schemas` entries.
import { z } from 'zod';
import { MAX_PAYLOAD_BYTES, MAX_PAYLOADS_TOTAL_BYTES } from '../services/policy.js';
import { DM_FORMATS, type DmCommand } from '../shared/dm-command.js';
import { APP_STATES } from '../storage/apps.js';
import { COMMAND_STATES } from '../storage/commands.js';
import { COMPLIANCE_STATES } from '../storage/compliance.js';
import { SETTING_STATES } from '../storage/device-settings.js';
import { DEVICE_SORT_KEYS, ENROLLMENT_TYPES } from '../storage/devices.js';
import { CERTIFICATE_PROFILE_STATES } from '../storage/scep.js';
import { TOKEN_ROLES } from '../storage/tokens.js';

const iso = z.string().describe('ISO-8601 UTC date-time');
const nullableIso = iso.nullable();
/** A query-string timestamp. */
const isoParam = z.iso.datetime({ offset: true }).describe('ISO-8601 date-time');
const text = (max = 1024) => z.string().min(1).max(max);

export const Problem = z
  .looseObject({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    errors: z.array(z.object({ in: z.string(), path: z.string(), message: z.string() })).optional(),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details' });

// ---- pagination

export const Limit = z.coerce.number().int().min(1).max(500).default(50);
export const Cursor = z.string().max(2048).optional().describe('nextCursor of the previous page');
export const page = <T extends z.ZodType>(item: T) =>
  z.strictObject({
    items: z.array(item),
    nextCursor: z.string().nullable().describe('pass as ?cursor= for the next page; null on the last'),
  });

// ---- devices

export const Device = z
  .strictObject({
    deviceId: z.string(),
    status: z.enum(['enrolled', 'unenrolled']),
    name: z.string().nullable(),
    hwDevId: z.string().nullable(),
    osEdition: z.string().nullable(),
    osVersion: z.string().nullable(),
    deviceType: z.string().nullable(),
    locale: z.string().nullable(),
    macs: z.array(z.string()),
    enrollmentId: z.string(),
    enrollmentType: z.enum(ENROLLMENT_TYPES),
    authPolicy: z.enum(['OnPremise', 'Federated']),
    userUpn: z.string(),
    providerId: z.string(),
    enrolledAt: iso,
    unenrolledAt: nullableIso,
  })
  .meta({ id: 'Device' });

export const DeviceListItem = Device.extend({
  lastCheckInAt: nullableIso,
  complianceState: z.string(),
  serialNumber: z.string().nullable(),
}).meta({ id: 'DeviceListItem' });

export const DeviceListQuery = z.strictObject({
  status: z.enum(['enrolled', 'unenrolled']).optional(),
  compliance: z.enum(COMPLIANCE_STATES).optional(),
  user: text(320).optional().describe('enrolling user UPN (case-insensitive)'),
  osVersion: text(64).optional().describe('OS version prefix, e.g. 10.0.22631'),
  checkedInBefore: isoParam.optional(),
  checkedInAfter: isoParam.optional(),
  q: text(256).optional().describe('substring of the DeviceID, name or serial number'),
  sort: z.enum(DEVICE_SORT_KEYS).default('deviceId'),
  order: z.enum(['asc', 'desc']).default('asc'),
  limit: Limit,
  cursor: Cursor,
});

export const DeviceIdParams = z.strictObject({ id: text(512) });

export const ResultItem = z.strictObject({
  locUri: z.string(),
  format: z.string().optional(),
  type: z.string().optional(),
  data: z.string().optional(),
});

export const CommandNode = z
  .strictObject({
    msgId: z.number().int(),
    cmdId: z.number().int(),
    commandId: z.string(),
    path: z.string().describe("'' = the command itself; '0', '1.0' … = children of Atomic/Sequence"),
    verb: z.string(),
    targets: z.array(z.string()),
    status: z.number().int().optional().describe('the device Status code; absent while outstanding'),
    sessionId: z.string(),
    originalError: z.string().nullable(),
    results: z.array(ResultItem),
    sentAt: iso,
    answeredAt: nullableIso,
  })
  .meta({ id: 'CommandNode' });

// ---- the queue's command shape (src/shared/dm-command.ts)

export const DmItem = z
  .strictObject({
    target: text(2048).describe('LocURI, ./… form'),
    format: z.enum(DM_FORMATS).optional(),
    type: z.string().max(255).optional(),
    data: z
      .string()
      .max(4 * 1024 * 1024)
      .optional(),
  })
  .meta({ id: 'DmItem' });

export const DmCommandSchema: z.ZodType<DmCommand> = z
  .union([
    z.strictObject({
      verb: z.enum(['Get', 'Add', 'Replace', 'Delete', 'Exec']),
      items: z.array(DmItem).min(1).max(500),
    }),
    z.strictObject({
      verb: z.enum(['Atomic', 'Sequence']),
      get commands() {
        return z.array(DmCommandSchema).min(1).max(500);
      },
    }),
  ])
  .meta({ id: 'DmCommand' }) as z.ZodType<DmCommand>;

export const Command = z
  .strictObject({
    id: z.string(),
    deviceId: z.string(),
    command: DmCommandSchema,
    origin: z.string(),
    tag: z.string().optional(),
    attempts: z.number().int(),
    priority: z.number().int(),
    state: z.enum(COMMAND_STATES),
    statusCode: z.number().int().nullable(),
    failureReason: z.string().nullable(),
    retryOf: z.string().nullable(),
    actor: z.string().nullable(),
    createdAt: iso,
    expiresAt: nullableIso,
    sentAt: nullableIso,
    completedAt: nullableIso,
    nodes: z.array(CommandNode),
  })
  .meta({ id: 'Command' });

export const CommandRequest = z.strictObject({
  command: DmCommandSchema,
  priority: z.number().int().min(-1000).max(1000).optional(),
  tag: text(256).optional(),
  expiresAt: isoParam.optional().describe('not sent after this time'),
});

export const BulkCommandRequest = z
  .strictObject({
    command: DmCommandSchema,
    devices: z.array(text(512)).min(1).max(10_000).optional(),
    filter: DeviceListQuery.omit({ sort: true, order: true, limit: true, cursor: true }).optional(),
  })
  .refine((r) => (r.devices === undefined) !== (r.filter === undefined), {
    message: 'give either devices or filter',
  });

export const Queued = z.strictObject({ id: z.string() });
export const BulkQueued = z.strictObject({
  commands: z.array(z.strictObject({ deviceId: z.string(), id: z.string() })),
});

export const CheckIn = z.strictObject({
  deviceId: z.string(),
  lastCheckInAt: iso,
  lastInventoryAt: nullableIso,
  loginStatus: z.string().nullable(),
  sessions: z.number().int(),
});

export const InventoryEntry = z.strictObject({
  locUri: z.string(),
  value: z.string().nullable(),
  format: z.string().nullable(),
  type: z.string().nullable(),
  reportedAt: iso,
});

export const SettingRow = z
  .strictObject({
    path: z.string(),
    policy: z.string().nullable(),
    state: z.enum(SETTING_STATES),
    desiredValue: z.string().nullable(),
    deliveredValue: z.string().nullable(),
    reportedValue: z.string().nullable(),
    statusCode: z.number().int().nullable(),
    reason: z.string().nullable(),
    sentAt: nullableIso,
    appliedAt: nullableIso,
    verifiedAt: nullableIso,
    reportedAt: nullableIso,
    nextCheckAt: nullableIso,
    updatedAt: iso,
  })
  .meta({ id: 'SettingRow' });

export const DeviceEvent = z.strictObject({
  id: z.number().int(),
  deviceId: z.string(),
  alertCode: z.number().int(),
  type: z.string(),
  format: z.string().nullable(),
  mark: z.string().nullable(),
  source: z.string().nullable(),
  data: z.string().nullable(),
  receivedAt: iso,
});

const stateCounts = z.record(z.enum(SETTING_STATES), z.number().int());

export const DeviceCompliance = z
  .strictObject({
    deviceId: z.string(),
    user: z.string().nullable(),
    enrolled: z.boolean(),
    state: z.enum(COMPLIANCE_STATES),
    reasons: z.array(z.string()),
    failingSince: nullableIso,
    graceEndsAt: nullableIso,
    evaluatedAt: nullableIso,
    lastCheckInAt: nullableIso,
    settings: stateCounts,
  })
  .meta({ id: 'DeviceCompliance' });

export const DeviceComplianceDetail = DeviceCompliance.extend({ settingDetails: z.array(SettingRow) });

// ---- applications (docs/apps.md)

const appKey = z
  .string()
  .describe(
    'identity across versions: msi:{UpgradeCode} (else msi:{ProductCode}) or msix:<PackageFamilyName>',
  );

export const AppStateCounts = z.record(z.enum(APP_STATES), z.number().int());

export const DeviceApp = z
  .strictObject({
    deviceId: z.string(),
    app: appKey,
    kind: z.enum(['msi', 'msix']),
    name: z.string(),
    policy: z.string().nullable().describe('the assigning policy (the last one while removing/removed)'),
    state: z.enum(APP_STATES),
    appId: z.string().describe('MSI ProductCode or MSIX Package Family Name of the wanted version'),
    desiredVersion: z.string().nullable(),
    installedVersion: z.string().nullable().describe('the version the device reported'),
    cspStatus: z.number().int().nullable().describe('the CSP Status node (MSI 10…70, MSIX 0…3)'),
    statusCode: z.number().int().nullable().describe('SyncML status of the last command about the app'),
    lastError: z.string().nullable().describe('the CSP LastError as reported (signed decimal HRESULT)'),
    lastErrorHex: z.string().nullable().describe('LastError as 0x…'),
    lastErrorDesc: z.string().nullable(),
    reason: z.string().nullable(),
    attempts: z.number().int(),
    nextRetryAt: nullableIso,
    sentAt: nullableIso,
    installedAt: nullableIso,
    verifiedAt: nullableIso.describe('when the device last confirmed the installed app'),
    nextCheckAt: nullableIso.describe('when the installed app is read again'),
    reinstalls: z
      .number()
      .int()
      .describe('re-installs after the device reported the app missing or at another version'),
    updatedAt: iso,
  })
  .meta({ id: 'DeviceApp', description: 'the deployment state of one app on one device' });

export const AppSummary = z
  .strictObject({
    app: appKey,
    kind: z.enum(['msi', 'msix']),
    name: z.string(),
    assigned: z.boolean().describe('false: no longer in the active policy set (being or been removed)'),
    versions: z
      .array(
        z.strictObject({
          policy: z.string(),
          appId: z.string(),
          version: z.string(),
          source: z.string().describe('the package file as the policy names it, or its HTTPS URL'),
          sha256: z.string().nullable(),
        }),
      )
      .describe('what each policy of the active set deploys (two versions for one device are a conflict)'),
    devices: z.number().int().describe('device records of the app, in any state'),
    states: AppStateCounts,
  })
  .meta({ id: 'AppSummary' });

export const AppDetail = z.strictObject({ app: AppSummary, devices: z.array(DeviceApp) });

export const CertificateProfileRow = z
  .strictObject({
    deviceId: z.string(),
    profile: z.string().describe('the {UniqueID} under ClientCertificateInstall/SCEP'),
    policy: z.string().nullable(),
    root: z.string().describe('./Device/Vendor/MSFT/ClientCertificateInstall/SCEP/<profile> (or ./User/…)'),
    state: z.enum(CERTIFICATE_PROFILE_STATES),
    subject: z.string().nullable().describe('subject resolved for this device (bound by the challenge)'),
    san: z.array(z.string()),
    challengeExpiresAt: nullableIso.describe('expiry of the newest challenge (the challenge is never shown)'),
    attempts: z.number().int(),
    serial: z.string().nullable().describe('newest certificate issued for this device and profile'),
    thumbprint: z.string().nullable(),
    notBefore: nullableIso,
    notAfter: nullableIso,
    installedThumbprint: z.string().nullable().describe('CertThumbprint the device reports'),
    cspStatus: z.number().int().nullable().describe('CSP Status: 1 done, 2 pending, 16 failed, 32 unknown'),
    errorCode: z.number().int().nullable().describe('CSP ErrorCode (HRESULT)'),
    statusCode: z.number().int().nullable(),
    reason: z.string().nullable(),
    nextRetryAt: nullableIso,
    requestedAt: nullableIso,
    issuedAt: nullableIso,
    installedAt: nullableIso,
    updatedAt: iso,
  })
  .meta({ id: 'CertificateProfileRow' });

export const DeviceDetail = z
  .strictObject({
    device: Device,
    checkIn: CheckIn.nullable(),
    compliance: DeviceCompliance,
    inventory: z.array(InventoryEntry),
    settings: z.array(SettingRow),
    apps: z.array(DeviceApp).describe('the apps delivered to the device, with state, version and last error'),
    pendingCommands: z.array(Command),
    recentCommands: z.array(Command),
    events: z.array(DeviceEvent),
    certificateProfiles: z
      .array(CertificateProfileRow)
      .describe('SCEP certificate profiles on this device and their states'),
  })
  .meta({ id: 'DeviceDetail' });

export const ActionParams = z.strictObject({
  id: text(512),
  action: z.enum(['sync', 'lock', 'reboot', 'wipe', 'unenroll', 'rename', 'retire']),
});

export const ActionBody = z
  .strictObject({
    confirm: z
      .string()
      .optional()
      .describe('wipe and retire: the DeviceID again, to confirm the device loses its data or management'),
    name: text(255).optional().describe('rename: the new name'),
  })
  .default({});

export const ActionResult = z.strictObject({
  action: z.string(),
  deviceId: z.string(),
  commandId: z.string().optional(),
  name: z.string().optional(),
  cancelledCommands: z.number().int().optional(),
  /** `unavailable`: no WNS push configured; otherwise the push service's result for the device. */
  push: z
    .enum([
      'sent',
      'coalesced',
      'failed',
      'refused',
      'no_channel',
      'channel_gone',
      'not_configured',
      'unknown_device',
      'not_enrolled',
      'unavailable',
    ])
    .optional(),
  detail: z.string().optional(),
});

// ---- policies

export const PolicyListItem = z.strictObject({
  name: z.string(),
  active: z.boolean(),
  version: z.number().int(),
  file: z.string(),
  updatedAt: iso,
  versions: z.array(z.strictObject({ version: z.number().int(), hash: z.string(), createdAt: iso })),
  settings: stateCounts,
});

export const PolicyStatus = z
  .strictObject({
    name: z.string(),
    active: z.boolean(),
    version: z.number().int(),
    file: z.string(),
    storedAt: iso,
    assignedTo: z.array(z.strictObject({ include: z.array(z.string()), exclude: z.array(z.string()) })),
    settings: stateCounts,
    devices: z.array(z.strictObject({ deviceId: z.string(), settings: z.array(SettingRow) })),
  })
  .meta({ id: 'PolicyStatus' });

export const PolicyDetail = PolicyStatus.extend({
  /** The compiled settings of the current version. */
  definition: z.unknown().describe('the compiled policy of the current version'),
});

export const PolicyIssue = z
  .strictObject({
    file: z.string(),
    line: z.number().int(),
    col: z.number().int(),
    code: z.string(),
    severity: z.enum(['error', 'warning']),
    message: z.string(),
  })
  .meta({ id: 'PolicyIssue', description: 'a file:line:col diagnostic as mdm policy check prints it' });

export const Bundle = z
  .record(z.string().min(1).max(255), z.string().max(1024 * 1024))
  .describe('policy folder: file name (relative, / between folders) → YAML text')
  .meta({ id: 'PolicyBundle' });

export const SideFile = z
  .union([
    z.strictObject({ text: z.string().max(MAX_PAYLOAD_BYTES).describe('UTF-8 text (XML, ADMX, PEM)') }),
    z.strictObject({
      base64: z
        .string()
        .max(Math.ceil(MAX_PAYLOAD_BYTES / 3) * 4 + 4096)
        .describe('the bytes in base64 (MSI, PFX, DER)'),
    }),
  ])
  .describe('one side file: text files as text, anything else as base64')
  .meta({ id: 'PolicySideFile' });

export const SideFiles = z
  .record(z.string().min(1).max(255), SideFile)
  .describe(
    `side files the YAML files name with \`file:\` (relative to the folder, / between folders): ` +
      `each at most ${MAX_PAYLOAD_BYTES} bytes, ${MAX_PAYLOADS_TOTAL_BYTES} together; ` +
      'a name with .., an absolute name, or one no YAML value refers to is refused (400)',
  )
  .meta({ id: 'PolicySideFiles' });

export const ValidateRequest = z
  .strictObject({
    file: text(255).optional().describe('one document: its file name'),
    text: z
      .string()
      .max(1024 * 1024)
      .optional()
      .describe('one document: its YAML text'),
    files: Bundle.optional(),
    payloads: SideFiles.optional().describe('the side files of files (or of the one document)'),
  })
  .refine((r) => (r.files !== undefined) !== (r.file !== undefined && r.text !== undefined), {
    message: 'give either files, or file and text',
  });

export const ValidateResult = z.strictObject({
  ok: z.boolean(),
  kind: z.string(),
  summary: z.string().optional(),
  errors: z.number().int(),
  warnings: z.number().int(),
  issues: z.array(PolicyIssue),
});

export const ApplyRequest = z.strictObject({
  files: Bundle,
  payloads: SideFiles.optional().describe('the side files the policy files name with `file:`'),
});

export const SettingChange = z.strictObject({
  path: z.string(),
  policy: z.string(),
  from: z.string().optional(),
  to: z.string().optional(),
});

export const GroupPlan = z
  .strictObject({
    group: z.string(),
    added: z.array(SettingChange),
    changed: z.array(SettingChange),
    removed: z.array(SettingChange),
    conflicts: z.array(z.string()),
    devices: z.number().int().optional(),
  })
  .meta({ id: 'GroupPlan' });

export const ApplyResult = z.strictObject({
  valid: z.boolean(),
  issues: z.array(PolicyIssue),
  plan: z.array(GroupPlan),
  revision: z.number().int().optional().describe('the stored revision (absent for a plan)'),
  created: z.boolean().optional().describe('false when the folder equals the current revision'),
  changes: z
    .array(
      z.strictObject({
        name: z.string(),
        change: z.enum(['added', 'changed', 'removed']),
        version: z.number().int(),
      }),
    )
    .optional(),
});

export const ApplyProblem = ApplyResult.extend({
  type: z.string(),
  title: z.string(),
  status: z.literal(422),
  detail: z.string(),
});

export const Revision = z.strictObject({
  revision: z.number().int(),
  hash: z.string(),
  createdAt: iso,
  summary: z.unknown(),
  config: z.unknown(),
});

export const RevisionDiff = z.strictObject({
  from: z.number().int(),
  to: z.number().int(),
  changes: z.array(
    z.strictObject({
      path: z.string().describe('JSON pointer into the revision configuration'),
      change: z.enum(['added', 'removed', 'changed']),
      from: z.unknown().optional(),
      to: z.unknown().optional(),
    }),
  ),
});

// ---- catalog

export const CatalogNode = z
  .looseObject({
    path: z.string(),
    csp: z.string(),
    scope: z.string(),
    format: z.string(),
    access: z.array(z.string()),
    description: z.string().optional(),
  })
  .meta({ id: 'CatalogNode' });

// ---- users, tokens, audit

export const User = z.strictObject({ upn: z.string(), createdAt: iso });
export const NewUser = z.strictObject({ upn: text(320), password: z.string().min(1).max(1024) });

export const Token = z
  .strictObject({
    id: z.string(),
    name: z.string(),
    role: z.enum(TOKEN_ROLES),
    createdAt: iso,
    lastUsedAt: nullableIso,
    revokedAt: nullableIso,
  })
  .meta({ id: 'ApiToken' });

export const NewToken = z.strictObject({ name: text(128), role: z.enum(TOKEN_ROLES).optional() });
export const CreatedToken = z.strictObject({
  id: z.string(),
  name: z.string(),
  role: z.enum(TOKEN_ROLES),
  token: z.string().describe('shown once; only its SHA-256 is stored'),
});

export const AuditEntry = z
  .strictObject({
    id: z.number().int(),
    at: iso,
    actor: z.string(),
    action: z.string(),
    deviceId: z.string().optional(),
    details: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'AuditEntry' });

export const AuditQuery = z.strictObject({
  deviceId: text(512).optional(),
  actor: text(256).optional(),
  action: text(128).optional().describe('an action, or a prefix ending in "." (devices.)'),
  since: isoParam.optional(),
  until: isoParam.optional(),
  limit: Limit,
  cursor: Cursor,
});

// ---- operations

export const Health = z.strictObject({ status: z.literal('ok') });
export const Ready = z.strictObject({ status: z.enum(['ready', 'unavailable']), database: z.boolean() });
export const Version = z.strictObject({ name: z.string(), version: z.string(), node: z.string() });
