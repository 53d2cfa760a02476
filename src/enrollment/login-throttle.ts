// Brute-force protection for password sign-in (OnPremise UsernameToken and the Federated sign-in
// page): after `maxFailures` wrong passwords for one user name within `windowMs`, further attempts
// for that name are refused without checking the password until the window has passed. The count
// lives in the database, so every server instance refuses the same names.
import type { LoginThrottleStore } from '../storage/throttle.js';

export interface LoginThrottleOptions {
  readonly maxFailures?: number;
  readonly windowMs?: number;
}

export interface LoginThrottle {
  /** True while the name is locked out. */
  isLocked(upn: string, now: Date): Promise<boolean>;
  recordFailure(upn: string, now: Date): Promise<void>;
  recordSuccess(upn: string): Promise<void>;
}

export function createLoginThrottle(
  store: LoginThrottleStore,
  options: LoginThrottleOptions = {},
): LoginThrottle {
  const maxFailures = options.maxFailures ?? 10;
  const windowMs = options.windowMs ?? 15 * 60_000;
  const key = (upn: string) => upn.trim().toLowerCase();
  return {
    async isLocked(upn, now) {
      return (await store.failures(key(upn), now, windowMs)) >= maxFailures;
    },
    async recordFailure(upn, now) {
      await store.recordFailure(key(upn), now, windowMs);
    },
    async recordSuccess(upn) {
      await store.clear(key(upn));
    },
  };
}
