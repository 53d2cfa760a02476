// Federated sign-in tokens (docs/protocol-notes.md#federated-sign-in): the sign-in page hands Windows a short-lived,
// self-validating token (`wresult`) that comes back base64-encoded in the BinarySecurityToken of
// GetPolicies and RequestSecurityToken. A compact JWS (RFC 7515) with HMAC-SHA256 (HS256, RFC 7518
// §3.2) over a JWT (RFC 7519) naming the user (`sub`), this server's enrollment audience (`aud`),
// its expiry (`exp`) and a unique id (`jti`; enrollment spends it once), made and checked by `jose`.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jwtVerify, SignJWT } from 'jose';

const AUDIENCE = 'windows-mdm-enrollment';
const ALGORITHM = 'HS256';

export async function createSignInToken(
  secret: Buffer,
  upn: string,
  ttlSeconds: number,
  now = new Date(),
): Promise<string> {
  const iat = Math.floor(now.getTime() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
    .setSubject(upn)
    .setAudience(AUDIENCE)
    .setIssuedAt(iat)
    .setExpirationTime(iat + ttlSeconds)
    .setJti(randomBytes(16).toString('hex'))
    .sign(secret);
}

/** A valid, unexpired sign-in token: its user, its id and when it expires. */
export interface SignInToken {
  readonly upn: string;
  readonly jti: string;
  readonly expiresAt: string;
}

/** The UPN in a valid, unexpired token; undefined otherwise. */
export async function verifySignInToken(
  secret: Buffer,
  token: string,
  now = new Date(),
): Promise<string | undefined> {
  return (await readSignInToken(secret, token, now))?.upn;
}

/**
 * The contents of a valid, unexpired token; undefined otherwise (bad signature, another algorithm,
 * another audience, expired, or a claim missing).
 */
export async function readSignInToken(
  secret: Buffer,
  token: string,
  now = new Date(),
): Promise<SignInToken | undefined> {
  try {
    const { payload } = await jwtVerify(token, secret, {
      algorithms: [ALGORITHM],
      audience: AUDIENCE,
      currentDate: now,
      requiredClaims: ['sub', 'exp', 'jti'],
      clockTolerance: 0,
    });
    if (typeof payload.sub !== 'string' || typeof payload.jti !== 'string' || typeof payload.exp !== 'number')
      return undefined;
    return { upn: payload.sub, jti: payload.jti, expiresAt: new Date(payload.exp * 1000).toISOString() };
  } catch {
    return undefined;
  }
}

/** The configured token secret, or one generated once and kept in `dataDir/token-secret` (mode 0600). */
export function loadOrCreateTokenSecret(dataDir: string, configured?: string): Buffer {
  if (configured) return Buffer.from(configured, 'utf8');
  const file = join(dataDir, 'token-secret');
  if (existsSync(file)) return Buffer.from(readFileSync(file, 'utf8').trim(), 'hex');
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32);
  writeFileSync(file, secret.toString('hex'), { mode: 0o600 });
  return secret;
}
