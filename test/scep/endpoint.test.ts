// The SCEP endpoint (RFC 8894) with the project's own client: SAN binding, tampered signatures,
// CertPoll, GET PKIOperation, unreadable messages, revocation (admin API and CLI) and the CRL.
import { createHash, generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import request from 'supertest';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { main } from '../../src/cli/index.js';
import {
  envelope,
  MESSAGE_TYPES,
  parseCertificate,
  readCertRep,
  signRequest,
} from '../../src/codec/scep/cms.js';
import { createApiToken } from '../../src/reporting/api-tokens.js';
import { createScepChallenge } from '../../src/scep/service.js';
import { buildCsr, scepEnrol, scepHttp, selfSigned } from '../../src/simulator/scep-client.js';
import { describeBackends } from '../support/backends.js';
import { captureCli } from '../support/cli.js';
import { startTestServer, type TestServer } from '../support/server.js';

const ISSUANCE = { validityDays: 10, keyUsage: ['digitalSignature'], ekus: ['1.3.6.1.5.5.7.3.2'] };

describeBackends('SCEP endpoint', (backend) => {
  let server: TestServer;
  let scepUrl: string;
  let agent: ReturnType<typeof request.agent>;

  beforeAll(async () => {
    server = await startTestServer({ scepPath: '/pki/scep' }, { backend });
    scepUrl = `${server.url}/pki/scep`;
    agent = request.agent(server.url).ca(server.tlsCertPem!);
  });
  afterAll(async () => server?.close());

  const challenge = (deviceId: string, subject: string, san: string[] = []) =>
    createScepChallenge(server.storage, {
      deviceId,
      profile: 'vpn',
      subject,
      san,
      issuance: ISSUANCE,
      ttlMinutes: 60,
    });

  it('answers GetCACaps and GetCACert at the configured path', async () => {
    const caps = await agent.get('/pki/scep').query({ operation: 'GetCACaps' });
    expect(caps.status).toBe(200);
    expect(caps.text.trim().split('\n')).toEqual(
      expect.arrayContaining(['POSTPKIOperation', 'Renewal', 'SHA-256', 'AES']),
    );
    const ca = await agent.get('/pki/scep').query({ operation: 'GetCACert' }).buffer(true).parse(binary);
    expect(ca.status).toBe(200);
    expect(ca.headers['content-type']).toBe('application/x-x509-ca-cert');
    expect(new X509Certificate(ca.body as Buffer).ca).toBe(true);
    expect((await agent.get('/pki/scep').query({ operation: 'Nope' })).status).toBe(400);
    expect((await agent.get('/scep').query({ operation: 'GetCACaps' })).status).toBe(404);
  });

  it('issues with the SAN the challenge names, with the profile key usage and EKUs', async () => {
    const { challenge: c } = await challenge('dev-a', 'CN=dev-a,O=Example', [
      'dns:dev-a.example.com',
      'upn:ann@example.com',
    ]);
    const result = await scepEnrol({
      url: scepUrl,
      tlsCa: server.tlsCertPem,
      subject: 'CN=dev-a,O=Example',
      san: ['upn:ann@example.com', 'dns:dev-a.example.com'],
      challenge: c,
      caThumbprint: server.scepCa.thumbprint,
    });
    expect(result.failInfoText).toBeUndefined();
    expect(result.status).toBe('SUCCESS');
    const cert = new X509Certificate(result.certificate!);
    expect(cert.subjectAltName).toContain('DNS:dev-a.example.com');
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect(cert.checkIssued(new X509Certificate(server.scepCa.der))).toBe(true);
    const days = (Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / 86_400_000;
    expect(Math.round(days * 24)).toBe(10 * 24 + 1);
    expect((await server.storage.scep.findCertificateByThumbprint(result.thumbprint!))?.deviceId).toBe(
      'dev-a',
    );
  });

  it('refuses a SAN the challenge does not name', async () => {
    const { challenge: c } = await challenge('dev-b', 'CN=dev-b', ['dns:dev-b.example.com']);
    const result = await scepEnrol({
      url: scepUrl,
      tlsCa: server.tlsCertPem,
      subject: 'CN=dev-b',
      san: ['dns:evil.example.com'],
      challenge: c,
    });
    expect(result).toMatchObject({ status: 'FAILURE', failInfo: 'badRequest' });
    expect(result.failInfoText).toContain('evil.example.com');
  });

  it('refuses a pkiMessage whose signature was tampered with (badMessageCheck), and audits it', async () => {
    const { challenge: c } = await challenge('dev-c', 'CN=dev-c');
    const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const caDer = server.scepCa.der;
    const csr = await buildCsr({ subject: 'CN=dev-c', challenge: c, ...keys });
    const self = await selfSigned('CN=dev-c', keys.privateKey, keys.publicKey);
    const signer = {
      certificate: self,
      der: Buffer.from(self.toSchema().toBER(false)),
      privateKey: keys.privateKey,
    };
    const message = await signRequest(
      {
        messageType: MESSAGE_TYPES.PKCSReq,
        transactionId: 'tx-tampered',
        senderNonce: randomBytes(16),
        envelope: envelope(csr, parseCertificate(caDer), '2.16.840.1.101.3.4.1.2'),
      },
      signer,
    );
    // Flip a bit of the signature (the last bytes of the message).
    message[message.length - 3] ^= 0x01;
    const response = await scepHttp(scepUrl, server.tlsCertPem)('PKIOperation', message);
    expect(response.status).toBe(200);
    expect(response.contentType).toBe('application/x-pki-message');
    const rep = await readCertRep(response.body, caDer, signer);
    expect(rep).toMatchObject({
      status: 'FAILURE',
      failInfo: 'badMessageCheck',
      transactionId: 'tx-tampered',
    });
    const audit = (await server.storage.audit.list()).find((a) => a.details.transactionId === 'tx-tampered');
    expect(audit).toMatchObject({ action: 'scep.refuse', details: { failInfo: 'badMessageCheck' } });
    // The challenge was not spent by the refused request.
    expect(
      (await server.storage.scep.findChallenge(createHash('sha256').update(c).digest('hex')))?.usedAt,
    ).toBeUndefined();
  });

  it('answers CertPoll (GetCertInitial) with failure: requests are never pending', async () => {
    const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const self = await selfSigned('CN=poller', keys.privateKey, keys.publicKey);
    const signer = {
      certificate: self,
      der: Buffer.from(self.toSchema().toBER(false)),
      privateKey: keys.privateKey,
    };
    const message = await signRequest(
      {
        messageType: MESSAGE_TYPES.CertPoll,
        transactionId: 'tx-poll',
        senderNonce: randomBytes(16),
        envelope: envelope(
          Buffer.from([0x30, 0]),
          parseCertificate(server.scepCa.der),
          '2.16.840.1.101.3.4.1.2',
        ),
      },
      signer,
    );
    // PKIOperation by GET, base64 in `message` (RFC 8894 §4.3).
    const res = await agent
      .get('/pki/scep')
      .query({ operation: 'PKIOperation', message: message.toString('base64') })
      .buffer(true)
      .parse(binary);
    expect(res.status).toBe(200);
    const rep = await readCertRep(res.body as Buffer, server.scepCa.der, signer);
    expect(rep).toMatchObject({ status: 'FAILURE', failInfo: 'badRequest' });
    expect(rep.failInfoText).toMatch(/pending/);
  });

  it('answers an unreadable pkiMessage with HTTP 400', async () => {
    const res = await agent
      .post('/pki/scep?operation=PKIOperation')
      .type('application/x-pki-message')
      .send(Buffer.from('garbage'));
    expect(res.status).toBe(400);
    expect(res.type).toBe('text/plain');
  });

  it('revokes through the admin API and the CLI, and serves the revocations on the CRL', async () => {
    const serials: string[] = [];
    for (const name of ['dev-r1', 'dev-r2']) {
      const { challenge: c } = await challenge(name, `CN=${name}`);
      const r = await scepEnrol({
        url: scepUrl,
        tlsCa: server.tlsCertPem,
        subject: `CN=${name}`,
        challenge: c,
      });
      serials.push(new X509Certificate(r.certificate!).serialNumber);
    }
    const { token } = await createApiToken(server.storage.tokens, 'test', new Date(), 'admin');
    const list = await agent
      .get('/api/v1/certificates')
      .query({ device: 'dev-r1' })
      .set('authorization', `Bearer ${token}`);
    expect(list.status).toBe(200);
    expect(list.body.certificates).toHaveLength(1);
    expect(list.body.certificates[0]).toMatchObject({ serial: serials[0], status: 'issued', profile: 'vpn' });
    const revoke = await agent
      .post(`/api/v1/certificates/${serials[0]}/revoke`)
      .set('authorization', `Bearer ${token}`)
      .send({ reason: 'lost laptop' });
    expect(revoke.status).toBe(200);
    expect(revoke.body).toMatchObject({ status: 'revoked', revocationReason: 'lost laptop' });
    const again = await agent
      .post(`/api/v1/certificates/${serials[0]}/revoke`)
      .set('authorization', `Bearer ${token}`)
      .send({});
    expect(again.status).toBe(409);
    expect(again.type).toBe('application/problem+json');

    const dir = mkdtempSync(join(tmpdir(), 'mdm-scep-cli-'));
    const configFile = join(dir, 'mdm.yaml');
    writeFileSync(configFile, server.configYaml());
    const cli = await captureCli(() =>
      main(['node', 'mdm', '--config', configFile, 'certificates', 'revoke', serials[1]!, '--actor', 'ops']),
    );
    expect(cli).toMatchObject({ code: 0 });
    const listed = await captureCli(() =>
      main(['node', 'mdm', '--config', configFile, 'certificates', 'list', '--status', 'revoked', '--json']),
    );
    expect((JSON.parse(listed.out) as { serial: string }[]).map((c) => c.serial).sort()).toEqual(
      [...serials].sort(),
    );
    const audit = await server.storage.audit.list({ deviceId: 'dev-r2' });
    expect(audit[0]).toMatchObject({ actor: 'ops', action: 'certificates.revoke' });

    const crlRes = await agent.get('/pki/scep/crl').buffer(true).parse(binary);
    expect(crlRes.status).toBe(200);
    expect(crlRes.headers['content-type']).toBe('application/pkix-crl');
    const der = crlRes.body as Buffer;
    const crl = new pkijs.CertificateRevocationList({ schema: asn1js.fromBER(new Uint8Array(der)).result });
    expect(await crl.verify({ issuerCertificate: parseCertificate(server.scepCa.der) })).toBe(true);
    const revoked = (crl.revokedCertificates ?? []).map((r) =>
      Buffer.from(r.userCertificate.valueBlock.valueHexView).toString('hex').toUpperCase(),
    );
    expect(revoked.sort()).toEqual([...serials].sort());
  });
});

function binary(res: request.Response, cb: (err: Error | null, body: Buffer) => void) {
  const chunks: Buffer[] = [];
  const stream = res as unknown as NodeJS.ReadableStream;
  stream.on('data', (c: Buffer) => chunks.push(c));
  stream.on('end', () => cb(null, Buffer.concat(chunks)));
}
