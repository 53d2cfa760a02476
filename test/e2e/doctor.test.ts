// `mdm doctor` against real listeners: the development deployment, and servers with certificates
// made here with node-forge (root → intermediate → server): a healthy chain, an expired one, one
// without the enterpriseenrollment name, and one sent without its intermediate; then push (a local
// WNS stand-in), the server's own SCEP endpoint and webhook receivers, each healthy and failing.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/index.js';
import type { Config } from '../../src/config.js';
import { type DoctorReport, runDoctor } from '../../src/doctor/doctor.js';
import { WnsStandIn } from '../../src/simulator/wns.js';
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
    expect(run.out).toMatch(/^skip push +push: not configured/m);
    expect(run.out).toMatch(/^skip webhooks +webhooks: not configured/m);
    expect(run.out).toMatch(/^ok {3}scep\.ca +SCEP CA .*CA:TRUE, RSA 2048, key usable/m);
    expect(run.out).toMatch(
      /^ok {3}scep\.endpoint +SCEP at .*\/scep answers GetCACaps \(POSTPKIOperation, /m,
    );

    const json = await captureCli(() => main(['node', 'mdm', '--config', config, 'doctor', '--json']));
    const report = JSON.parse(json.out) as DoctorReport;
    expect(report.ok).toBe(true);
    expect(byId(report)['tls.chain']).toMatchObject({ status: 'warn' });
    expect(report.checks.map((c) => c.id)).toEqual(
      expect.arrayContaining(['push', 'scep.ca', 'scep.endpoint', 'webhooks']),
    );

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

/** The checks of a report whose id starts with `prefix`. */
const only = (report: DoctorReport, prefix: string) => report.checks.filter((c) => c.id.startsWith(prefix));

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

describe('mdm doctor: push, SCEP and webhooks', () => {
  const CLIENT_ID =
    'ms-app://s-1-15-2-1111111111-2222222222-3333333333-4444444444-5555555555-6666666666-7777777777';
  const SECRET = 'wns-doctor-secret-Q7';
  const root = mkdtempSync(join(tmpdir(), 'mdm-doctor-ext-'));
  let server: TestServer;
  let wns: WnsStandIn;
  let receiver: Server;
  let receiverUrl: string;
  const received: string[] = [];
  let receiverStatus = 204;

  beforeAll(async () => {
    server = await startTestServer();
    wns = await new WnsStandIn({
      clientId: CLIENT_ID,
      clientSecret: SECRET,
      pfn: 'Contoso.Mdm_8wekyb3d8bbwe',
    }).start();
    writeFileSync(join(root, 'wns-ca.pem'), wns.cert);
    receiver = createServer((req, res) => {
      received.push(req.method ?? '');
      req.resume();
      res.writeHead(receiverStatus).end();
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/mdm?token=abc`;
  });
  afterAll(async () => {
    await server?.close();
    await wns?.close();
    await new Promise((r) => receiver?.close(r));
    rmSync(root, { recursive: true, force: true });
  });

  const withPush = (overrides: Partial<Config> = {}): Config => ({
    ...server.config,
    publicUrl: server.url,
    wnsPfn: 'Contoso.Mdm_8wekyb3d8bbwe',
    wnsClientId: CLIENT_ID,
    wnsClientSecret: SECRET,
    wnsTokenUrl: wns.tokenUrl,
    wnsCaFile: join(root, 'wns-ca.pem'),
    ...overrides,
  });

  it('checks the WNS token endpoint with the client credentials', async () => {
    const good = byId(await runDoctor(withPush()));
    expect(good.push).toMatchObject({
      status: 'ok',
      message: `WNS token endpoint ${new URL(wns.tokenUrl).origin}/accesstoken.srf issues access tokens for ${CLIENT_ID}`,
    });
    expect(wns.tokenRequests.at(-1)).toEqual({ clientId: CLIENT_ID, ok: true });

    const wrong = await runDoctor(withPush({ wnsClientSecret: 'not-the-secret-1' }));
    expect(wrong.ok).toBe(false);
    expect(byId(wrong).push).toMatchObject({
      status: 'fail',
      message: expect.stringMatching(
        /refuses the client credentials: token endpoint answered 401 \(invalid_client\)$/,
      ),
      fix: expect.stringMatching(/MDM_WNS_CLIENT_ID .*MDM_WNS_CLIENT_SECRET/),
    });
    // The secret is never shown.
    expect(JSON.stringify(wrong)).not.toContain('not-the-secret-1');
    expect(JSON.stringify(wrong)).not.toContain(SECRET);

    // Untrusted certificate (no MDM_WNS_CA_FILE) and nothing listening.
    const untrusted = byId(await runDoctor(withPush({ wnsCaFile: undefined })));
    expect(untrusted.push).toMatchObject({
      status: 'fail',
      message: expect.stringMatching(/^cannot reach WNS token endpoint/),
    });
    const port = await closedPort();
    const down = byId(
      await runDoctor(withPush({ wnsTokenUrl: `https://127.0.0.1:${port}/accesstoken.srf` })),
    );
    expect(down.push).toMatchObject({
      status: 'fail',
      message: expect.stringMatching(
        /^cannot reach WNS token endpoint https:\/\/127\.0\.0\.1:\d+\/accesstoken\.srf: .*ECONNREFUSED/,
      ),
      fix: expect.stringMatching(/MDM_WNS_CA_FILE/),
    });
  });

  it('checks the SCEP CA and the endpoint under the public URL', async () => {
    const good = await runDoctor({ ...server.config, publicUrl: server.url });
    expect(only(good, 'scep').map((c) => [c.id, c.status])).toEqual([
      ['scep.ca', 'ok'],
      ['scep.endpoint', 'ok'],
    ]);
    // A path the server does not serve.
    const wrongPath = byId(
      await runDoctor({ ...server.config, publicUrl: server.url, scepPath: '/not-scep' }),
    );
    expect(wrongPath['scep.endpoint']).toMatchObject({
      status: 'fail',
      message: expect.stringMatching(/^SCEP GetCACaps at .*\/not-scep answered 404/),
      fix: expect.stringMatching(/MDM_SCEP_PATH/),
    });
    // An expired SCEP CA in the configuration (not the one the server serves).
    const expired = issue({
      cn: 'Expired SCEP CA',
      ca: true,
      notBefore: new Date(Date.now() - 400 * DAY),
      notAfter: new Date(Date.now() - DAY),
    });
    writeFileSync(join(root, 'scep-old.crt'), expired.pem);
    writeFileSync(join(root, 'scep-old.key'), expired.keyPem);
    const old = await runDoctor({
      ...server.config,
      publicUrl: server.url,
      scepCaCert: join(root, 'scep-old.crt'),
      scepCaKey: join(root, 'scep-old.key'),
    });
    expect(old.ok).toBe(false);
    expect(byId(old)['scep.ca']).toMatchObject({
      status: 'fail',
      message: expect.stringMatching(/^SCEP CA .*scep-old\.crt: it expired on /),
      fix: expect.stringMatching(/MDM_SCEP_CA_CERT/),
    });
    expect(byId(old)['scep.endpoint']).toMatchObject({
      status: 'fail',
      message: expect.stringMatching(
        /serves CA Open Windows MDM Development SCEP CA, not .*\(Expired SCEP CA\)$/,
      ),
    });
    // Nothing listening at the public URL.
    const port = await closedPort();
    const down = byId(await runDoctor({ ...server.config, publicUrl: `https://127.0.0.1:${port}` }));
    expect(down['scep.endpoint']).toMatchObject({
      status: 'fail',
      message: expect.stringMatching(/^cannot reach SCEP at /),
    });
    // Not configured: no SCEP CA yet.
    const empty = mkdtempSync(join(root, 'certs-'));
    const none = byId(await runDoctor({ ...server.config, certsDir: empty }));
    expect(none.scep).toMatchObject({
      status: 'skip',
      message: expect.stringMatching(/^SCEP: not configured/),
    });
  });

  it('checks that every webhook endpoint answers, without sending an event', async () => {
    const port = await closedPort();
    const webhooks = [
      { url: receiverUrl, secret: 'whsec-doctor-secret-1', events: [] },
      { url: `http://127.0.0.1:${port}/gone`, secret: 'whsec-doctor-secret-2', events: [] },
    ];
    const report = await runDoctor({ ...server.config, publicUrl: server.url, webhooks });
    expect(only(report, 'webhooks')).toEqual([
      {
        id: 'webhooks.1',
        status: 'ok',
        message: `webhook 1 (${new URL(receiverUrl).origin}/…) is reachable (HTTP 204 to HEAD)`,
      },
      {
        id: 'webhooks.2',
        status: 'fail',
        message: expect.stringMatching(
          /^cannot reach webhook 2 \(http:\/\/127\.0\.0\.1:\d+\/…\): .*ECONNREFUSED/,
        ),
        fix: expect.stringMatching(/MDM_WEBHOOKS/),
      },
    ]);
    expect(report.ok).toBe(false);
    // Only a HEAD arrived: no event was delivered; neither the path's token nor a secret is shown.
    expect(received).toEqual(['HEAD']);
    expect(JSON.stringify(report)).not.toMatch(/token=abc|whsec-doctor/);

    // A receiver that is up but failing is a warning.
    receiverStatus = 503;
    const failing = byId(
      await runDoctor({ ...server.config, publicUrl: server.url, webhooks: [webhooks[0]!] }),
    );
    expect(failing['webhooks.1']).toMatchObject({
      status: 'warn',
      message: expect.stringMatching(/answers 503$/),
    });
  });

  it('prints the checks in --json and exits 1 when one fails', async () => {
    const config = join(root, 'ext.yaml');
    writeFileSync(
      config,
      server.configYaml(
        `publicUrl: ${server.url}\nwnsPfn: Contoso.Mdm_8wekyb3d8bbwe\nwnsClientId: "${CLIENT_ID}"\nwnsClientSecret: wrong-secret-xyz\nwnsTokenUrl: ${wns.tokenUrl}\nwnsCaFile: ${join(root, 'wns-ca.pem')}\n`,
      ),
    );
    const run = await captureCli(() => main(['node', 'mdm', '--config', config, 'doctor', '--json']));
    expect(run.code).toBe(1);
    const report = JSON.parse(run.out) as DoctorReport;
    expect(byId(report).push).toMatchObject({ status: 'fail' });
    expect(byId(report)['scep.endpoint']).toMatchObject({ status: 'ok' });
    expect(run.out).not.toContain('wrong-secret-xyz');
    const text = await captureCli(() => main(['node', 'mdm', '--config', config, 'doctor']));
    expect(text.out).toMatch(
      /^FAIL push +WNS token endpoint .* refuses the client credentials: .* — fix: set MDM_WNS_CLIENT_ID/m,
    );
  });
});
