// Server configuration, validated in one place.
// Precedence: embedded defaults ← optional config file (MDM_CONFIG / --config, YAML or JSON)
// ← MDM_* environment variables ← CLI flags. A bad value fails at start with a message that
// names the setting and where it came from.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

const AUTH_POLICIES = ['OnPremise', 'Federated'] as const;

/** Webhook event types an endpoint can subscribe to (docs/api.md "Webhooks"). */
export const WEBHOOK_EVENTS = [
  'device.enrolled',
  'device.unenrolled',
  'device.checked_in',
  'command.completed',
  'setting.state_changed',
  'compliance.changed',
  'policy.revision_applied',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENTS)[number];

const bool = z.union([
  z.boolean(),
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'])
    .transform((v) => ['true', '1', 'yes', 'on'].includes(v)),
]);
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
/** A duration in seconds from `90s`, `30m`, `6h`, `1d` or a bare number of minutes. */
const duration = (minSeconds: number, maxSeconds: number) =>
  z
    .union([z.number(), z.string()])
    .transform((v, ctx) => {
      const m = /^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$/i.exec(String(v));
      if (!m) {
        ctx.addIssue({ code: 'custom', message: 'expected a duration such as 30m, 6h or 1d' });
        return z.NEVER;
      }
      const unit = { s: 1, m: 60, h: 3600, d: 86_400, '': 60 }[
        m[2]!.toLowerCase() as 's' | 'm' | 'h' | 'd' | ''
      ];
      return Math.round(Number(m[1]) * unit);
    })
    .pipe(z.number().int().min(minSeconds).max(maxSeconds));
const optionalPath = z.string().min(1).optional();
const list = <T extends z.ZodType<unknown, string>>(item: T) =>
  z.union([
    z.array(item),
    // A comma-separated variable: each entry is checked like an array item.
    z
      .string()
      .transform((s) =>
        s
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean),
      )
      .pipe(z.array(item)),
  ]);

