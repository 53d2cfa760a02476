// Composition root: config → storage → CA and TLS material → app → listener. `npm start` runs
// this file with configuration from MDM_* variables (and MDM_CONFIG); `mdm serve` calls
// `startMdmServer` with its flags.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultCatalog } from './catalog/catalog.js';
import { type Config, ConfigError, loadConfig, publicHost } from './config.js';
import { startSessionPruning } from './dm/retention.js';
import { loadOrCreateTokenSecret } from './enrollment/tokens.js';
import { createApp } from './http/app.js';
import { listen, listenLimits } from './http/server.js';
import { createLogger, type Logger } from './logger.js';
import { type EnrollmentCa, loadOrCreateCa } from './pki/ca.js';
import { loadOrCreateTls, type TlsMaterial } from './pki/tls.js';
import { createPolicyRuntime } from './policy/runtime.js';
import type { Storage } from './storage/index.js';
import { openSqliteStorage } from './storage/sqlite/index.js';

export interface StartOptions {
  readonly logger?: Logger;
  /** Derives `publicUrl` from the bound port (for port 0 in tests). */
  readonly publicUrlForPort?: (port: number, protocol: 'http' | 'https') => string;
  /** Print the development-certificate warning (default true). */
  readonly warn?: boolean;
}

export interface MdmServer {
  /** Effective configuration (publicUrl resolved). */
  readonly config: Config;
  /** Base URL of the listener, e.g. https://127.0.0.1:8443. */
  readonly url: string;
  readonly port: number;
  readonly ca: EnrollmentCa;
  readonly tls: TlsMaterial | undefined;
  readonly storage: Storage;
  close(): Promise<void>;
}

/** The SQLite file inside the data folder. */
export function databaseFile(config: Config): string {
  return join(config.dataDir, 'mdm.sqlite');
}

export async function startMdmServer(initial: Config, options: StartOptions = {}): Promise<MdmServer> {
  const logger = options.logger ?? createLogger(initial.logLevel);
  mkdirSync(initial.dataDir, { recursive: true });
  const storage = openSqliteStorage({ file: databaseFile(initial) });
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
    // Policy delivery and compliance: stores the policy folder, hooks into every OMA-DM session.
    const policy = await createPolicyRuntime({ config: initial, storage, logger });
    let handler: ReturnType<typeof createApp> | undefined;
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
    handler = createApp({
      config,
      storage,
      ca,
      logger,
      tokenSecret,
      dmHooks: policy.dmHooks,
      catalog: defaultCatalog,
    });
    // Finished OMA-DM sessions are pruned on a timer, off the request path.
    const pruning = startSessionPruning({
      store: storage.dmSessions,
      retentionDays: config.sessionRetentionDays,
      logger,
    });
    const listenHost = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
    const url = `${listener.protocol}://${listenHost.includes(':') ? `[${listenHost}]` : listenHost}:${listener.port}`;
    if (options.warn ?? true) printStartup(config, ca, tls, url);
    logger.info({ url, publicUrl: config.publicUrl, dataDir: config.dataDir }, 'server listening');
    return {
      config,
      url,
      port: listener.port,
      ca,
      tls,
      storage,
      async close() {
        pruning.stop();
        await listener.close();
        storage.close();
      },
    };
  } catch (err) {
    storage.close();
    throw err;
  }
}

function printStartup(config: Config, ca: EnrollmentCa, tls: TlsMaterial | undefined, url: string): void {
  const lines = [`Windows MDM server listening on ${url} (public URL ${config.publicUrl})`];
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
    server.close().then(
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
