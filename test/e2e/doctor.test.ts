// `mdm doctor` against real listeners: the development deployment, and servers with certificates
// made here with node-forge (root → intermediate → server): a healthy chain, an expired one, one
// without the enterpriseenrollment name, and one sent without its intermediate.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/index.js';
import { type DoctorReport, runDoctor } from '../../src/doctor/doctor.js';
import { captureCli } from '../support/cli.js';
import { startTestServer, type TestServer } from '../support/server.js';

const DAY = 86_400_000;

interface Issued {
  cert: forge.pki.Certificate;
  key: forge.pki.rsa.PrivateKey;
  pem: string;
  keyPem: string;
}

function issue(options: {
  cn: string;
  issuer?: Issued;
  ca?: boolean;
  names?: string[];
  notBefore?: Date;
  notAfter?: Date;
}): Issued {
  const keys = forge.pki.rsa.generateKeyPair(2048);
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  // A positive DER INTEGER without a leading zero byte: first byte 0x01–0x7f.
  cert.serialNumber = `01${forge.util.bytesToHex(forge.random.getBytesSync(8))}`;
  cert.validity.notBefore = options.notBefore ?? new Date(Date.now() - DAY);
  cert.validity.notAfter = options.notAfter ?? new Date(Date.now() + 365 * DAY);
  const subject = [{ name: 'commonName', value: options.cn }];
  cert.setSubject(subject);
  cert.setIssuer(options.issuer ? options.issuer.cert.subject.attributes : subject);
  cert.setExtensions(
    options.ca
      ? [
          { name: 'basicConstraints', cA: true, critical: true },
          { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
        ]
      : [
          { name: 'basicConstraints', cA: false },
          { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
          { name: 'extKeyUsage', serverAuth: true },
          {
            name: 'subjectAltName',
            altNames: (options.names ?? []).map((n) =>
              /^\d+\.\d+\.\d+\.\d+$/.test(n) ? { type: 7, ip: n } : { type: 2, value: n },
            ),
          },
        ],
  );
  cert.sign(options.issuer?.key ?? keys.privateKey, forge.md.sha256.create());
  return {
    cert,
    key: keys.privateKey,
    pem: forge.pki.certificateToPem(cert),
    keyPem: forge.pki.privateKeyToPem(keys.privateKey),
  };
}

const byId = (report: DoctorReport) => Object.fromEntries(report.checks.map((c) => [c.id, c]));

describe('mdm doctor', () => {
  const root = mkdtempSync(join(tmpdir(), 'mdm-doctor-'));
  const servers: TestServer[] = [];
  let ca: Issued;
  let intermediate: Issued;
  const resolve = async (host: string) => {
    if (host === 'enterpriseenrollment.contoso.com') return ['127.0.0.1'];
    throw new Error(`getaddrinfo ENOTFOUND ${host}`);
  };

  /** A server whose TLS certificate file holds `pems` (server certificate first). */
  async function serverWith(name: string, leaf: Issued, pems: string[]): Promise<TestServer> {
    const certFile = join(root, `${name}.crt`);
    const keyFile = join(root, `${name}.key`);
    writeFileSync(certFile, pems.join(''));
    writeFileSync(keyFile, leaf.keyPem);
    const server = await startTestServer({ tlsCert: certFile, tlsKey: keyFile });
    servers.push(server);
    return server;
  }

  beforeAll(() => {
    ca = issue({ cn: 'Contoso Test Root', ca: true, notAfter: new Date(Date.now() + 3650 * DAY) });
    intermediate = issue({ cn: 'Contoso Test Issuing CA', ca: true, issuer: ca });
  });
  afterAll(async () => {
    for (const s of servers) await s.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('passes a healthy development deployment and flags its certificate as not publicly trusted', async () => {
    const server = await startTestServer();
    servers.push(server);
    const config = join(root, 'dev.yaml');
    writeFileSync(config, server.configYaml(`publicUrl: ${server.url}\n`));
    const run = await captureCli(() => main(['node', 'mdm', '--config', config, 'doctor']));
    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    const lines = run.out.trimEnd().split('\n');
    for (const line of lines) expect(line).toMatch(/^(ok {2}|WARN|FAIL|skip) [a-z.-]+ +\S/);
    expect(run.out).toMatch(/^ok {3}dns\.public-url .*127\.0\.0\.1 is an address$/m);
    expect(run.out).toMatch(/^ok {3}tls\.names .*covers 127\.0\.0\.1$/m);
    expect(run.out).toMatch(/^ok {3}tls\.eku /m);
    expect(run.out).toMatch(/^ok {3}tls\.key .*RSA 2048$/m);
    expect(run.out).toMatch(/^WARN tls\.chain .*development certificate.*not publicly trusted/m);
    expect(run.out).toMatch(/^ok {3}ca .*CA:TRUE, RSA 2048, key usable/m);
    expect(run.out).toMatch(/^ok {3}clock .*within 5 minutes of the server/m);
    expect(run.out).toMatch(/^ok {3}database .*SQLite .*schema \d+$/m);
    expect(run.out).toMatch(/^skip dns\.enrollment .*--upn/m);

    const json = await captureCli(() => main(['node', 'mdm', '--config', config, 'doctor', '--json']));
    const report = JSON.parse(json.out) as DoctorReport;
    expect(report.ok).toBe(true);
    expect(byId(report)['tls.chain']).toMatchObject({ status: 'warn' });

    // With a UPN whose enterpriseenrollment name does not resolve: exit 1 and what to add.
    const upn = await captureCli(() =>
      main(['node', 'mdm', '--config', config, 'doctor', '--upn', 'user@example.invalid']),
    );
    expect(upn.code).toBe(1);
    expect(upn.out).toMatch(
      /^FAIL dns\.enrollment +enterpriseenrollment\.example\.invalid does not resolve: .* — fix: add a DNS record: enterpriseenrollment\.example\.invalid CNAME 127\.0\.0\.1/m,
    );
  });

  it('passes a full chain to a trusted root covering enterpriseenrollment.<domain>', async () => {
    const leaf = issue({
      cn: 'enterpriseenrollment.contoso.com',
      issuer: intermediate,
      names: ['enterpriseenrollment.contoso.com', '127.0.0.1'],
    });
    const server = await serverWith('good', leaf, [leaf.pem, intermediate.pem]);
    const report = await runDoctor(server.config, { upn: 'user@contoso.com', resolve, trustedRoots: ca.pem });
    const checks = byId(report);
    expect(checks['dns.enrollment']).toMatchObject({ status: 'ok' });
    expect(checks['tls.names']).toMatchObject({
      status: 'ok',
      message: 'the TLS certificate covers 127.0.0.1, enterpriseenrollment.contoso.com',
    });
    expect(checks['tls.chain']).toMatchObject({
      status: 'ok',
      message: 'the full chain is sent (2 certificates), up to the trusted root Contoso Test Root',
    });
    expect(report.checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(report.ok).toBe(true);
    // The same chain without the root among the trusted ones: not publicly trusted.
    const untrusted = byId(await runDoctor(server.config, { upn: 'user@contoso.com', resolve }));
    expect(untrusted['tls.chain']).toMatchObject({ status: 'fail' });
    expect(untrusted['tls.chain']!.message).toMatch(
      /issuer Contoso Test Root is not sent and not a public root/,
    );
  });

  it('fails an expired certificate', async () => {
    const leaf = issue({
      cn: 'enterpriseenrollment.contoso.com',
      issuer: intermediate,
      names: ['enterpriseenrollment.contoso.com', '127.0.0.1'],
      notBefore: new Date(Date.now() - 400 * DAY),
      notAfter: new Date(Date.now() - 2 * DAY),
    });
    const server = await serverWith('expired', leaf, [leaf.pem, intermediate.pem]);
    const report = await runDoctor(server.config, { upn: 'user@contoso.com', resolve, trustedRoots: ca.pem });
    expect(report.ok).toBe(false);
    const validity = byId(report)['tls.validity']!;
    expect(validity.status).toBe('fail');
    expect(validity.message).toMatch(/^the TLS certificate expired on \d{4}-\d\d-\d\dT/);
    expect(validity.fix).toMatch(/renew/);
    expect(byId(report)['tls.names']).toMatchObject({ status: 'ok' });
  });

  it('fails a certificate without the enterpriseenrollment name', async () => {
    const leaf = issue({
      cn: 'mdm.contoso.com',
      issuer: intermediate,
      names: ['mdm.contoso.com', '127.0.0.1'],
    });
    const server = await serverWith('noname', leaf, [leaf.pem, intermediate.pem]);
    const report = await runDoctor(server.config, { upn: 'user@contoso.com', resolve, trustedRoots: ca.pem });
    expect(report.ok).toBe(false);
    const names = byId(report)['tls.names']!;
    expect(names.status).toBe('fail');
    expect(names.message).toMatch(/does not cover enterpriseenrollment\.contoso\.com$/);
    expect(names.fix).toBe(
      'get a certificate whose subjectAltName includes enterpriseenrollment.contoso.com',
    );
    expect(byId(report)['tls.chain']).toMatchObject({ status: 'ok' });
  });

  it('fails a server that does not send its intermediate certificate', async () => {
    const leaf = issue({
      cn: 'enterpriseenrollment.contoso.com',
      issuer: intermediate,
      names: ['enterpriseenrollment.contoso.com', '127.0.0.1'],
    });
    const server = await serverWith('nochain', leaf, [leaf.pem]);
    const config = join(root, 'nochain.yaml');
    writeFileSync(
      config,
      server.configYaml(
        `publicUrl: ${server.url}\ntlsCert: ${join(root, 'nochain.crt')}\ntlsKey: ${join(root, 'nochain.key')}\n`,
      ),
    );
    const trust = join(root, 'root.pem');
    writeFileSync(trust, ca.pem);
    const run = await captureCli(() => main(['node', 'mdm', '--config', config, 'doctor', '--trust', trust]));
    expect(run.code).toBe(1);
    expect(run.out).toMatch(
      /^FAIL tls\.chain +the server sends only its own certificate; its issuer Contoso Test Issuing CA is not sent and not a public root — fix: append the intermediate certificates/m,
    );
  });
});
