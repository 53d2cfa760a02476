// Composition root: config → storage → CA and TLS material → app → listener. `npm start` runs
// this file with configuration from MDM_* variables (and MDM_CONFIG); `mdm serve` calls
// `startMdmServer` with its flags.
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type AuditForwarder, configuredSinks, startAuditForwarder } from './audit/forwarder.js';
import { type ScheduledBackups, startScheduledBackups } from './backup/schedule.js';
import { defaultCatalog } from './catalog/catalog.js';
import { type Config, ConfigError, loadConfig, publicBase, publicHost } from './config.js';
import { startSessionPruning } from './dm/retention.js';
import { composeHooks, webhookDmHooks } from './dm/webhook-hooks.js';
import { loadOrCreateTokenSecret } from './enrollment/tokens.js';
import { createRequestHandler, type RequestHandler } from './http/app.js';
import { listen, listenLimits } from './http/server.js';
import { createLogger, type Logger } from './logger.js';
import { type EnrollmentCa, loadOrCreateCa } from './pki/ca.js';
import { loadOrCreateTls, type TlsMaterial } from './pki/tls.js';
import { certificateIssued } from './policy/delivery/certificate-profiles.js';
import { readActiveSet } from './policy/delivery/policy-set.js';
import { createPolicyRuntime } from './policy/runtime.js';
import { pushPolicyRevision } from './push/policy.js';
import { createPushService, type PushService } from './push/service.js';
import { createServerMetrics } from './reporting/metrics.js';
import { createScepService, loadScepCa, type ScepCa, scepTemplateValues } from './scep/service.js';
import type { Storage } from './storage/index.js';
import { describeDatabase, openStorage } from './storage/open.js';
import { startWebhookDeliverer } from './webhooks/deliverer.js';
import { createEventSink } from './webhooks/events.js';

export interface StartOptions {
  readonly logger?: Logger;
  /** Derives `publicUrl` from the bound port (for port 0 in tests). */
  readonly publicUrlForPort?: (port: number, protocol: 'http' | 'https') => string;
  /** Print the development-certificate warning (default true). */
  readonly warn?: boolean;
  /** How often coalesced pushes that are due are looked for (default 1 s). */
  readonly pushDueCheckMs?: number;
  /** At most one push per device per this many ms (default 30 s). */
  readonly pushCoalesceMs?: number;
}

export interface MdmServer {
  /** Effective configuration (publicUrl resolved). */
  readonly config: Config;
  /** Base URL of the listener, e.g. https://127.0.0.1:8443. */
  readonly url: string;
  readonly port: number;
  readonly ca: EnrollmentCa;
  /** Issuing CA of the SCEP endpoint. */
  readonly scepCa: ScepCa;
  readonly tls: TlsMaterial | undefined;
  readonly storage: Storage;
  /** WNS push (`enabled` false when not configured): sync, reports. */
  readonly push: PushService;
  /** Resolves when the database is reachable and the start-up work (policy folder) is done. */
  readonly ready: Promise<void>;
  /** Scheduled backups (MDM_BACKUP_DIR set). */
  readonly backups?: ScheduledBackups;
  /** Audit delivery (MDM_SYSLOG_URL or MDM_AUDIT_FILE set). */
  readonly auditForwarder?: AuditForwarder;
  /**
   * Stops the server: with `graceful`, stop accepting and let requests in flight (OMA-DM exchanges
   * included) finish within `shutdownTimeoutSeconds`; then close the database.
   */
  close(options?: { readonly graceful?: boolean }): Promise<void>;
}

