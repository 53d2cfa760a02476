// Certificate profile delivery against the policy hooks with a clock the test moves: a challenge
// per device and profile with the Install nodes, the Enroll Exec once they are accepted, the CSP
// Status/CertThumbprint reads, an expired challenge replaced, renewal at the threshold, a device
// error, and removal revoking the certificates. The SCEP exchange itself is stood in for by what
// the SCEP endpoint does with a valid request (consume the challenge, record, `certificateIssued`);
// test/e2e/scep-wifi.test.ts runs the real one.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultCatalog } from '../../src/catalog/catalog.js';
import { silentLogger } from '../../src/logger.js';
import { applyPolicyFolder } from '../../src/policy/delivery/apply-folder.js';
import {
  certificateIssued,
  certificateTag,
  hresult,
  parseCertificateTag,
  renewalDueAt,
} from '../../src/policy/delivery/certificate-profiles.js';
import { createPolicyHooks, type PolicyHooks } from '../../src/policy/hooks.js';
import { loadScepCa, scepTemplateValues } from '../../src/scep/service.js';
import type { Storage } from '../../src/storage/index.js';
import { openSqliteStorage } from '../../src/storage/sqlite/index.js';
import { enrollInStorage, FakeDevice, type Queued, session } from './engine.js';

const ROOT = './Device/Vendor/MSFT/ClientCertificateInstall/SCEP/vpn';
const ISSUER = './Device/Vendor/MSFT/VPNv2/Corp/NativeProfile/Authentication/Certificate/Issuer';
const T0 = Date.parse('2026-03-01T00:00:00.000Z');
const MIN = 60_000;
const DAY = 24 * 60 * MIN;

let dir: string;
let storage: Storage;
let clock: number;
let hooks: PolicyHooks;
let device: FakeDevice;
let serials = 0;

const policy = (assigned = true) => {
  writeFileSync(
    join(dir, 'policies', 'vpn.yaml'),
    [
      'name: vpn',
      'certificates:',
      '  - name: vpn',
      '    subject: "CN={{device.id}},O=Example"',
      '    validityDays: 10',
      '    renewalThresholdPercent: 20',
      'settings:',
      `  - path: ${ISSUER}`,
      '    value: "{{certificate.vpn.thumbprint}}"',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'policies', 'assignments.yaml'),
    assigned
      ? 'assignments:\n  - policy: vpn\n    include: [all]\nverification:\n  failureRetryDelay: 10m\n'
      : 'assignments: []\n',
  );
  return applyPolicyFolder(storage.policies, join(dir, 'policies'), { catalog: defaultCatalog() });
};

const hash = (s: string) => createHash('sha256').update(s).digest('hex');
const challengeOnDevice = () => device.tree.get(`${ROOT}/Install/Challenge`) ?? '';
const record = async () => (await storage.scep.listDeviceProfiles('D1'))[0];
/** The certificate profile's commands (settings are re-verified on their own schedule). */
const verbs = (sent: Queued[]) =>
  sent
    .filter((q) => q.tag?.startsWith('scep:'))
    .flatMap((q) =>
      'items' in q.command
        ? [`${q.command.verb} ${q.command.items[0]?.target.slice(ROOT.length)}`]
        : [`${q.command.verb}[${q.command.commands.map((c) => ('items' in c ? c.verb : '')).join(',')}]`],
    );

/** What the SCEP endpoint does with a valid PKCSReq carrying the device's challenge. */
async function issue(): Promise<{ serial: string; thumbprint: string }> {
  const at = new Date(clock);
  const challenge = await storage.scep.findChallenge(hash(challengeOnDevice()));
  expect(challenge).toBeDefined();
  serials++;
  const serial = `0${serials}`.padStart(4, '0');
  const thumbprint = createHash('sha1').update(`cert-${serials}`).digest('hex').toUpperCase();
  const cert = {
    serial,
    thumbprint,
    deviceId: challenge!.deviceId,
    profile: challenge!.profile,
    subject: challenge!.subject,
    notBefore: at.toISOString(),
    notAfter: new Date(clock + challenge!.issuance.validityDays * DAY).toISOString(),
    issuedAt: at.toISOString(),
    der: Buffer.from(serial),
  };
  await storage.transaction(async (tx) => {
    expect(await tx.scep.consumeChallenge(challenge!.challengeHash, serial, at.toISOString())).toBe(true);
    await tx.scep.recordCertificate(cert);
    await certificateIssued(
      tx,
      { ...cert, status: 'issued', revokedAt: undefined, revocationReason: undefined },
      at,
    );
  });
  return { serial, thumbprint };
}

