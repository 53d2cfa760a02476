/**
 * Starts the real server (HTTPS, SQLite, dev CA, dev TLS certificate) on 127.0.0.1 with a free port
 * and temporary data and certs folders. `publicUrl` is set to the bound address, so every URL the
 * server hands out (discovery, ADDR) points back at it.
 *
 * ```ts
 * const server = await startTestServer();
 * await server.addUser('demo@example.com', 'secret');
 * // … talk to server.url, inspect server.storage …
 * await server.close();
 * ```
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditForwarder } from '../../src/audit/forwarder.js';
import type { ScheduledBackups } from '../../src/backup/schedule.js';
import { type Config, type ConfigInput, loadConfig } from '../../src/config.js';
import { addUser } from '../../src/enrollment/users.js';
import { type Logger, silentLogger } from '../../src/logger.js';
import { startMdmServer } from '../../src/main.js';
import type { EnrollmentCa } from '../../src/pki/ca.js';
import type { PushService } from '../../src/push/service.js';
import type { ScepCa } from '../../src/scep/service.js';
import type { Storage } from '../../src/storage/index.js';
import type { BackendName } from './backends.js';
import { postgresTestUrl } from './backends.js';

export interface TestServer {
  /** Base URL, e.g. `https://127.0.0.1:41234` (also the configured publicUrl). */
  readonly url: string;
  /** The enrollment CA (device certificates chain to `ca.certificate`). */
  readonly ca: EnrollmentCa;
  /** The SCEP issuing CA. */
  readonly scepCa: ScepCa;
  /** PEM of the server's TLS certificate, for clients that verify the server (undefined with `tls: false`). */
  readonly tlsCertPem: string | undefined;
  /** The server's own storage (same SQLite database). */
  readonly storage: Storage;
  /** The server's WNS push service. */
  readonly push: PushService;
  readonly config: Config;
  readonly dataDir: string;
  readonly certsDir: string;
  /** Which database the server runs on. */
  readonly backend: BackendName;
  /** A config file's text for `mdm --config` against this server's data and database (plus `extra` lines). */
  configYaml(extra?: string): string;
  /** Adds an enrollment user through the same code path as `mdm users add`. */
  addUser(upn: string, password: string): Promise<void>;
  /** Resolves when the database is reachable and the server's start-up work is done. */
  readonly ready: Promise<void>;
  /** Scheduled backups (with `backupDir` set). */
  readonly backups: ScheduledBackups | undefined;
  /** Audit delivery (with `syslogUrl` or `auditFile` set). */
  readonly auditForwarder: AuditForwarder | undefined;
  /** Stops the server (`graceful`: as on SIGTERM) and deletes the temporary folders (unless `keepFiles`). */
  close(options?: { keepFiles?: boolean; graceful?: boolean }): Promise<void>;
}

/**
 * `overrides` are config settings (as in a config file), e.g. `{ authPolicies: ['Federated'] }`;
 * `options.logger` replaces the silent logger (to inspect what the server logs); `options.backend`
 * picks the database (default SQLite; `postgres` = a fresh database on the run's test cluster).
 */
export async function startTestServer(
  overrides: Partial<ConfigInput> = {},
  options: {
    readonly logger?: Logger;
    readonly backend?: BackendName;
    /** Reuse the folders of an earlier server (a restart). */
    readonly dataDir?: string;
    readonly certsDir?: string;
    /** How often the server sends coalesced pushes that are due (default 1 s). */
    readonly pushDueCheckMs?: number;
    /** At most one push per device per this many ms (default 30 s). */
    readonly pushCoalesceMs?: number;
  } = {},
): Promise<TestServer> {
  const root = mkdtempSync(join(tmpdir(), 'mdm-test-'));
  const dataDir = options.dataDir ?? join(root, 'data');
  const certsDir = options.certsDir ?? join(root, 'certs');
  const backend = options.backend ?? 'sqlite';
  const databaseUrl =
    (overrides.databaseUrl as string | undefined) ??
    (backend === 'postgres' ? await postgresTestUrl() : undefined);
  const config = loadConfig({
    env: {},
    flags: {
      dataDir,
      certsDir,
      host: '127.0.0.1',
      port: 0,
      logLevel: 'silent',
      ...overrides,
      ...(databaseUrl && { databaseUrl }),
    },
  });
  const server = await startMdmServer(config, {
    logger: options.logger ?? silentLogger(),
    warn: false,
    ...(options.pushDueCheckMs && { pushDueCheckMs: options.pushDueCheckMs }),
    ...(options.pushCoalesceMs && { pushCoalesceMs: options.pushCoalesceMs }),
    publicUrlForPort: (port, protocol) => `${protocol}://127.0.0.1:${port}`,
  });
  return {
    url: server.config.publicUrl.replace(/\/+$/, ''),
    ca: server.ca,
    scepCa: server.scepCa,
    tlsCertPem: server.tls?.cert,
    storage: server.storage,
    push: server.push,
    ready: server.ready,
    backups: server.backups,
    auditForwarder: server.auditForwarder,
    config: server.config,
    dataDir,
    certsDir,
    backend: server.storage.backend,
    configYaml: (extra = '') =>
      `dataDir: ${dataDir}\ncertsDir: ${certsDir}\n${databaseUrl ? `databaseUrl: ${databaseUrl}\n` : ''}${extra}`,
    addUser: (upn, password) => addUser(server.storage.users, upn, password),
    async close(closing = {}) {
      await server.close({ graceful: closing.graceful === true });
      if (!closing.keepFiles) {
        rmSync(root, { recursive: true, force: true });
        if (options.dataDir) rmSync(options.dataDir, { recursive: true, force: true });
        if (options.certsDir) rmSync(options.certsDir, { recursive: true, force: true });
      }
    },
  };
}
