// Password hashing, Federated sign-in tokens and the renewal PKCS#7 signature check.
import { createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hashPassword, verifyPassword } from '../../src/enrollment/passwords.js';
import {
  createSignInToken,
  loadOrCreateTokenSecret,
  verifySignInToken,
} from '../../src/enrollment/tokens.js';
import { loadOrCreateCa } from '../../src/pki/ca.js';
import { parseCsr } from '../../src/pki/csr.js';
import { issueDeviceCertificate } from '../../src/pki/issue.js';
import { Pkcs7Error, parseSignedData } from '../../src/pki/pkcs7.js';
import { createCsr, generateDeviceKey, signRenewalRequest } from '../support/enroll-client.js';

describe('passwords', () => {
  it('hashes with scrypt and a salt, verifies only the right password', async () => {
    const a = await hashPassword('s3cret');
    const b = await hashPassword('s3cret');
    expect(a).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain('s3cret');
    expect(await verifyPassword('s3cret', a)).toBe(true);
    expect(await verifyPassword('S3cret', a)).toBe(false);
    expect(await verifyPassword('s3cret', 'plain')).toBe(false);
  });
});

describe('sign-in tokens', () => {
  const secret = randomBytes(32);
  const now = new Date('2026-01-01T00:00:00Z');

  it('round-trips the UPN until expiry', async () => {
    const token = await createSignInToken(secret, 'demo@contoso.com', 600, now);
    expect(await verifySignInToken(secret, token, now)).toBe('demo@contoso.com');
    expect(await verifySignInToken(secret, token, new Date(now.getTime() + 601_000))).toBeUndefined();
  });

  it('is a compact HS256 JWS with sub, aud, exp and a unique jti', async () => {
    const token = await createSignInToken(secret, 'demo@contoso.com', 600, now);
    const [header, payload, signature] = token.split('.');
    expect(signature).toMatch(/^[\w-]{43}$/);
    expect(JSON.parse(Buffer.from(header!, 'base64url').toString())).toEqual({ alg: 'HS256', typ: 'JWT' });
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    expect(claims).toMatchObject({
      sub: 'demo@contoso.com',
      aud: 'windows-mdm-enrollment',
      iat: now.getTime() / 1000,
      exp: now.getTime() / 1000 + 600,
    });
    const other = await createSignInToken(secret, 'demo@contoso.com', 600, now);
    expect(JSON.parse(Buffer.from(other.split('.')[1]!, 'base64url').toString()).jti).not.toBe(claims.jti);
  });

  it('rejects another key, a tampered payload, another algorithm or audience, and garbage', async () => {
    const token = await createSignInToken(secret, 'demo@contoso.com', 600, now);
    expect(await verifySignInToken(randomBytes(32), token, now)).toBeUndefined();
    const [header, body, mac] = token.split('.');
    const forged = Buffer.from(Buffer.from(body!, 'base64url').toString().replace('demo@', 'boss@')).toString(
      'base64url',
    );
    expect(await verifySignInToken(secret, `${header}.${forged}.${mac}`, now)).toBeUndefined();
    // An unsigned token (alg none) and one for another audience, both otherwise well-formed.
    const claims = JSON.parse(Buffer.from(body!, 'base64url').toString());
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    expect(await verifySignInToken(secret, `${b64({ alg: 'none' })}.${body}.`, now)).toBeUndefined();
    const hmac = (h: string, p: string) =>
      createHmac('sha256', secret).update(`${h}.${p}`).digest('base64url');
    const otherAud = b64({ ...claims, aud: 'someone-else' });
    const h = b64({ alg: 'HS256', typ: 'JWT' });
    expect(await verifySignInToken(secret, `${h}.${otherAud}.${hmac(h, otherAud)}`, now)).toBeUndefined();
    // The same construction with the right claims verifies: the refusals above are for what they change.
    const same = b64(claims);
    expect(await verifySignInToken(secret, `${h}.${same}.${hmac(h, same)}`, now)).toBe('demo@contoso.com');
    expect(await verifySignInToken(secret, 'nonsense', now)).toBeUndefined();
    expect(await verifySignInToken(secret, '.', now)).toBeUndefined();
  });

  it('keeps a generated secret in the data folder', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mdm-token-'));
    try {
      const first = loadOrCreateTokenSecret(dir);
      expect(first.length).toBe(32);
      expect(loadOrCreateTokenSecret(dir).equals(first)).toBe(true);
      expect(loadOrCreateTokenSecret(dir, 'configured-secret-value').toString()).toBe(
        'configured-secret-value',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('renewal PKCS#7', () => {
  it('extracts the wrapped CSR and verifies the signer against the current certificate key only', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mdm-p7-'));
    try {
      const ca = loadOrCreateCa({ certsDir: dir });
      const oldKey = generateDeviceKey();
      const current = issueDeviceCertificate(ca, {
        publicKey: parseCsr(createCsr(oldKey, 'DEV1')).forgePublicKey,
        deviceId: 'DEV1',
        validityDays: 30,
      });
      const newCsr = createCsr(generateDeviceKey(), 'DEV1');
      const p7 = signRenewalRequest(newCsr, current.pem, oldKey.privateKeyPem);
      const signed = parseSignedData(p7);
      expect(signed.content.equals(newCsr)).toBe(true);
      expect(signed.verifiedBy(current.certificate.publicKey)).toBe(true);
      const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
      expect(signed.verifiedBy(stranger)).toBe(false);
      // Changing one byte of the wrapped CSR breaks the message digest.
      const tampered = Buffer.from(p7);
      const at = tampered.indexOf(newCsr.subarray(40, 60));
      tampered[at] ^= 0x01;
      expect(parseSignedData(tampered).verifiedBy(current.certificate.publicKey)).toBe(false);
      expect(() => parseSignedData(newCsr)).toThrow(Pkcs7Error);
      expect(() => parseSignedData(Buffer.from('junk'))).toThrow(Pkcs7Error);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
