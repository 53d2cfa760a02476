// API tokens, shared by `mdm tokens …` and the admin API: created with a role, shown once, revoked;
// audited by name and id, never by value.
import { createApiToken } from '../reporting/api-tokens.js';
import type { Storage } from '../storage/index.js';
import { DEFAULT_TOKEN_ROLE, type TokenRole } from '../storage/tokens.js';

export async function createToken(
  storage: Storage,
  r: { readonly name: string; readonly role?: TokenRole; readonly actor: string },
): Promise<{ id: string; token: string; role: TokenRole }> {
  const role = r.role ?? DEFAULT_TOKEN_ROLE;
  const { id, token } = await createApiToken(storage.tokens, r.name, new Date(), role);
  await storage.audit.record({
    actor: r.actor,
    action: 'tokens.create',
    details: { id, name: r.name, role },
  });
  return { id, token, role };
}

/** False when no live token has this id. */
export async function revokeToken(storage: Storage, r: { readonly id: string; readonly actor: string }) {
  if (!(await storage.tokens.revokeToken(r.id, new Date().toISOString()))) return false;
  await storage.audit.record({ actor: r.actor, action: 'tokens.revoke', details: { id: r.id } });
  return true;
}
