// Enrollment users: the accounts that may enroll a device (OnPremise UsernameToken and the
// Federated sign-in page both check this store). Passwords are stored only as scrypt hashes;
// hashing lives in `src/enrollment/passwords.ts`.

export interface UserRecord {
  /** User principal name as typed on the device (case-insensitive match). */
  readonly upn: string;
  /** `scrypt$…` hash string, never the password. */
  readonly passwordHash: string;
  /** ISO-8601 UTC. */
  readonly createdAt: string;
}

export interface UserStore {
  /** Adds a user; returns false (and changes nothing) when the UPN already exists. */
  addUser(upn: string, passwordHash: string): Promise<boolean>;
  /** Looks a user up by UPN, case-insensitively. */
  getUser(upn: string): Promise<UserRecord | undefined>;
  /** All users, sorted by UPN. */
  listUsers(): Promise<UserRecord[]>;
  /** Removes a user; returns false when there was none. Enrolled devices keep their enrollment. */
  removeUser(upn: string): Promise<boolean>;
}