export async function startMdmServer(initial: Config, options: StartOptions = {}): Promise<MdmServer> {
  const logger = options.logger ?? createLogger(initial.logLevel);
  mkdirSync(initial.dataDir, { recursive: true });
  const storage = openStorage(initial, { role: 'server', logger });
  try {
    const ca = loadOrCreateCa({ certsDir: initial.certsDir, caCert: initial.caCert, caKey: initial.caKey });
    const tls = initial.tls
      ? await loadOrCreateTls({
          certsDir: initial.certsDir,
          publicHost: publicHost(initial),
          tlsCert: initial.tlsCert,
          tlsKey: initial.tlsKey,
        })
      : undefined;
    const tokenSecret = loadOrCreateTokenSecret(initial.dataDir, initial.tokenSecret);
    // Policy delivery and compliance: hooks into every OMA-DM session.
    let publicUrl = initial.publicUrl;
    const scepCa = loadScepCa(initial);
    // Webhooks: events written to the outbox with the changes they report, delivered off the request path.
    const events = createEventSink(initial.webhooks);
    const policy = createPolicyRuntime({
      config: initial,
      storage,
      logger,
      // Read per call: with port 0 the public URL is only known once the listener is bound.
      publicUrl: () => publicUrl,
      templateValues: (profile, tx) =>
        scepTemplateValues(
          storage,
          scepCa,
          `${publicUrl.replace(/\/+$/, '')}${initial.scepPath}`,
        )(profile, tx),
      events,
    });
    const dmHooks =
      initial.webhooks.length > 0 ? composeHooks(policy.dmHooks, webhookDmHooks(events)) : policy.dmHooks;
    let handler: RequestHandler | undefined;
    const listener = await listen(
      { host: initial.host, port: initial.port, tls, clientCaPem: [ca.pem], limits: listenLimits(initial) },
      () => handler ?? ((_req, res) => res.writeHead(503).end()),
    );
    const config: Config = options.publicUrlForPort
      ? {
          ...initial,
          port: listener.port,
          publicUrl: options.publicUrlForPort(listener.port, listener.protocol),
        }
      : initial;
    publicUrl = config.publicUrl;
    const metrics = createServerMetrics(storage);
    const push = createPushService({
      config,
      storage,
      logger,
      metrics: metrics.push,
      ...(options.pushDueCheckMs && { dueCheckMs: options.pushDueCheckMs }),
      ...(options.pushCoalesceMs && { coalesceMs: options.pushCoalesceMs }),
    });
    if (push.enabled)
      logger.info(
        { pfn: config.wnsPfn, tokenUrl: config.wnsTokenUrl, channelHosts: config.wnsChannelHosts },
        'WNS push on',
      );
    else
      logger.info('WNS push off: set MDM_WNS_PFN, MDM_WNS_CLIENT_ID and MDM_WNS_CLIENT_SECRET to enable it');
    handler = createRequestHandler({
      config,
      storage,
      ca,
      logger,
      tokenSecret,
      dmHooks,
      events,
      catalog: defaultCatalog,
      metrics,
      push,
      scep: createScepService({
        storage,
        ca: scepCa,
        logger,
        crlUrl: `${publicBase(config)}${config.scepPath}/crl`,
        onIssued: (certificate, tx, at) => certificateIssued(tx, certificate, at),
      }),
    });
    const deliverer = startWebhookDeliverer({
      storage,
      endpoints: config.webhooks,
      retrySeconds: config.webhookRetrySeconds,
      logger,
    });
    push.start();
    // Finished OMA-DM sessions are pruned on a timer, off the request path, by one instance at a time.
    const pruning = startSessionPruning({
      storage,
      retentionDays: config.sessionRetentionDays,
      retention: {
        deviceEvents: config.deviceEventRetentionDays,
        commands: config.commandRetentionDays,
        audit: config.auditRetentionDays,
        retiredDevices: config.retiredDeviceRetentionDays,
      },
      logger,
    });
    // Scheduled encrypted backups, when MDM_BACKUP_DIR is set.
    const backups = config.backupDir ? startScheduledBackups({ config, storage, logger }) : undefined;
    // Start-up work that needs the database waits for it (a database that is down answers 503 meanwhile).
    const startup = whenDatabaseReady(storage, config, logger, async () => {
      const before = push.enabled ? await readActiveSet(storage.policies) : undefined;
      await policy.loadFolder();
      if (before) await pushPolicyRevision(push, storage, before);
    });
    await startup.first;
    // Audit events to the SIEM (MDM_SYSLOG_URL, MDM_AUDIT_FILE), buffered in the database.
    const sinks = configuredSinks(config);
    const auditForwarder =
      sinks.length > 0
        ? startAuditForwarder({ storage, sinks, logger, bufferMax: config.auditBufferMax })
        : undefined;
    // A new destination's position is taken now, so what is recorded after the start is delivered.
    await auditForwarder?.runOnce().catch(() => 0);
    const listenHost = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
    const url = `${listener.protocol}://${listenHost.includes(':') ? `[${listenHost}]` : listenHost}:${listener.port}`;
    if (options.warn ?? true) printStartup(config, ca, tls, url);
    logger.info(
      { url, publicUrl: config.publicUrl, dataDir: config.dataDir, database: describeDatabase(config) },
      'server listening',
    );
    return {
      config,
      url,
      port: listener.port,
      ca,
      scepCa,
      tls,
      storage,
      push,
      ready: startup.done,
      ...(backups && { backups }),
      ...(auditForwarder && { auditForwarder }),
      async close(closing = {}) {
        startup.stop();
        backups?.stop();
        await auditForwarder?.stop();
        pruning.stop();
        await push.stop();
        await listener.close(closing.graceful ? config.shutdownTimeoutSeconds * 1000 : 0);
        await deliverer.stop();
        await storage.close();
      },
    };
  } catch (err) {
    await storage.close();
    throw err;
  }
}

