// The SCEP endpoint (RFC 8894) against a third-party client: micromdm's `scepclient` (Debian
// package `scep`). Enrolment with a one-time challenge, renewal signed with the issued
// certificate, and refusals (reused challenge, other subject) with their failInfo.
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { createScepChallenge } from '../../src/scep/service.js';
import { requiredServices } from '../support/postgres-global.js';
import { startTestServer, type TestServer } from '../support/server.js';

const run = promisify(execFile);
const SCEPCLIENT = '/usr/bin/scepclient';
const present = existsSync(SCEPCLIENT);
if (!present) {
  if (requiredServices().includes('scep')) {
    throw new Error('scepclient is missing (apt-get install scep) and MDM_TEST_REQUIRE includes scep');
  }
  console.warn('skipping SCEP client tests: scepclient not installed (apt-get install scep)');
}

const ISSUANCE = {
  validityDays: 30,
  keyUsage: ['digitalSignature', 'keyEncipherment'],
  ekus: ['1.3.6.1.5.5.7.3.2'],
};
const SUBJECT = (cn: string) => `CN=${cn},OU=MDM,O=scep-client,C=US`;

describe.skipIf(!present)('SCEP with micromdm scepclient', () => {
  let server: TestServer;
  let work: string;
  let caFile: string;

  beforeAll(async () => {
    server = await startTestServer({}, process.env.SCEP_DEBUG ? { logger: createLogger('error') } : {});
    work = mkdtempSync(join(tmpdir(), 'mdm-scep-'));
    caFile = join(work, 'tls-ca.pem');
    writeFileSync(caFile, server.tlsCertPem!);
  });
  afterAll(async () => {
    await server?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** Runs scepclient in `dir`; resolves with its exit code and output (never throws on exit ≠ 0). */
  async function scepclient(dir: string, args: string[]) {
    try {
      const { stdout, stderr } = await run(
        SCEPCLIENT,
        [
          '-server-url',
          `${server.url}${server.config.scepPath}`,
          '-private-key',
          join(dir, 'key.pem'),
          ...args,
        ],
        { env: { ...process.env, SSL_CERT_FILE: caFile }, timeout: 60_000 },
      );
      return { code: 0, output: stdout + stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { code: e.code ?? -1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
    }
  }

  const challengeFor = (cn: string, profile = 'wifi') =>
    createScepChallenge(server.storage, {
      deviceId: `device-${cn}`,
      profile,
      subject: SUBJECT(cn),
      issuance: ISSUANCE,
      ttlMinutes: 60,
    });

  const newDir = () => mkdtempSync(join(work, 'client-'));

  it('enrols with a one-time challenge, then renews with the issued certificate', async () => {
    const dir = newDir();
    const { challenge } = await challengeFor('laptop-1');
    const enrol = await scepclient(dir, ['-cn', 'laptop-1', '-challenge', challenge]);
    expect(enrol.output).toContain('SUCCESS');
    expect(enrol.code).toBe(0);
    const cert = new X509Certificate(readFileSync(join(dir, 'client.pem')));
    expect(cert.subject.split('\n')).toContain('CN=laptop-1');
    const ca = new X509Certificate(server.scepCa.der);
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(cert.checkIssued(ca)).toBe(true);
    expect(cert.verify(new X509Certificate(server.ca.der).publicKey)).toBe(false);
    // node:crypto names the extended key usages `keyUsage`: the profile's, not the client's.
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    const stored = await server.storage.scep.findCertificate(cert.serialNumber);
    expect(stored).toMatchObject({ deviceId: 'device-laptop-1', profile: 'wifi', status: 'issued' });
    expect(stored!.thumbprint).toBe(cert.fingerprint.replace(/:/g, ''));
    expect(stored!.der.equals(cert.raw)).toBe(true);

    // RenewalReq: same folder, so scepclient signs with client.pem (RFC 8894 §3.3.1.2).
    const renewal = await scepclient(dir, ['-cn', 'laptop-1']);
    expect(renewal.output).toContain('SUCCESS');
    expect(renewal.code).toBe(0);
    const renewed = new X509Certificate(readFileSync(join(dir, 'client.pem')));
    expect(renewed.serialNumber).not.toBe(cert.serialNumber);
    expect(renewed.subject).toBe(cert.subject);
    const after = await server.storage.scep.findCertificate(renewed.serialNumber);
    expect(after).toMatchObject({
      deviceId: 'device-laptop-1',
      renewedFrom: cert.serialNumber,
      status: 'issued',
    });
    expect((await server.storage.scep.findCertificate(cert.serialNumber))?.status).toBe('superseded');
    const audit = await server.storage.audit.list({ deviceId: 'device-laptop-1' });
    expect(audit.map((a) => a.action)).toEqual(['scep.renew', 'scep.issue']);
  });

  it('refuses a reused challenge with failInfo badRequest, and audits it', async () => {
    const { challenge } = await challengeFor('laptop-2');
    const first = await scepclient(newDir(), ['-cn', 'laptop-2', '-challenge', challenge]);
    expect(first.code).toBe(0);
    const second = await scepclient(newDir(), ['-cn', 'laptop-2', '-challenge', challenge]);
    expect(second.code).not.toBe(0);
    expect(second.output).toMatch(/failInfo: (badRequest|2)/);
    const audit = await server.storage.audit.list({ deviceId: 'device-laptop-2' });
    expect(audit[0]).toMatchObject({
      action: 'scep.refuse',
      details: { failInfo: 'badRequest', reason: 'the challenge password was already used' },
    });
  });

  it('refuses another subject, an unknown and an expired challenge', async () => {
    const { challenge } = await challengeFor('laptop-3');
    const other = await scepclient(newDir(), ['-cn', 'someone-else', '-challenge', challenge]);
    expect(other.code).not.toBe(0);
    expect(other.output).toMatch(/failInfo: (badRequest|2)/);
    const unknown = await scepclient(newDir(), ['-cn', 'laptop-3', '-challenge', 'not-a-challenge']);
    expect(unknown.output).toMatch(/failInfo: (badRequest|2)/);
    const expired = await createScepChallenge(server.storage, {
      deviceId: 'device-laptop-4',
      profile: 'wifi',
      subject: SUBJECT('laptop-4'),
      issuance: ISSUANCE,
      ttlMinutes: 1,
      now: new Date(Date.now() - 120_000),
    });
    const late = await scepclient(newDir(), ['-cn', 'laptop-4', '-challenge', expired.challenge]);
    expect(late.output).toMatch(/failInfo: (badRequest|2)/);
    const reasons = (await server.storage.audit.list())
      .filter((a) => a.action === 'scep.refuse')
      .map((a) => a.details.reason);
    expect(reasons).toContain('the challenge password expired');
    expect(reasons).toContain('unknown challenge password');
    expect(reasons.some((r) => String(r).includes('someone-else'))).toBe(true);
    // The challenge of the refused subject is still unused: the right request gets its certificate.
    const right = await scepclient(newDir(), ['-cn', 'laptop-3', '-challenge', challenge]);
    expect(right.code).toBe(0);
  });
});
