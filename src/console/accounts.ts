// Console admin accounts: `mdm admins add|list|remove` and the console sign-in check. Passwords are
// hashed like enrollment users' (src/enrollment/passwords.ts); an account's role is what it may do
// in the console and through the admin API (README "Web console").
import { DUMMY_HASH_PROMISE, hashPassword, verifyPassword } from '../enrollment/passwords.js';
import { ADMIN_ROLES, type AdminAccount, type AdminAccountStore, type AdminRole } from '../storage/admins.js';

export class AdminAccountError extends Error {
  override name = 'AdminAccountError';
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;
export const MIN_PASSWORD_LENGTH = 12;

export function parseRole(role: string): AdminRole {
  if ((ADMIN_ROLES as readonly string[]).includes(role)) return role as AdminRole;
  throw new AdminAccountError(`role must be one of ${ADMIN_ROLES.join(', ')}`);
}

export async function addAdminAccount(
  store: AdminAccountStore,
  name: string,
  role: string,
  password: string,
): Promise<void> {
  const trimmed = name.trim();
  if (!NAME.test(trimmed)) {
    throw new AdminAccountError('an admin name is 1-128 letters, digits, ".", "_", "@" or "-"');
  }
  const parsed = parseRole(role);
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw new AdminAccountError(`the password must be at least ${MIN_PASSWORD_LENGTH} characters`);
  }
  if (!(await store.add(trimmed, parsed, await hashPassword(password)))) {
    throw new AdminAccountError(`admin ${trimmed} already exists`);
  }
}

/** The account when `password` is right; undefined otherwise, in even time for unknown names. */
export async function checkAdminPassword(
  store: AdminAccountStore,
  name: string,
  password: string,
): Promise<AdminAccount | undefined> {
  const account = await store.get(name.trim());
  const ok = await verifyPassword(password, account?.passwordHash ?? (await DUMMY_HASH_PROMISE));
  return ok && account ? account : undefined;
}
