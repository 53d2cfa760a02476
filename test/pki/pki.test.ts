// Enrollment CA, CSR parsing (real Windows CSR), device certificate issuing and verification.
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';
import { afterAll, describe, expect, it } from 'vitest';
import { type EnrollmentCa, loadOrCreateCa } from '../../src/pki/ca.js';
import { CsrError, parseCsr } from '../../src/pki/csr.js';
import { issueDeviceCertificate } from '../../src/pki/issue.js';
import { devTlsHosts, loadOrCreateTls } from '../../src/pki/tls.js';
import { verifyDeviceCertificate } from '../../src/pki/verify.js';

const dir = mkdtempSync(join(tmpdir(), 'mdm-pki-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const rstCapture = readFileSync(
  new URL('../../fixtures/windows10-enrollment/marcosd4h-07-rst-req.xml', import.meta.url),
  'utf8',
);
const windowsCsr = Buffer.from(/#PKCS10"[^>]*>([^<]+)</.exec(rstCapture)![1]!, 'base64');

let ca: EnrollmentCa;

describe('enrollment CA', () => {
  it('is created once in the certs folder and reused', () => {
    ca = loadOrCreateCa({ certsDir: dir });
    expect(ca.created).toBe(true);
    expect(ca.origin).toBe('generated');
    expect(ca.certificate.ca).toBe(true);
    expect(ca.thumbprint).toMatch(/^[0-9A-F]{40}$/);
    expect(statSync(join(dir, 'ca.key')).mode & 0o077).toBe(0);
    const again = loadOrCreateCa({ certsDir: dir });
    expect(again.created).toBe(false);
    expect(again.thumbprint).toBe(ca.thumbprint);
  });

  it('loads a configured CA and refuses a key that does not match', () => {
    const configured = loadOrCreateCa({ certsDir: '/nonexistent', caCert: ca.certPath, caKey: ca.keyPath });
    expect(configured.origin).toBe('configured');
    const other = mkdtempSync(join(tmpdir(), 'mdm-pki-other-'));
    const otherCa = loadOrCreateCa({ certsDir: other });
    expect(() => loadOrCreateCa({ certsDir: dir, caCert: ca.certPath, caKey: otherCa.keyPath })).toThrow(
      /does not belong/,
    );
    rmSync(other, { recursive: true, force: true });
  });
});

describe('CSR', () => {
  it('parses the real Windows CSR (odd PrintableString subject) and verifies its SHA-1 signature', () => {
    const csr = parseCsr(windowsCsr);
    expect(csr.keyBits).toBe(2048);
    expect(csr.requestedDeviceId).toBe('1E08C6E95D8BB843B1278FF45BC60CC6');
    expect(csr.subjectCommonName).toBe('BA405A5D-B1C7-4737-81C8-8F379A!1E08C6E95D8BB843B1278FF45BC60CC6');
  });

  it('rejects a tampered CSR, garbage and an empty buffer', () => {
    const tampered = Buffer.from(windowsCsr);
    tampered[tampered.length - 5]! ^= 0xff;
    expect(() => parseCsr(tampered)).toThrow(/signature does not verify/);
    expect(() => parseCsr(Buffer.from('not a csr'))).toThrow(CsrError);
    expect(() => parseCsr(Buffer.alloc(0))).toThrow(CsrError);
  });
});

describe('device certificate', () => {
  it('is issued on the CSR key with CN = DeviceID, clientAuth EKU and chains to the CA', () => {
    const csr = parseCsr(windowsCsr);
    const issued = issueDeviceCertificate(ca, {
      publicKey: csr.forgePublicKey,
      deviceId: '1E08C6E95D8BB843B1278FF45BC60CC6',
      validityDays: 365,
    });
    const x509 = new X509Certificate(issued.der);
    expect(x509.subject).toBe('CN=1E08C6E95D8BB843B1278FF45BC60CC6');
    expect(x509.keyUsage).toContain('1.3.6.1.5.5.7.3.2');
    expect(x509.ca).toBe(false);
    expect(x509.checkIssued(ca.certificate)).toBe(true);
    expect(x509.verify(ca.certificate.publicKey)).toBe(true);
    expect(x509.publicKey.export({ type: 'spki', format: 'der' })).toEqual(
      csr.publicKey.export({ type: 'spki', format: 'der' }),
    );
    expect(x509.serialNumber.toUpperCase()).toBe(issued.serial);
    const days = (Date.parse(x509.validTo) - Date.now()) / 86_400_000;
    expect(Math.round(days)).toBe(365);
    // The signature algorithm is SHA-256 with RSA.
    const parsed = forge.pki.certificateFromAsn1(forge.asn1.fromDer(issued.der.toString('binary')));
    expect(parsed.signatureOid).toBe(forge.pki.oids.sha256WithRSAEncryption);

    const check = verifyDeviceCertificate(ca, issued.pem);
    expect(check).toMatchObject({
      ok: true,
      deviceId: '1E08C6E95D8BB843B1278FF45BC60CC6',
      serial: issued.serial,
      thumbprint: issued.thumbprint,
    });
  });

  it('verification rejects expired, foreign and malformed certificates', () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const key = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
    const issued = issueDeviceCertificate(ca, {
      publicKey: key as forge.pki.rsa.PublicKey,
      deviceId: 'DEV',
      validityDays: 1,
    });
    expect(verifyDeviceCertificate(ca, issued.der, new Date(Date.now() + 3 * 86_400_000))).toMatchObject({
      ok: false,
      reason: 'expired',
    });
    const other = mkdtempSync(join(tmpdir(), 'mdm-pki-foreign-'));
    const foreignCa = loadOrCreateCa({ certsDir: other });
    expect(verifyDeviceCertificate(foreignCa, issued.der)).toMatchObject({ ok: false, reason: 'untrusted' });
    expect(verifyDeviceCertificate(ca, Buffer.from('junk'))).toMatchObject({
      ok: false,
      reason: 'malformed',
    });
    expect(verifyDeviceCertificate(ca, ca.der)).toMatchObject({ ok: false, reason: 'not-client-auth' });
    rmSync(other, { recursive: true, force: true });
  });
});

describe('development TLS certificate', () => {
  it('covers localhost, 127.0.0.1, the public host and enterpriseenrollment names; reused on restart', async () => {
    expect(devTlsHosts('mdm.contoso.com')).toEqual([
      'localhost',
      '127.0.0.1',
      '::1',
      'mdm.contoso.com',
      'enterpriseenrollment.mdm.contoso.com',
      'enterpriseenrollment.contoso.com',
    ]);
    const tls = await loadOrCreateTls({ certsDir: dir, publicHost: 'mdm.contoso.com' });
    expect(tls.created).toBe(true);
    const x509 = new X509Certificate(tls.cert);
    expect(x509.checkHost('enterpriseenrollment.contoso.com')).toBeDefined();
    expect(x509.checkIP('127.0.0.1')).toBeDefined();
    const again = await loadOrCreateTls({ certsDir: dir, publicHost: 'mdm.contoso.com' });
    expect(again.created).toBe(false);
    const moved = await loadOrCreateTls({ certsDir: dir, publicHost: 'other.example.org' });
    expect(moved.created).toBe(true);
  });
});

describe('configured EC CA with UTF-8 names', () => {
  it('issues device certificates that chain to it byte for byte', async () => {
    const { generate } = await import('selfsigned');
    const pems = await generate(
      [
        { name: 'commonName', value: 'Ünïcode Root' },
        { name: 'organizationName', value: 'Müller GmbH' },
      ],
      {
        keyType: 'ec',
        curve: 'P-256',
        algorithm: 'sha256',
        extensions: [
          { name: 'basicConstraints', cA: true, critical: true },
          { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
        ],
      },
    );
    const ecDir = mkdtempSync(join(tmpdir(), 'mdm-pki-ec-'));
    try {
      writeFileSync(join(ecDir, 'ca.crt'), pems.cert);
      writeFileSync(join(ecDir, 'ca.key'), pems.private);
      const ecCa = loadOrCreateCa({
        certsDir: ecDir,
        caCert: join(ecDir, 'ca.crt'),
        caKey: join(ecDir, 'ca.key'),
      });
      expect(ecCa.privateKey.asymmetricKeyType).toBe('ec');
      const issued = issueDeviceCertificate(ecCa, {
        publicKey: parseCsr(windowsCsr).forgePublicKey,
        deviceId: 'DEV-EC',
        validityDays: 30,
      });
      expect(issued.certificate.issuer).toBe(ecCa.certificate.subject);
      expect(verifyDeviceCertificate(ecCa, issued.der)).toMatchObject({ ok: true, deviceId: 'DEV-EC' });
    } finally {
      rmSync(ecDir, { recursive: true, force: true });
    }
  });
});
