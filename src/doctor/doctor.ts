// `mdm doctor`: checks a deployment the way Windows meets it and says what to fix, one result per
// check. Windows discovers the server at `https://enterpriseenrollment.<UPN domain>` (MS-MDE2
// 3.1.5.1 and the Windows "Discovery service" documentation,
// https://learn.microsoft.com/windows/client-management/mdm/enrollment-overview), verifies its
// TLS certificate against its own trust store (so the chain must be complete and end at a public
// root), and only then sends the user's credentials.

import { createPrivateKey, createPublicKey, sign, verify, X509Certificate } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { connect, type PeerCertificate, rootCertificates } from 'node:tls';
import Database from 'better-sqlite3';
import pg from 'pg';
import { defaultCatalog } from '../catalog/catalog.js';
import { parseWnsTokenAnswer, WNS_TOKEN_CONTENT_TYPE, wnsTokenRequestBody } from '../codec/wns-token.js';
import { type Config, publicBase, publicHost } from '../config.js';
import { ENROLLMENT_PATHS } from '../enrollment/urls.js';
import { checkPath } from '../policy/language/check.js';
import { type HttpExchangeAnswer, type HttpExchangeOptions, httpExchange } from '../shared/http-exchange.js';
import { describeDatabase, isPostgresUrl, sqliteFile } from '../storage/open.js';
import { POSTGRES_SCHEMA_VERSION } from '../storage/postgres/index.js';
import { SQLITE_SCHEMA_VERSION } from '../storage/sqlite/database.js';

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  /** Stable identifier, e.g. `tls.chain`. */
  readonly id: string;
  readonly status: CheckStatus;
  readonly message: string;
  /** What to do about a `fail` or `warn`. */
  readonly fix?: string;
}

export interface DoctorOptions {
  /** A user's UPN: its domain's `enterpriseenrollment.` name is checked too. */
  readonly upn?: string;
  /** Name resolution (default: the system resolver, as Windows would use DNS). */
  readonly resolve?: (host: string) => Promise<string[]>;
  readonly now?: () => Date;
  /**
   * PEM roots the devices trust besides the public ones (an enterprise root they already have):
   * a chain ending at one of them is complete.
   */
  readonly trustedRoots?: string;
  /** Milliseconds per network check (default 5000). */
  readonly timeoutMs?: number;
}

export interface DoctorReport {
  readonly ok: boolean;
  readonly checks: readonly CheckResult[];
}

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const DAY = 86_400_000;
const MAX_SKEW_MS = 5 * 60_000;

const systemResolve = async (host: string) => (await lookup(host, { all: true })).map((a) => a.address);

const withTimeout = <T>(p: Promise<T>, ms: number, what: string) =>
  Promise.race([
    p,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms).unref(),
    ),
  ]);

