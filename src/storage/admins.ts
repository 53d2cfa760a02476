// Console admin accounts and their signed-in sessions (docs: README "Web console"). Separate from
// enrollment users: an admin account signs in to `/console` and acts through the admin API with
// its role. Passwords are stored only as scrypt hashes (src/enrollment/passwords.ts); a session is
// stored as the SHA-256 of its cookie value, never the value itself.

export const ADMIN_ROLES = ['admin', 'operator', 'auditor'] as const;
export type AdminRole = (typeof ADMIN_ROLES)[number];

export interface AdminAccount {
  /** Sign-in name (case-insensitive match). */
  readonly name: string;
  readonly role: AdminRole;
  /** `scrypt$…` hash string, never the password. */
  readonly passwordHash: string;
  /** ISO-8601 UTC. */
  readonly createdAt: string;
}

export interface AdminSession {
  /** SHA-256 (hex) of the session cookie's value. */
  readonly idHash: string;
  readonly adminName: string;
  /** The CSRF token the console sends in `X-CSRF-Token` on every write. */
  readonly csrfToken: string;
  readonly createdAt: string;
  /** Last request seen (the idle timeout counts from here). */
  readonly lastSeenAt: string;
}

export interface AdminAccountStore {
  /** Adds an account; false (and nothing changed) when the name exists. */
  add(name: string, role: AdminRole, passwordHash: string): Promise<boolean>;
  get(name: string): Promise<AdminAccount | undefined>;
  /** Sorted by name. */
  list(): Promise<AdminAccount[]>;
  /** Removes the account and its sessions; false when there was none. */
  remove(name: string): Promise<boolean>;
  setPassword(name: string, passwordHash: string): Promise<boolean>;
  createSession(session: AdminSession): Promise<void>;
  getSession(idHash: string): Promise<AdminSession | undefined>;
  /** Marks the session used at `at`. */
  touchSession(idHash: string, at: string): Promise<void>;
  deleteSession(idHash: string): Promise<void>;
  /** Deletes sessions last seen before `before`; returns how many. */
  deleteIdleSessions(before: string): Promise<number>;
}
