// User administration shared by the CLI and tests: the only place that hashes passwords.
import type { UserStore } from '../storage/users.js';
import { hashPassword } from './passwords.js';

export class UserError extends Error {
  override name = 'UserError';
}

/** Adds an enrollment user with a scrypt-hashed password. */
export async function addUser(users: UserStore, upn: string, password: string): Promise<void> {
  const name = upn.trim();
  if (!name || /\s/.test(name))
    throw new UserError('the user name must be a UPN without spaces (user@domain)');
  if (!password) throw new UserError('the password must not be empty');
  if (!(await users.addUser(name, await hashPassword(password)))) {
    throw new UserError(`user ${name} already exists`);
  }
}