/**
 * Runs `task` once the database is reachable and migrated, retrying with backoff (1 s doubling to
 * 30 s) and one log line per failed attempt; a server on a database that is down keeps serving 503s.
 */
function whenDatabaseReady(
  storage: Storage,
  config: Config,
  logger: Logger,
  task: () => Promise<void>,
): { first: Promise<void>; done: Promise<void>; stop(): void } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let firstAttempt!: () => void;
  const first = new Promise<void>((resolve) => {
    firstAttempt = resolve;
  });
  const done = (async () => {
    for (let delay = 1000; !stopped; delay = Math.min(delay * 2, 30_000)) {
      try {
        // Reaching the database (and migrating it) says why it failed; ready() then checks the schema.
        await storage.transaction(async () => undefined);
        if (await storage.ready()) {
          await task().finally(firstAttempt);
          return;
        }
        logger.error({ database: describeDatabase(config), retryMs: delay }, 'database not ready; retrying');
      } catch (err) {
        logger.error(
          { database: describeDatabase(config), err: (err as Error).message, retryMs: delay },
          'database unavailable; retrying',
        );
      }
      firstAttempt();
      await new Promise<void>((resolve) => {
        timer = setTimeout(resolve, delay);
        timer.unref();
      });
    }
  })();
  return {
    first,
    done,
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}

function printStartup(config: Config, ca: EnrollmentCa, tls: TlsMaterial | undefined, url: string): void {
  const lines = [`Windows MDM server listening on ${url} (public URL ${config.publicUrl})`];
  lines.push(
    config.wnsPfn
      ? `  WNS push on (PFN ${config.wnsPfn}, channel hosts ${config.wnsChannelHosts.join(', ')})`
      : '  WNS push off (set MDM_WNS_PFN, MDM_WNS_CLIENT_ID, MDM_WNS_CLIENT_SECRET to wake devices at once)',
  );
  const publicPort = new URL(config.publicUrl).port || (config.publicUrl.startsWith('https:') ? '443' : '80');
  if (publicPort !== String(config.port) && publicHost(config) === 'localhost') {
    lines.push(
      `  Note: devices are sent to ${config.publicUrl}; set MDM_PUBLIC_URL to the address they reach.`,
    );
  }
  const dev = ca.origin === 'generated' || tls?.origin === 'generated';
  if (dev) {
    lines.push(
      '',
      '!!! DEVELOPMENT CERTIFICATES — NOT FOR PRODUCTION !!!',
      ca.origin === 'generated'
        ? `  Enrollment CA: ${ca.certPath} (generated${ca.created ? ' now' : ''}; its key is on this disk)`
        : '',
      tls?.origin === 'generated'
        ? `  TLS certificate: ${tls.certPath} (self-signed; Windows will not trust it for discovery)`
        : '',
      '  Use real certificates instead:',
      '    MDM_TLS_CERT / MDM_TLS_KEY  publicly trusted certificate for enterpriseenrollment.<your domain>',
      '    MDM_CA_CERT  / MDM_CA_KEY   your enrollment CA that signs device certificates',
    );
  }
  const text = lines.filter((l) => l !== '').join('\n');
  console.warn(dev ? `\n${text}\n` : text);
}

async function runFromCommandLine(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const server = await startMdmServer(config);
  const stop = () => {
    server.close({ graceful: true }).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

const entry = process.argv[1] ? resolve(process.argv[1]) : '';
if (entry === fileURLToPath(import.meta.url)) {
  runFromCommandLine().catch((err) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  });
}