/** The certificates the server sends (leaf first), and what the TLS stack found. */
async function fetchChain(
  host: string,
  port: number,
  timeoutMs: number,
): Promise<{ chain: X509Certificate[]; date?: string }> {
  return withTimeout(
    new Promise((resolve, reject) => {
      const socket = connect({
        host,
        port,
        ...(!isIP(host) && { servername: host }),
        rejectUnauthorized: false,
        ALPNProtocols: ['http/1.1'],
      });
      socket.once('error', reject);
      socket.once('secureConnect', () => {
        const chain: X509Certificate[] = [];
        const seen = new Set<string>();
        let cert: PeerCertificate | undefined = socket.getPeerCertificate(true);
        while (cert?.raw && !seen.has(cert.fingerprint256)) {
          seen.add(cert.fingerprint256);
          chain.push(new X509Certificate(cert.raw));
          cert = (cert as PeerCertificate & { issuerCertificate?: PeerCertificate }).issuerCertificate;
        }
        // The Date header of the discovery GET, for the clock check.
        socket.write(
          `GET ${ENROLLMENT_PATHS.discovery} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
        );
        let head = '';
        socket.setEncoding('utf8');
        socket.on('data', (d: string) => {
          head += d;
          if (head.includes('\r\n\r\n')) socket.destroy();
        });
        socket.once('close', () => {
          const date = /^date:\s*(.+)$/im.exec(head)?.[1]?.trim();
          resolve({ chain, ...(date && { date }) });
        });
      });
    }),
    timeoutMs,
    `TLS connection to ${host}:${port}`,
  );
}

const publicRoots = (() => {
  let roots: X509Certificate[] | undefined;
  return () => {
    roots ??= rootCertificates.flatMap((pem) => {
      try {
        return [new X509Certificate(pem)];
      } catch {
        return [];
      }
    });
    return roots;
  };
})();

/** Every certificate of a PEM bundle. */
function parseRoots(pem: string | undefined): X509Certificate[] {
  if (!pem) return [];
  return (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map(
    (block) => new X509Certificate(block),
  );
}

const selfSigned = (c: X509Certificate) => c.subject === c.issuer && c.verify(c.publicKey);
const cn = (dn: string) => /CN=([^\n]+)/.exec(dn)?.[1] ?? dn.replace(/\n/g, ', ');

function keyProblem(cert: X509Certificate): string | undefined {
  const key = cert.publicKey;
  const d = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'rsa-pss') {
    return (d.modulusLength ?? 0) >= 2048
      ? undefined
      : `an RSA key of ${d.modulusLength} bits (at least 2048)`;
  }
  if (key.asymmetricKeyType === 'ec') {
    return d.namedCurve === 'prime256v1' || d.namedCurve === 'secp384r1'
      ? undefined
      : `an EC key on ${d.namedCurve} (use P-256)`;
  }
  return `a ${key.asymmetricKeyType} key (use RSA ≥ 2048 or EC P-256)`;
}

export async function runDoctor(config: Config, options: DoctorOptions = {}): Promise<DoctorReport> {
  const checks: CheckResult[] = [];
  const add = (r: CheckResult) => checks.push(r);
  const now = options.now ?? (() => new Date());
  const resolve = options.resolve ?? systemResolve;
  const timeout = options.timeoutMs ?? 5000;
  const host = publicHost(config);
  const url = new URL(config.publicUrl);
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));

  // Names.
  let publicAddresses: string[] = [];
  if (isIP(host)) {
    publicAddresses = [host];
    add({ id: 'dns.public-url', status: 'ok', message: `MDM_PUBLIC_URL host ${host} is an address` });
  } else {
    try {
      publicAddresses = await withTimeout(resolve(host), timeout, `resolving ${host}`);
      add({
        id: 'dns.public-url',
        status: 'ok',
        message: `MDM_PUBLIC_URL host ${host} resolves to ${publicAddresses.join(', ')}`,
      });
    } catch (err) {
      add({
        id: 'dns.public-url',
        status: 'fail',
        message: `MDM_PUBLIC_URL host ${host} does not resolve: ${(err as Error).message}`,
        fix: `add a DNS record for ${host}, or set MDM_PUBLIC_URL to the name devices reach the server at`,
      });
    }
  }
  const domain = options.upn?.split('@')[1]?.toLowerCase();
  const enrollmentName = domain ? `enterpriseenrollment.${domain}` : undefined;
  if (options.upn !== undefined && !domain) {
    add({ id: 'dns.enrollment', status: 'fail', message: `--upn ${options.upn} has no @domain` });
  } else if (enrollmentName) {
    try {
      const addresses = await withTimeout(resolve(enrollmentName), timeout, `resolving ${enrollmentName}`);
      const same = addresses.some((a) => publicAddresses.includes(a));
      add(
        same || host.toLowerCase() === enrollmentName
          ? {
              id: 'dns.enrollment',
              status: 'ok',
              message: `${enrollmentName} resolves to ${addresses.join(', ')}`,
            }
          : {
              id: 'dns.enrollment',
              status: 'fail',
              message: `${enrollmentName} resolves to ${addresses.join(', ')}, not to ${host} (${publicAddresses.join(', ') || 'unresolved'})`,
              fix: `point ${enrollmentName} (CNAME or A/AAAA) at ${host}`,
            },
      );
    } catch (err) {
      add({
        id: 'dns.enrollment',
        status: 'fail',
        message: `${enrollmentName} does not resolve: ${(err as Error).message}`,
        fix: `add a DNS record: ${enrollmentName} CNAME ${host} (Windows looks the server up there for ${options.upn})`,
      });
    }
  } else {
    add({
      id: 'dns.enrollment',
      status: 'skip',
      message: 'pass --upn user@domain to check enterpriseenrollment.<domain>',
    });
  }

  // The TLS certificate, as a client meets it.
  let serverDate: string | undefined;
  if (url.protocol !== 'https:') {
    add({
      id: 'tls',
      status: 'fail',
      message: 'MDM_PUBLIC_URL is not https://',
      fix: 'Windows enrolls only over HTTPS',
    });
  } else {
    let chain: X509Certificate[] | undefined;
    try {
      const fetched = await fetchChain(host, port, timeout);
      chain = fetched.chain;
      serverDate = fetched.date;
    } catch (err) {
      add({
        id: 'tls.connect',
        status: 'fail',
        message: `cannot reach ${host}:${port} over TLS: ${(err as Error).message}`,
        fix: 'start the server (mdm serve) or check the port forward and firewall',
      });
    }
    if (chain && chain.length > 0)
      checkCertificate(chain, config, host, enrollmentName, now(), parseRoots(options.trustedRoots), add);
  }

  checkCa(config, now(), add);
  await checkClock(config, serverDate, now(), timeout, add);
  await checkDatabase(config, add);
  await checkPolicyFolder(config, add);
  await checkPush(config, timeout, add);
  await checkScep(config, now(), timeout, add);
  await checkWebhooks(config, timeout, add);
  return { ok: !checks.some((c) => c.status === 'fail'), checks };
}

function checkCertificate(
  chain: X509Certificate[],
  config: Config,
  host: string,
  enrollmentName: string | undefined,
  now: Date,
  extraRoots: readonly X509Certificate[],
  add: (r: CheckResult) => void,
): void {
  const leaf = chain[0]!;
  const names = [host, ...(enrollmentName && enrollmentName !== host.toLowerCase() ? [enrollmentName] : [])];
  const missing = names.filter((n) => (isIP(n) ? leaf.checkIP(n) : leaf.checkHost(n)) === undefined);
  add(
    missing.length === 0
      ? { id: 'tls.names', status: 'ok', message: `the TLS certificate covers ${names.join(', ')}` }
      : {
          id: 'tls.names',
          status: 'fail',
          message: `the TLS certificate (${cn(leaf.subject)}; ${leaf.subjectAltName ?? 'no subjectAltName'}) does not cover ${missing.join(', ')}`,
          fix: `get a certificate whose subjectAltName includes ${missing.join(' and ')}`,
        },
  );

  const notBefore = Date.parse(leaf.validFrom);
  const notAfter = Date.parse(leaf.validTo);
  if (notAfter < now.getTime())
    add({
      id: 'tls.validity',
      status: 'fail',
      message: `the TLS certificate expired on ${new Date(notAfter).toISOString()}`,
      fix: 'renew it and restart the server (MDM_TLS_CERT / MDM_TLS_KEY)',
    });
  else if (notBefore > now.getTime())
    add({
      id: 'tls.validity',
      status: 'fail',
      message: `the TLS certificate is not valid before ${new Date(notBefore).toISOString()}`,
      fix: 'check the clock of this machine and of the certificate authority',
    });
  else if (notAfter - now.getTime() < 30 * DAY)
    add({
      id: 'tls.validity',
      status: 'warn',
      message: `the TLS certificate expires on ${new Date(notAfter).toISOString()} (in less than 30 days)`,
      fix: 'renew it soon',
    });
  else
    add({
      id: 'tls.validity',
      status: 'ok',
      message: `the TLS certificate is valid until ${new Date(notAfter).toISOString()}`,
    });

  const eku = leaf.keyUsage;
  add(
    eku === undefined
      ? { id: 'tls.eku', status: 'ok', message: 'the TLS certificate has no extendedKeyUsage (any purpose)' }
      : eku.includes(SERVER_AUTH)
        ? {
            id: 'tls.eku',
            status: 'ok',
            message: 'the TLS certificate has the serverAuth extended key usage',
          }
        : {
            id: 'tls.eku',
            status: 'fail',
            message: `the TLS certificate's extendedKeyUsage (${eku.join(', ')}) lacks serverAuth (${SERVER_AUTH})`,
            fix: 'issue a certificate for TLS web server authentication',
          },
  );
  const weak = keyProblem(leaf);
  add(
    weak
      ? {
          id: 'tls.key',
          status: 'fail',
          message: `the TLS certificate has ${weak}`,
          fix: 'issue it for an RSA-2048 or P-256 key',
        }
      : { id: 'tls.key', status: 'ok', message: `the TLS key is ${describeKey(leaf)}` },
  );

  // The chain: each certificate is issued by the next one sent, up to a root.
  for (let i = 0; i + 1 < chain.length; i++) {
    const [c, issuer] = [chain[i]!, chain[i + 1]!];
    if (!c.checkIssued(issuer) || !c.verify(issuer.publicKey)) {
      add({
        id: 'tls.chain',
        status: 'fail',
        message: `certificate ${i + 1} of the chain (${cn(c.subject)}) is not issued by the next one (${cn(issuer.subject)})`,
        fix: 'put the certificates in MDM_TLS_CERT in order: server certificate, then each issuer',
      });
      return;
    }
  }
  const last = chain.at(-1)!;
  const roots = [...publicRoots(), ...extraRoots];
  const development = !config.tlsCert;
  if (selfSigned(last)) {
    const trusted = roots.some((r) => r.fingerprint256 === last.fingerprint256);
    if (trusted)
      add({ id: 'tls.chain', status: 'ok', message: `the full chain is sent, up to ${cn(last.subject)}` });
    else
      add({
        id: 'tls.chain',
        status: development ? 'warn' : 'fail',
        message: development
          ? 'development certificate (self-signed, generated in certsDir): not publicly trusted; Windows enrolls only if it trusts it'
          : `the chain ends at ${cn(last.subject)}, which is not a publicly trusted root (nor one of --trust)`,
        fix: 'for real devices use a publicly trusted certificate (README "Real certificates")',
      });
    return;
  }
  const root = roots.find((r) => last.checkIssued(r) && last.verify(r.publicKey));
  if (root) {
    add({
      id: 'tls.chain',
      status: 'ok',
      message: `the full chain is sent (${chain.length} certificate${chain.length === 1 ? '' : 's'}), up to the trusted root ${cn(root.subject)}`,
    });
    return;
  }
  add({
    id: 'tls.chain',
    status: 'fail',
    message:
      chain.length === 1
        ? `the server sends only its own certificate; its issuer ${cn(last.issuer)} is not sent and not a public root`
        : `the chain ends at ${cn(last.subject)}; its issuer ${cn(last.issuer)} is not sent and not a public root`,
    fix: 'append the intermediate certificates to the file MDM_TLS_CERT names (server certificate first)',
  });
}

function describeKey(cert: X509Certificate): string {
  const key = cert.publicKey;
  const d = key.asymmetricKeyDetails ?? {};
  return key.asymmetricKeyType === 'ec' ? `EC ${d.namedCurve}` : `RSA ${d.modulusLength}`;
}

function checkCa(config: Config, now: Date, add: (r: CheckResult) => void): void {
  const certPath = config.caCert ?? join(config.certsDir, 'ca.crt');
  const keyPath = config.caKey ?? join(config.certsDir, 'ca.key');
  if (!existsSync(certPath) || !existsSync(keyPath)) {
    add({
      id: 'ca',
      status: 'fail',
      message: `no enrollment CA at ${certPath} / ${keyPath}`,
      fix: 'start the server once (it generates a development CA) or set MDM_CA_CERT and MDM_CA_KEY',
    });
    return;
  }
  checkCaFiles(
    {
      id: 'ca',
      label: 'enrollment CA',
      certPath,
      keyPath,
      fix: 'set MDM_CA_CERT and MDM_CA_KEY to a CA certificate (CA:TRUE) and its private key',
    },
    now,
    add,
  );
}

/** A CA certificate and key: CA:TRUE, the key matches and signs, valid now, a strong key; the certificate when readable. */
function checkCaFiles(
  ca: {
    readonly id: string;
    readonly label: string;
    readonly certPath: string;
    readonly keyPath: string;
    readonly fix: string;
    /** SCEP: clients encrypt to the CA's key (RFC 8894 §2.1). */
    readonly rsaOnly?: boolean;
  },
  now: Date,
  add: (r: CheckResult) => void,
): X509Certificate | undefined {
  const { id, label, certPath, keyPath } = ca;
  try {
    const cert = new X509Certificate(readFileSync(certPath));
    const key = createPrivateKey(readFileSync(keyPath));
    const problems: string[] = [];
    if (!cert.ca) problems.push('basicConstraints is not CA:TRUE');
    if (!cert.checkPrivateKey(key)) problems.push(`the key ${keyPath} does not belong to the certificate`);
    else {
      const probe = Buffer.from('mdm doctor signing probe');
      const signature = sign('sha256', probe, key);
      if (!verify('sha256', probe, createPublicKey(key), signature)) problems.push('the key cannot sign');
    }
    if (Date.parse(cert.validTo) < now.getTime()) problems.push(`it expired on ${cert.validTo}`);
    if (Date.parse(cert.validFrom) > now.getTime()) problems.push(`it is not valid before ${cert.validFrom}`);
    const weak = keyProblem(cert);
    if (weak) problems.push(`it has ${weak}`);
    if (ca.rsaOnly && cert.publicKey.asymmetricKeyType !== 'rsa') problems.push('its key is not RSA');
    add(
      problems.length === 0
        ? {
            id,
            status: 'ok',
            message: `${label} ${cn(cert.subject)}: CA:TRUE, ${describeKey(cert)}, key usable, valid until ${new Date(Date.parse(cert.validTo)).toISOString()}`,
          }
        : { id, status: 'fail', message: `${label} ${certPath}: ${problems.join('; ')}`, fix: ca.fix },
    );
    return cert;
  } catch (err) {
    add({ id, status: 'fail', message: `${label} ${certPath}: ${(err as Error).message}`, fix: ca.fix });
    return undefined;
  }
}

async function checkClock(
  config: Config,
  serverDate: string | undefined,
  now: Date,
  timeout: number,
  add: (r: CheckResult) => void,
): Promise<void> {
  const references: { name: string; at: number }[] = [];
  if (serverDate && !Number.isNaN(Date.parse(serverDate)))
    references.push({ name: `the server at ${publicBase(config)}`, at: Date.parse(serverDate) });
  if (isPostgresUrl(config.databaseUrl)) {
    const client = new pg.Client({ connectionString: config.databaseUrl, connectionTimeoutMillis: timeout });
    try {
      await client.connect();
      const r = await client.query<{ now: Date }>('SELECT now() AS now');
      references.push({ name: 'the PostgreSQL server', at: r.rows[0]!.now.getTime() });
    } catch {
      // Reported by the database check.
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  // Certificates are checked against this clock: a year before this version existed is not sane.
  if (now.getUTCFullYear() < 2025) {
    add({ id: 'clock', status: 'fail', message: `the clock says ${now.toISOString()}`, fix: 'enable NTP' });
    return;
  }
  const off = references.filter((r) => Math.abs(r.at - now.getTime()) > MAX_SKEW_MS);
  add(
    off.length > 0
      ? {
          id: 'clock',
          status: 'fail',
          message: `the clock (${now.toISOString()}) differs from ${off.map((r) => `${r.name} (${new Date(r.at).toISOString()})`).join(', ')} by more than 5 minutes`,
          fix: 'enable NTP on every machine (certificates and sign-in tokens depend on it)',
        }
      : {
          id: 'clock',
          status: 'ok',
          message: `the clock says ${now.toISOString()}${references.length ? `, within 5 minutes of ${references.map((r) => r.name).join(' and ')}` : ''}`,
        },
  );
}

async function checkDatabase(config: Config, add: (r: CheckResult) => void): Promise<void> {
  const where = describeDatabase(config);
  if (isPostgresUrl(config.databaseUrl)) {
    const client = new pg.Client({ connectionString: config.databaseUrl, connectionTimeoutMillis: 5000 });
    try {
      await client.connect();
      const r = await client
        .query<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations')
        .catch(() => ({
          rows: [{ v: 0 }],
        }));
      const version = Number(r.rows[0]?.v ?? 0);
      add(
        version === POSTGRES_SCHEMA_VERSION
          ? { id: 'database', status: 'ok', message: `${where}: reachable, schema ${version}` }
          : {
              id: 'database',
              status: 'fail',
              message: `${where}: schema ${version}, this version needs ${POSTGRES_SCHEMA_VERSION}`,
              fix: 'run mdm db migrate',
            },
      );
    } catch (err) {
      add({
        id: 'database',
        status: 'fail',
        message: `${where}: unreachable: ${(err as Error).message}`,
        fix: 'check MDM_DATABASE_URL and that PostgreSQL runs',
      });
    } finally {
      await client.end().catch(() => undefined);
    }
    return;
  }
  const file = sqliteFile(config);
  if (!existsSync(file)) {
    add({
      id: 'database',
      status: 'fail',
      message: `${where}: no database file`,
      fix: 'start the server once (it creates it) or run mdm db migrate',
    });
    return;
  }
  try {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      const version = db.pragma('user_version', { simple: true }) as number;
      add(
        version === SQLITE_SCHEMA_VERSION
          ? { id: 'database', status: 'ok', message: `${where}: reachable, schema ${version}` }
          : {
              id: 'database',
              status: 'fail',
              message: `${where}: schema ${version}, this version needs ${SQLITE_SCHEMA_VERSION}`,
              fix: 'run mdm db migrate',
            },
      );
    } finally {
      db.close();
    }
  } catch (err) {
    add({ id: 'database', status: 'fail', message: `${where}: ${(err as Error).message}` });
  }
}

async function checkPolicyFolder(config: Config, add: (r: CheckResult) => void): Promise<void> {
  if (!existsSync(config.policyDir)) {
    add({ id: 'policies', status: 'skip', message: `no policy folder at ${config.policyDir}` });
    return;
  }
  const result = await checkPath(config.policyDir, defaultCatalog());
  const errors = result.issues.filter((i) => i.severity === 'error');
  add(
    result.ok
      ? { id: 'policies', status: 'ok', message: `policy folder ${config.policyDir}: ${result.summary}` }
      : {
          id: 'policies',
          status: 'fail',
          message: `policy folder ${config.policyDir}: ${errors.length} error(s)`,
          fix: `run mdm policy check ${config.policyDir}`,
        },
  );
}

const MAX_ANSWER_BYTES = 256 * 1024;

/** One request without redirects; `ca` replaces the trusted roots, as the sender's does. */
const exchange = (
  url: URL,
  options: Omit<HttpExchangeOptions, 'maxAnswerBytes'>,
): Promise<HttpExchangeAnswer> =>
  httpExchange(url, { ...options, maxAnswerBytes: MAX_ANSWER_BYTES }).catch((err: Error) => {
    throw new Error(`${options.method} ${url.origin}${url.pathname}: ${err.message}`);
  });

/** A URL as doctor prints it: scheme, host and port only (a path or query may hold a token). */
const shownUrl = (url: URL) => `${url.origin}${url.pathname === '/' && !url.search ? '' : '/…'}`;

/** WNS (`MDM_WNS_*`): the token endpoint issues an access token for the configured credentials. */
async function checkPush(config: Config, timeout: number, add: (r: CheckResult) => void): Promise<void> {
  if (!config.wnsPfn || !config.wnsClientId || !config.wnsClientSecret) {
    add({
      id: 'push',
      status: 'skip',
      message: 'push: not configured (MDM_WNS_PFN, MDM_WNS_CLIENT_ID, MDM_WNS_CLIENT_SECRET)',
    });
    return;
  }
  const tokenUrl = new URL(config.wnsTokenUrl);
  const where = `WNS token endpoint ${tokenUrl.origin}${tokenUrl.pathname}`;
  let ca: string | undefined;
  if (config.wnsCaFile) {
    try {
      ca = readFileSync(config.wnsCaFile, 'utf8');
    } catch (err) {
      add({
        id: 'push',
        status: 'fail',
        message: `MDM_WNS_CA_FILE ${config.wnsCaFile}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`,
        fix: 'point MDM_WNS_CA_FILE at a readable PEM file, or unset it',
      });
      return;
    }
  }
  let answer: HttpExchangeAnswer;
  try {
    answer = await exchange(tokenUrl, {
      method: 'POST',
      headers: { 'Content-Type': WNS_TOKEN_CONTENT_TYPE, Accept: 'application/json' },
      body: wnsTokenRequestBody(config.wnsClientId, config.wnsClientSecret),
      ...(ca && { ca }),
      timeoutMs: timeout,
    });
  } catch (err) {
    add({
      id: 'push',
      status: 'fail',
      message: `cannot reach ${where}: ${(err as Error).message}`,
      fix: `allow HTTPS from this machine to ${tokenUrl.host} (proxy, firewall); behind a TLS-inspecting proxy set MDM_WNS_CA_FILE`,
    });
    return;
  }
  const token = parseWnsTokenAnswer(answer.status, answer.body.toString('utf8'));
  if (token.ok) {
    add({
      id: 'push',
      status: 'ok',
      message: `${where} issues access tokens for ${config.wnsClientId}`,
    });
    return;
  }
  const refused = answer.status === 400 || answer.status === 401 || answer.status === 403;
  add({
    id: 'push',
    status: 'fail',
    message: refused ? `${where} refuses the client credentials: ${token.error}` : `${where}: ${token.error}`,
    fix: refused
      ? 'set MDM_WNS_CLIENT_ID to the Package SID (ms-app://s-1-15-2-…) and MDM_WNS_CLIENT_SECRET to the client secret of the app registration'
      : 'check MDM_WNS_TOKEN_URL (default https://login.live.com/accesstoken.srf)',
  });
}

/**
 * SCEP (RFC 8894): the issuing CA is a usable RSA CA (requests are encrypted to its key, §2.1), and
 * the endpoint under MDM_PUBLIC_URL answers GetCACaps (§3.5.2) and GetCACert (§4.2) with that CA.
 */
async function checkScep(
  config: Config,
  now: Date,
  timeout: number,
  add: (r: CheckResult) => void,
): Promise<void> {
  const certPath = config.scepCaCert ?? join(config.certsDir, 'scep-ca.crt');
  const keyPath = config.scepCaKey ?? join(config.certsDir, 'scep-ca.key');
  if (!config.scepCaCert && !existsSync(certPath) && !existsSync(keyPath)) {
    add({
      id: 'scep',
      status: 'skip',
      message: `SCEP: not configured (no MDM_SCEP_CA_CERT, and no ${certPath} yet: the server generates it at its first start)`,
    });
    return;
  }
  const ca = checkCaFiles(
    {
      id: 'scep.ca',
      label: 'SCEP CA',
      certPath,
      keyPath,
      rsaOnly: true,
      fix: 'set MDM_SCEP_CA_CERT and MDM_SCEP_CA_KEY to an RSA CA certificate (CA:TRUE) and its private key',
    },
    now,
    add,
  );

  const base = `${publicBase(config)}${config.scepPath}`;
  const fail = (message: string, fix: string) => add({ id: 'scep.endpoint', status: 'fail', message, fix });
  const reachFix = `check that ${base} reaches the server (MDM_SCEP_PATH, the proxy's forwarded paths)`;
  try {
    const caps = await exchange(new URL(`${base}?operation=GetCACaps`), {
      method: 'GET',
      anyCertificate: true,
      timeoutMs: timeout,
    });
    const list = caps.body
      .toString('utf8')
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter(Boolean);
    if (caps.status !== 200 || list.length === 0) {
      fail(
        `SCEP GetCACaps at ${base} answered ${caps.status}${list.length ? '' : ' without capabilities'}`,
        reachFix,
      );
      return;
    }
    const cert = await exchange(new URL(`${base}?operation=GetCACert`), {
      method: 'GET',
      anyCertificate: true,
      timeoutMs: timeout,
    });
    if (cert.status !== 200) {
      fail(`SCEP GetCACert at ${base} answered ${cert.status}`, reachFix);
      return;
    }
    let served: X509Certificate;
    try {
      served = new X509Certificate(cert.body);
    } catch {
      fail(`SCEP GetCACert at ${base} answered no certificate`, reachFix);
      return;
    }
    if (ca && served.fingerprint256 !== ca.fingerprint256) {
      add({
        id: 'scep.endpoint',
        status: 'fail',
        message: `SCEP at ${base} serves CA ${cn(served.subject)}, not ${certPath} (${cn(ca.subject)})`,
        fix: 'restart the server after changing MDM_SCEP_CA_CERT, or point doctor at the same configuration',
      });
      return;
    }
    add({
      id: 'scep.endpoint',
      status: 'ok',
      message: `SCEP at ${base} answers GetCACaps (${list.join(', ')}) and GetCACert (${cn(served.subject)})`,
    });
  } catch (err) {
    fail(`cannot reach SCEP at ${base}: ${(err as Error).message}`, reachFix);
  }
}

/** Webhook endpoints: each answers HTTP (a HEAD request, no event is sent). */
async function checkWebhooks(config: Config, timeout: number, add: (r: CheckResult) => void): Promise<void> {
  if (config.webhooks.length === 0) {
    add({ id: 'webhooks', status: 'skip', message: 'webhooks: not configured (MDM_WEBHOOKS)' });
    return;
  }
  for (const [i, hook] of config.webhooks.entries()) {
    const id = `webhooks.${i + 1}`;
    const url = new URL(hook.url);
    const shown = `webhook ${i + 1} (${shownUrl(url)})`;
    try {
      // As deliveries are sent: the system's trusted roots, redirects not followed.
      const res = await fetch(url, {
        method: 'HEAD',
        redirect: 'manual',
        signal: AbortSignal.timeout(timeout),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.status >= 300 && res.status < 400)
        add({
          id,
          status: 'warn',
          message: `${shown} answers HEAD with a redirect (${res.status}); deliveries do not follow redirects`,
          fix: 'configure the URL the redirect points to',
        });
      else if (res.status >= 500)
        add({
          id,
          status: 'warn',
          message: `${shown} is reachable but answers ${res.status}`,
          fix: 'check the receiving service',
        });
      else add({ id, status: 'ok', message: `${shown} is reachable (HTTP ${res.status} to HEAD)` });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      const why =
        e.name === 'TimeoutError' ? `no answer within ${timeout} ms` : (e.cause?.message ?? e.message);
      add({
        id,
        status: 'fail',
        message: `cannot reach ${shown}: ${why}`,
        fix: 'check the URL in MDM_WEBHOOKS, that the receiver runs, DNS and the firewall, and that its TLS certificate is publicly trusted',
      });
    }
  }
}
