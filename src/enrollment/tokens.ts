// Federated sign-in tokens (docs/protocol-notes.md#federated-sign-in): the sign-in page hands Windows a short-lived,
// self-validating token (`wresult`) that comes back base64-encoded in the BinarySecurityToken of
// GetPolicies and RequestSecurityToken. Format: base64url(JSON payload) "." base64url(HMAC-SHA256).
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const AUDIENCE = 'windows-mdm-enrollment';

interface TokenPayload {
  sub: string;
  aud: string;
  iat: number;
  exp: number;
  jti: string;
}

export function createSignInToken(secret: Buffer, upn: string, ttlSeconds: number, now = new Date()): string {
  const iat = Math.floor(now.getTime() / 1000);
  const payload: TokenPayload = {
    sub: upn,
    aud: AUDIENCE,
    iat,
    exp: iat + ttlSeconds,
    jti: randomBytes(8).toString('hex'),
  };
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  return `${body}.${mac(secret, body)}`;
}

/** A valid, unexpired sign-in token: its user, its id and when it expires. */
export interface SignInToken {
  readonly upn: string;
  readonly jti: string;
  readonly expiresAt: string;
}

/** The UPN in a valid, unexpired token; undefined otherwise. */
export function verifySignInToken(secret: Buffer, token: string, now = new Date()): string | undefined {
  return readSignInToken(secret, token, now)?.upn;
}

/** The contents of a valid, unexpired token; undefined otherwise. */
export function readSignInToken(secret: Buffer, token: string, now = new Date()): SignInToken | undefined {
  const dot = token.indexOf('.');
  if (dot <= 0) return undefined;
  const body = token.slice(0, dot);
  const given = Buffer.from(token.slice(dot + 1), 'base64url');
  const expected = Buffer.from(mac(secret, body), 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  let payload: Partial<TokenPayload>;
  try {
    payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Partial<TokenPayload>;
  } catch {
    return undefined;
  }
  if (
    payload.aud !== AUDIENCE ||
    typeof payload.sub !== 'string' ||
    typeof payload.exp !== 'number' ||
    typeof payload.jti !== 'string'
  ) {
    return undefined;
  }
  if (payload.exp * 1000 < now.getTime()) return undefined;
  return { upn: payload.sub, jti: payload.jti, expiresAt: new Date(payload.exp * 1000).toISOString() };
}

function mac(secret: Buffer, body: string): string {
  return createHmac('sha256', secret).update(body).digest('base64url');
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