export const configSchema = z
  .object({
    /** Folder for the SQLite database and other server state. */
    dataDir: z.string().min(1).default('data'),
    /**
     * Database: unset or a file path = SQLite (default `<dataDir>/mdm.sqlite`); `postgres://…` or
     * `postgresql://…` = PostgreSQL (several server instances may share it).
     */
    databaseUrl: z.string().min(1).optional(),
    /** PostgreSQL connections per server process. */
    databasePoolSize: int(1, 1000).default(10),
    /** SQLite: WAL size (MiB) past which the log is truncated, holding writes for the moment it takes. */
    sqliteWalLimitMb: int(1, 1_000_000).default(64),
    /** Folder for generated development certificates. */
    certsDir: z.string().min(1).default('certs'),
    /** Address the listener binds to. */
    host: z.string().min(1).default('0.0.0.0'),
    port: int(0, 65535).default(8443),
    /** Base URL devices reach the server at; used in every URL the server hands out. */
    publicUrl: z.url({ protocol: /^https?$/ }).default('https://localhost:8443'),
    /** `false` serves plain HTTP, for running behind a TLS-terminating proxy. */
    tls: bool.default(true),
    tlsCert: optionalPath,
    tlsKey: optionalPath,
    caCert: optionalPath,
    caKey: optionalPath,
    /** Path of the SCEP endpoint (RFC 8894); certificate profiles hand devices `<publicUrl><scepPath>`. */
    scepPath: z
      .string()
      .regex(/^\/[A-Za-z0-9._~/-]*[A-Za-z0-9._~-]$/, 'a path such as /scep')
      .default('/scep'),
    /** Issuing CA of SCEP certificates (RSA); unset = a development SCEP CA kept in certsDir. */
    scepCaCert: optionalPath,
    scepCaKey: optionalPath,
    /** Lifetime of a SCEP challenge handed to a device. */
    scepChallengeTtlMinutes: int(1, 7 * 24 * 60).default(60),
    /** Header carrying the client certificate forwarded by a TLS-terminating proxy (off when unset). */
    trustedProxyCertHeader: z.string().min(1).optional(),
    /** Proxy addresses allowed to set `trustedProxyCertHeader`. */
    trustedProxies: list(z.string().min(1)).default(['127.0.0.1', '::1']),
    /** Enrollment auth policies offered in discovery (MS-MDE2). */
    authPolicies: list(z.enum(AUTH_POLICIES)).default(['OnPremise', 'Federated']),
    preferredAuthPolicy: z.enum(AUTH_POLICIES).default('OnPremise'),
    /** Secret for signing federated sign-in tokens; generated and kept in dataDir when unset. */
    tokenSecret: z.string().min(16).optional(),
    /** Lifetime of a federated sign-in token. */
    tokenTtlSeconds: int(30, 86_400).default(900),
    /** ProviderID in the provisioning doc (w7 APPLICATION and DMClient). */
    providerId: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/)
      .default('OpenWindowsMDM'),
    /** Device certificate validity. */
    certValidityDays: int(1, 3650).default(365),
    /** Renewal window announced to the device (days before expiry). */
    renewalPeriodDays: int(1, 365).default(42),
    /** DMClient poll schedule (docs/protocol-notes.md#provisioning-document): first interval and count, then the steady interval. */
    pollFirstIntervalMinutes: int(1, 1440).default(3),
    pollFirstCount: int(1, 1000).default(5),
    pollIntervalMinutes: int(1, 1440).default(15),
    /** Largest accepted request body. */
    maxBodyBytes: int(1024, 64 * 1024 * 1024).default(1024 * 1024),
    /** Longest time to receive a whole request, headers and body (node's `requestTimeout`); then 408 and close. */
    requestTimeoutSeconds: int(1, 3600).default(60),
    /** Longest silence while a request body arrives; also the limit for the headers and the TLS handshake. */
    bodyTimeoutSeconds: int(1, 3600).default(15),
    /** Concurrent connections from one client address; more are closed at once. Trusted proxies are not counted. */
    maxConnectionsPerClient: int(1, 100_000).default(256),
    /** Commands not acknowledged after this many sessions are marked failed. */
    commandMaxAttempts: int(1, 100).default(3),
    /**
     * A session a newer one of the same device superseded keeps the commands it carries while its
     * last exchange is this recent (it may still be talking to the device); then they are re-sent.
     */
    liveSessionSeconds: int(1, 3600).default(60),
    /** Inventory refresh: at most once per this many minutes per device. */
    inventoryIntervalMinutes: int(0, 100_000).default(24 * 60),
    /** LocURIs read on check-in for the inventory (comma-separated in MDM_INVENTORY_NODES); unset = built-in set (DevDetail, DeviceStatus). */
    inventoryNodes: list(z.string().regex(/^\.\//, 'a LocURI starting with ./')).optional(),
    /** Finished OMA-DM sessions are deleted this many days after they ended (commands keep their outcomes). */
    sessionRetentionDays: int(1, 36_500).default(30),
    /** Device events (alerts a device reported) are deleted this many days after they arrived. */
    deviceEventRetentionDays: int(1, 36_500).default(90),
    /** Finished commands (done, failed, expired, cancelled) are deleted this many days after they finished. */
    commandRetentionDays: int(1, 36_500).default(90),
    /** Audit events are deleted this many days after they were recorded. */
    auditRetentionDays: int(1, 36_500).default(365),
    /** A retired or unenrolled device's data is deleted this many days after its last enrollment ended. */
    retiredDeviceRetentionDays: int(1, 36_500).default(30),
    /** Folder of policy YAML files. */
    policyDir: z.string().min(1).default('policies'),
    /** Compliance facts (DeviceStatus, BitLocker nodes) are read from a device at most this often. */
    complianceRefreshMinutes: int(1, 100_000).default(60),
    /** When set, `/metrics` requires `Authorization: Bearer <this token>`; unset = open (bind or firewall it). */
    metricsToken: z.string().min(16).optional(),
    /** Console sessions end after this many minutes without a request (README "Web console"). */
    consoleIdleMinutes: int(1, 24 * 60).default(30),
    /** Failed console sign-ins per account name within 15 minutes before further attempts are refused. */
    consoleMaxFailedSignIns: int(1, 1000).default(5),
    /** Admin API requests per minute per API token (a burst of this many, refilled evenly); over it: 429 with Retry-After. */
    apiRateLimit: int(1, 1_000_000).default(600),
    /**
     * Webhook endpoints (config file list, or JSON in MDM_WEBHOOKS): `url`, `secret` (Standard
     * Webhooks signing key, `whsec_<base64>` or any text of 16+ characters), `events` (types; empty = all).
     */
    webhooks: z
      .preprocess(
        (v) => (typeof v === 'string' ? JSON.parse(v) : v),
        z.array(
          z.strictObject({
            url: z.url({ protocol: /^https?$/ }),
            secret: z.string().min(16),
            events: z.array(z.enum(WEBHOOK_EVENTS)).default([]),
          }),
        ),
      )
      .default([]),
    /** Seconds between webhook delivery attempts (comma-separated); after the last, a delivery fails. */
    webhookRetrySeconds: z
      .preprocess(
        (v) =>
          typeof v === 'string'
            ? v
                .split(',')
                .map((x) => x.trim())
                .filter(Boolean)
            : v,
        z.array(
          z.coerce
            .number()
            .min(0)
            .max(7 * 86_400),
        ),
      )
      .default([5, 30, 120, 600, 1800, 3600, 7200, 14_400, 28_800, 43_200, 86_400, 86_400]),
    /** On SIGTERM: stop accepting, wait this long for requests in flight, then close the database. */
    shutdownTimeoutSeconds: int(0, 3600).default(20),
    /** When set, authenticated sessions are recorded into this folder as replayable fixtures. */
    captureDir: z.string().min(1).optional(),
    /** Largest captured fixture; a full one is closed and the next exchange starts a new one. */
    captureMaxBytes: int(64 * 1024, 1024 ** 3).default(8 * 1024 * 1024),
    /** Largest total of the captured fixtures; the oldest are removed beyond it. */
    captureDirMaxBytes: int(1024 * 1024, 1024 ** 4).default(512 * 1024 * 1024),
    /**
     * WNS push (Microsoft "Push notification support for device management"): the Package Family
     * Name the devices register for, the Package SID (`ms-app://s-1-15-2-…`) and client secret the
     * server authenticates with. Push is off unless all three are set.
     */
    wnsPfn: z.string().min(1).max(256).optional(),
    wnsClientId: z.string().min(1).max(512).optional(),
    wnsClientSecret: z.string().min(1).max(512).optional(),
    /** OAuth 2.0 token endpoint for WNS access tokens (client credentials). */
    wnsTokenUrl: z.url({ protocol: /^https$/ }).default('https://login.live.com/accesstoken.srf'),
    /**
     * Hosts a device's channel URI may name (comma-separated; `*.` matches one or more leading
     * labels; `host:port` allows that port, otherwise only 443). Pushes go nowhere else.
     */
    wnsChannelHosts: list(
      z
        .string()
        .regex(
          /^(\*\.)?[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/,
          'a host name, *.domain or host:port',
        ),
    ).default(['*.notify.windows.com']),
    /** Extra trust anchors (PEM file) for the token URL and channels: a WNS stand-in, a TLS-inspecting proxy. */
    wnsCaFile: optionalPath,
    /** Folder for the server's scheduled encrypted backups; unset = no scheduled backups. */
    backupDir: z.string().min(1).optional(),
    /** Time between scheduled backups: a number with a unit, `30m`, `6h`, `1d` (a bare number is minutes). */
    backupInterval: duration(60, 366 * 86_400).default(86_400),
    /** Scheduled backups kept in backupDir; older ones are deleted after a new one is written. */
    backupKeep: int(1, 10_000).default(7),
    /** Passphrase for backup archives (`mdm backup`, `mdm restore`, scheduled backups). */
    backupPassphrase: z.string().min(1).optional(),
    /** File holding the backup passphrase (its first line), instead of backupPassphrase. */
    backupPassphraseFile: optionalPath,
    /** Audit events as RFC 5424 syslog to a SIEM: `tcp://host:port` or `tls://host:port` (RFC 6587 octet counting). */
    syslogUrl: z
      .url({ protocol: /^(tcp|tls)$/, error: 'expected tcp://host:port or tls://host:port' })
      .optional(),
    /** PEM file of the CA(s) the TLS syslog receiver's certificate chains to (default: the system CAs). */
    syslogCa: optionalPath,
    /** Audit events as JSON lines appended to this file (rotated). */
    auditFile: optionalPath,
    /** Size at which the audit file is rotated to `<file>.1`. */
    auditFileMaxBytes: int(1024, 1024 ** 4).default(100 * 1024 * 1024),
    /** Rotated audit files kept (`<file>.1` … `<file>.N`). */
    auditFileKeep: int(0, 1000).default(5),
    /** Largest backlog of undelivered audit events per destination; beyond it the oldest are skipped (and that is logged). */
    auditBufferMax: int(1, 100_000_000).default(100_000),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;

/** Environment variable name for each setting: `dataDir` → `MDM_DATA_DIR`. */
export function envName(key: string): string {
  return `MDM_${key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}`;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface LoadConfigOptions {
  env?: NodeJS.ProcessEnv;
  /** Values from CLI flags (already camelCase keys). Undefined values are ignored. */
  flags?: Record<string, unknown>;
  /** Config file path; falls back to MDM_CONFIG. */
  configFile?: string;
}

export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const keys = Object.keys(configSchema.shape) as (keyof Config)[];
  const merged: Record<string, unknown> = {};
  const origin: Record<string, string> = {};

  const file = options.configFile ?? env.MDM_CONFIG;
  if (file) {
    let parsed: unknown;
    try {
      parsed = parseYaml(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new ConfigError(`config file ${file}: ${(err as Error).message}`);
    }
    if (parsed !== null && parsed !== undefined) {
      if (typeof parsed !== 'object' || Array.isArray(parsed)) {
        throw new ConfigError(`config file ${file}: expected a mapping of settings`);
      }
      for (const [k, v] of Object.entries(parsed)) {
        merged[k] = v;
        origin[k] = `config file ${file}`;
      }
    }
  }
  for (const key of keys) {
    const value = env[envName(key)];
    if (value !== undefined && value !== '') {
      merged[key] = value;
      origin[key] = envName(key);
    }
  }
  for (const [key, value] of Object.entries(options.flags ?? {})) {
    if (value !== undefined) {
      merged[key] = value;
      origin[key] = `--${key.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase()}`;
    }
  }

  const result = configSchema.safeParse(merged);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const key = String(issue.path[0] ?? '');
      if (issue.code === 'unrecognized_keys') {
        return `unknown setting(s) ${issue.keys.join(', ')}; known: ${keys.join(', ')}`;
      }
      const from = origin[key] ?? 'default';
      return `${key} (${from}): ${issue.message}`;
    });
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const config = result.data;
  if (!config.authPolicies.includes(config.preferredAuthPolicy)) {
    throw new ConfigError(
      `invalid configuration:\n  preferredAuthPolicy (${origin.preferredAuthPolicy ?? 'default'}): ` +
        `${config.preferredAuthPolicy} is not one of the enabled authPolicies (${config.authPolicies.join(', ')})`,
    );
  }
  if (config.authPolicies.length === 0) {
    throw new ConfigError(
      'invalid configuration:\n  authPolicies: enable at least one of OnPremise, Federated',
    );
  }
  if (Boolean(config.tlsCert) !== Boolean(config.tlsKey)) {
    throw new ConfigError('invalid configuration:\n  tlsCert and tlsKey must be given together');
  }
  if (config.captureMaxBytes > config.captureDirMaxBytes) {
    throw new ConfigError(
      'invalid configuration:\n  captureMaxBytes must not be larger than captureDirMaxBytes',
    );
  }
  const wns = [config.wnsPfn, config.wnsClientId, config.wnsClientSecret];
  if (wns.some(Boolean) && !wns.every(Boolean)) {
    throw new ConfigError(
      'invalid configuration:\n  wnsPfn, wnsClientId and wnsClientSecret must be given together (push is off without them)',
    );
  }
  if (Boolean(config.scepCaCert) !== Boolean(config.scepCaKey)) {
    throw new ConfigError('invalid configuration:\n  scepCaCert and scepCaKey must be given together');
  }
  if (Boolean(config.caCert) !== Boolean(config.caKey)) {
    throw new ConfigError('invalid configuration:\n  caCert and caKey must be given together');
  }
  if (config.backupDir && !config.backupPassphrase && !config.backupPassphraseFile) {
    throw new ConfigError(
      'invalid configuration:\n  backupDir: scheduled backups need MDM_BACKUP_PASSPHRASE or MDM_BACKUP_PASSPHRASE_FILE',
    );
  }
  return config;
}

/** Host name of the public URL (for TLS subject names and discovery). */
export function publicHost(config: Config): string {
  return new URL(config.publicUrl).hostname;
}

/** Public base URL without a trailing slash. */
export function publicBase(config: Config): string {
  return config.publicUrl.replace(/\/+$/, '');
}
