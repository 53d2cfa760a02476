// Admin API tokens: 256 random bits, shown once; only the SHA-256 is stored (a token this long
// needs no slow hash). Checked in constant time by looking up the hash.
import { createHash, randomBytes } from 'node:crypto';
import { type ApiToken, DEFAULT_TOKEN_ROLE, type TokenRole, type TokenStore } from '../storage/tokens.js';

const TOKEN_PREFIX = 'mdm_';

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export async function createApiToken(
  store: Pick<TokenStore, 'createToken'>,
  name: string,
  now = new Date(),
  role: TokenRole = DEFAULT_TOKEN_ROLE,
): Promise<{ id: string; token: string }> {
  const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
  const id = randomBytes(6).toString('hex');
  await store.createToken({ id, name, role, hash: hashToken(token), createdAt: now.toISOString() });
  return { id, token };
}

/** The live token a `Bearer` value stands for, or undefined. */
export async function verifyApiToken(
  store: Pick<TokenStore, 'findTokenByHash' | 'markTokenUsed'>,
  presented: string,
  now = new Date(),
): Promise<ApiToken | undefined> {
  if (!presented.startsWith(TOKEN_PREFIX) || presented.length > 200) return undefined;
  const token = await store.findTokenByHash(hashToken(presented));
  if (token) await store.markTokenUsed(token.id, now.toISOString());
  return token;
}
