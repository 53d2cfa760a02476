// The HTTPS server certificate. Configured (MDM_TLS_CERT + MDM_TLS_KEY) or, in development,
// a self-signed certificate from `selfsigned` kept in the certs folder. The development
// certificate covers localhost, 127.0.0.1, ::1, the public host and the
// `enterpriseenrollment.<domain>` names Windows discovery uses (docs/protocol-notes.md#enrollment-flow); it is
// regenerated when the public host changes.

import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { generate } from 'selfsigned';

export interface TlsMaterial {
  readonly cert: string;
  readonly key: string;
  readonly origin: 'generated' | 'configured';
  readonly created: boolean;
  readonly certPath: string;
  readonly keyPath: string;
  /** Names the certificate covers (development certificate only). */
  readonly hosts: readonly string[];
}

export interface LoadTlsOptions {
  certsDir: string;
  /** Host name of the public URL. */
  publicHost: string;
  tlsCert?: string;
  tlsKey?: string;
}

/** Host names and addresses the development certificate must cover. */
export function devTlsHosts(publicHost: string): string[] {
  const hosts = ['localhost', '127.0.0.1', '::1', publicHost];
  if (!isIP(publicHost)) {
    const labels = publicHost.split('.');
    if (labels[0]?.toLowerCase() !== 'enterpriseenrollment') {
      hosts.push(`enterpriseenrollment.${publicHost}`);
      if (labels.length > 2) hosts.push(`enterpriseenrollment.${labels.slice(1).join('.')}`);
    }
  }
  return [...new Set(hosts.map((h) => h.toLowerCase()))];
}

export async function loadOrCreateTls(options: LoadTlsOptions): Promise<TlsMaterial> {
  if (options.tlsCert && options.tlsKey) {
    return {
      cert: readFileSync(options.tlsCert, 'utf8'),
      key: readFileSync(options.tlsKey, 'utf8'),
      origin: 'configured',
      created: false,
      certPath: options.tlsCert,
      keyPath: options.tlsKey,
      hosts: [],
    };
  }
  const certPath = join(options.certsDir, 'tls.crt');
  const keyPath = join(options.certsDir, 'tls.key');
  const hosts = devTlsHosts(options.publicHost);
  if (existsSync(certPath) && existsSync(keyPath)) {
    const cert = readFileSync(certPath, 'utf8');
    if (covers(cert, hosts)) {
      return {
        cert,
        key: readFileSync(keyPath, 'utf8'),
        origin: 'generated',
        created: false,
        certPath,
        keyPath,
        hosts,
      };
    }
  }
  mkdirSync(options.certsDir, { recursive: true });
  const now = new Date();
  const pems = await generate([{ name: 'commonName', value: options.publicHost }], {
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate: new Date(now.getTime() - 60 * 60 * 1000),
    notAfterDate: new Date(now.getTime() + 825 * 24 * 60 * 60 * 1000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: hosts.map((h) => (isIP(h) ? { type: 7 as const, ip: h } : { type: 2 as const, value: h })),
      },
    ],
  });
  writeFileSync(keyPath, pems.private, { mode: 0o600 });
  writeFileSync(certPath, pems.cert, { mode: 0o644 });
  return { cert: pems.cert, key: pems.private, origin: 'generated', created: true, certPath, keyPath, hosts };
}

function covers(pem: string, hosts: readonly string[]): boolean {
  try {
    const x509 = new X509Certificate(pem);
    if (Date.parse(x509.validTo) < Date.now()) return false;
    return hosts.every((h) => (isIP(h) ? x509.checkIP(h) : x509.checkHost(h)) !== undefined);
  } catch {
    return false;
  }
}
