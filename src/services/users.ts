// Enrollment users, shared by `mdm users …` and the admin API; audited by UPN, never the password.
import { addUser as storeUser, UserError } from '../enrollment/users.js';
import type { Storage } from '../storage/index.js';

export { UserError };

export async function addUser(
  storage: Storage,
  r: { readonly upn: string; readonly password: string; readonly actor: string },
): Promise<string> {
  await storeUser(storage.users, r.upn, r.password);
  await storage.audit.record({ actor: r.actor, action: 'users.add', details: { upn: r.upn.trim() } });
  return r.upn.trim();
}

/** False for an unknown user. */
export async function removeUser(storage: Storage, r: { readonly upn: string; readonly actor: string }) {
  const upn = r.upn.trim();
  if (!(await storage.users.removeUser(upn))) return false;
  await storage.audit.record({ actor: r.actor, action: 'users.remove', details: { upn } });
  return true;
}