/** The device installed it: ClientCertificateInstall reports it (CSP doc: CertThumbprint, Status 1). */
function report(thumbprint: string) {
  device.tree.set(`${ROOT}/CertThumbprint`, thumbprint);
  device.tree.set(`${ROOT}/Status`, '1');
  device.tree.set(`${ROOT}/ErrorCode`, '0');
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mdm-cert-profiles-'));
  mkdirSync(join(dir, 'policies'));
  storage = openSqliteStorage({ file: ':memory:' });
  clock = T0;
  serials = 0;
  const ca = loadScepCa({ certsDir: join(dir, 'certs') });
  hooks = createPolicyHooks({
    logger: silentLogger(),
    now: () => new Date(clock),
    templateValues: scepTemplateValues(storage, ca, 'https://mdm.example.com/scep'),
    scepChallengeTtlMinutes: 60,
  });
  expect((await policy()).folder.issues.filter((i) => i.severity === 'error')).toEqual([]);
  await enrollInStorage(storage, 'D1');
  device = new FakeDevice('D1');
});
afterEach(async () => {
  await storage.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('certificate profile delivery', () => {
  it('sends the Install nodes with a challenge for this device, then Enroll; issued → installed', async () => {
    const sent = await session(hooks, device, storage);
    expect(verbs(sent)).toEqual([
      'Atomic[Add,Add,Add,Add,Add,Add,Add,Add,Add,Add,Add,Add]',
      'Exec /Install/Enroll',
    ]);
    expect(device.tree.get(`${ROOT}/Install/SubjectName`)).toBe('CN=D1,O=Example');
    const challenge = challengeOnDevice();
    expect(await storage.scep.findChallenge(hash(challenge))).toMatchObject({
      deviceId: 'D1',
      profile: 'vpn',
      subject: 'CN=D1,O=Example',
      issuance: { validityDays: 10, keyUsage: ['digitalSignature', 'keyEncipherment'] },
      expiresAt: new Date(T0 + 60 * MIN).toISOString(),
    });
    expect(await record()).toMatchObject({ state: 'requested', attempts: 1, subject: 'CN=D1,O=Example' });
    expect(JSON.stringify(await record())).not.toContain(challenge);
    expect(await storage.deviceSettings.getDeviceSetting('D1', ISSUER)).toMatchObject({
      state: 'not_applicable',
    });

    const { serial, thumbprint } = await issue();
    expect(await record()).toMatchObject({ state: 'issued', serial, thumbprint });
    report(thumbprint);
    clock += 5 * MIN;
    const second = await session(hooks, device, storage);
    expect(verbs(second)).toContain('Get /Status');
    expect(await record()).toMatchObject({
      state: 'installed',
      installedThumbprint: thumbprint,
      cspStatus: 1,
    });
    expect(device.tree.get(ISSUER)).toBe(thumbprint);
    expect(await storage.deviceSettings.getDeviceSetting('D1', ISSUER)).toMatchObject({ state: 'verified' });
  });

  it('replaces a challenge that expired unused with a fresh one, by Replace', async () => {
    await session(hooks, device, storage);
    const first = challengeOnDevice();
    clock += 30 * MIN;
    await session(hooks, device, storage);
    expect(challengeOnDevice()).toBe(first);
    expect(await record()).toMatchObject({ state: 'requested', attempts: 1 });

    clock += 31 * MIN;
    const sent = await session(hooks, device, storage);
    expect(verbs(sent)).toContain(
      'Atomic[Replace,Replace,Replace,Replace,Replace,Replace,Replace,Replace,Replace,Replace,Replace,Replace]',
    );
    expect(verbs(sent)).toContain('Exec /Install/Enroll');
    const second = challengeOnDevice();
    expect(second).not.toBe(first);
    expect(await storage.scep.findChallenge(hash(first))).toMatchObject({ usedAt: undefined });
    expect(await record()).toMatchObject({
      state: 'requested',
      attempts: 2,
      challengeExpiresAt: new Date(clock + 60 * MIN).toISOString(),
    });
    const { thumbprint } = await issue();
    report(thumbprint);
    await session(hooks, device, storage);
    expect(await record()).toMatchObject({ state: 'installed', attempts: 2 });
  });

  it('renews at the threshold: renewing until the device reports the new certificate, then installed', async () => {
    await session(hooks, device, storage);
    const old = await issue();
    report(old.thumbprint);
    await session(hooks, device, storage);
    expect(await record()).toMatchObject({ state: 'installed', serial: old.serial });
    // 10 days, renewal when 20 % is left: due after 8 days.
    expect(renewalDueAt(new Date(T0).toISOString(), new Date(T0 + 10 * DAY).toISOString(), 20)).toEqual(
      new Date(T0 + 8 * DAY),
    );
    clock = T0 + 7 * DAY;
    expect(verbs(await session(hooks, device, storage))).toEqual([]);

    clock = T0 + 8 * DAY + MIN;
    const sent = await session(hooks, device, storage);
    expect(verbs(sent)[0]).toMatch(/^Atomic\[Replace/);
    expect(verbs(sent)).toContain('Exec /Install/Enroll');
    expect(await record()).toMatchObject({ state: 'renewing', attempts: 2, serial: old.serial });
    // Still the old certificate on the device: not installed yet.
    await session(hooks, device, storage);
    expect(await record()).toMatchObject({ state: 'renewing' });

    const renewed = await issue();
    expect(await record()).toMatchObject({ state: 'renewing', serial: renewed.serial });
    expect(device.tree.get(ISSUER)).toBe(old.thumbprint);
    report(renewed.thumbprint);
    await session(hooks, device, storage);
    expect(await record()).toMatchObject({
      state: 'installed',
      serial: renewed.serial,
      installedThumbprint: renewed.thumbprint,
    });
    // The setting naming the certificate follows it in the same session; the old one is revoked.
    expect(device.tree.get(ISSUER)).toBe(renewed.thumbprint);
    expect(await storage.scep.findCertificate(old.serial)).toMatchObject({
      status: 'revoked',
      revocationReason: 'superseded',
    });
    expect(await storage.scep.findCertificate(renewed.serial)).toMatchObject({ status: 'issued' });
  });

  it('fails with the CSP Status and ErrorCode, and tries again after the retry delay', async () => {
    await session(hooks, device, storage);
    device.tree.set(`${ROOT}/Status`, '16');
    device.tree.set(`${ROOT}/ErrorCode`, String(0x80004005 | 0));
    clock += MIN;
    await session(hooks, device, storage);
    expect(await record()).toMatchObject({
      state: 'failed',
      cspStatus: 16,
      errorCode: -2147467259,
      reason: 'the device reports Status 16 (enrolment failed), ErrorCode 0x80004005',
      nextRetryAt: new Date(clock + 10 * MIN).toISOString(),
    });
    clock += 5 * MIN;
    expect(verbs(await session(hooks, device, storage))).toEqual([]);
    clock += 6 * MIN;
    device.tree.delete(`${ROOT}/Status`);
    const sent = await session(hooks, device, storage);
    expect(verbs(sent)).toContain('Exec /Install/Enroll');
    expect(await record()).toMatchObject({ state: 'requested', attempts: 2, cspStatus: null, reason: null });
  });

  it('a refused Enroll Exec fails the profile with its status', async () => {
    device.failPaths.add(`${ROOT}/Install/Enroll`);
    await session(hooks, device, storage);
    expect(await record()).toMatchObject({
      state: 'failed',
      statusCode: 500,
      reason: 'the device refused Install/Enroll (500)',
    });
  });

  it('removal deletes the SCEP node and revokes every certificate of the profile', async () => {
    await session(hooks, device, storage);
    const { serial, thumbprint } = await issue();
    report(thumbprint);
    await session(hooks, device, storage);
    await policy(false);
    const sent = await session(hooks, device, storage);
    expect(verbs(sent)).toContain('Delete ');
    expect(await record()).toMatchObject({ state: 'revoked' });
    expect((await record())?.reason).toContain(`revoked ${serial}`);
    expect((await storage.scep.listRevoked()).map((c) => c.serial)).toEqual([serial]);
    expect((await storage.audit.list({ deviceId: 'D1' }))[0]).toMatchObject({
      actor: 'policy',
      action: 'certificates.revoke',
    });
    // Nothing more happens at later sessions.
    expect(verbs(await session(hooks, device, storage))).not.toContain('Delete ');
  });
});

describe('user-scope certificate profiles', () => {
  it('wait for the user to log on, then enrol under ./User', async () => {
    const USER_ROOT = './User/Vendor/MSFT/ClientCertificateInstall/SCEP/user-vpn';
    writeFileSync(
      join(dir, 'policies', 'user-vpn.yaml'),
      [
        'name: user-vpn',
        'target: { scope: user }',
        'certificates:',
        '  - name: user-vpn',
        '    subject: "CN={{user.upn}}"',
        '    san: ["upn:{{user.upn}}"]',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'policies', 'assignments.yaml'),
      'assignments:\n  - policy: user-vpn\n    include: [all]\n',
    );
    const applied = await applyPolicyFolder(storage.policies, join(dir, 'policies'), {
      catalog: defaultCatalog(),
    });
    expect(applied.folder.issues.filter((i) => i.severity === 'error')).toEqual([]);
    device.loginStatus = 'none';
    expect(verbs(await session(hooks, device, storage))).toEqual([]);
    expect(await record()).toMatchObject({
      profile: 'user-vpn',
      state: 'pending',
      attempts: 0,
      reason: 'waiting for the user to log on (user-scope profile)',
    });
    device.loginStatus = 'user';
    await session(hooks, device, storage);
    expect(device.tree.get(`${USER_ROOT}/Install/SubjectName`)).toBe('CN=user@contoso.com');
    expect(device.tree.get(`${USER_ROOT}/Install/SubjectAlternativeNames`)).toBe('11+user@contoso.com');
    expect(await record()).toMatchObject({
      root: USER_ROOT,
      state: 'requested',
      subject: 'CN=user@contoso.com',
      san: ['upn:user@contoso.com'],
    });
  });
});

describe('certificate profile helpers', () => {
  it('tags carry the attempt; HRESULTs print as 0x…', () => {
    expect(parseCertificateTag(certificateTag('install', 'wifi-eap', 3))).toEqual({
      op: 'install',
      attempt: 3,
      profile: 'wifi-eap',
    });
    expect(parseCertificateTag('setting:apply:./x')).toBeUndefined();
    expect(hresult(-2147467259)).toBe('0x80004005');
    expect(hresult(2147500037)).toBe('0x80004005');
  });
});
