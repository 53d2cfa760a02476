// Brute-force protection for password sign-in (OnPremise UsernameToken and the Federated sign-in
// page): after `maxFailures` wrong passwords for one user name within `windowMs`, further attempts
// for that name are refused without checking the password until the window has passed.
// Per process and in memory: a restart or another instance starts counting afresh.

export interface LoginThrottleOptions {
  readonly maxFailures?: number;
  readonly windowMs?: number;
  /** Upper bound on tracked names, so random user names cannot grow memory without limit. */
  readonly maxTracked?: number;
}

export interface LoginThrottle {
  /** True while the name is locked out. */
  isLocked(upn: string, now: Date): boolean;
  recordFailure(upn: string, now: Date): void;
  recordSuccess(upn: string): void;
}

interface Failures {
  first: number;
  count: number;
}

export function createLoginThrottle(options: LoginThrottleOptions = {}): LoginThrottle {
  const maxFailures = options.maxFailures ?? 10;
  const windowMs = options.windowMs ?? 15 * 60_000;
  const maxTracked = options.maxTracked ?? 10_000;
  const failures = new Map<string, Failures>();
  const key = (upn: string) => upn.trim().toLowerCase();

  function current(upn: string, now: Date): Failures | undefined {
    const entry = failures.get(key(upn));
    if (entry && now.getTime() - entry.first >= windowMs) {
      failures.delete(key(upn));
      return undefined;
    }
    return entry;
  }

  return {
    isLocked(upn, now) {
      return (current(upn, now)?.count ?? 0) >= maxFailures;
    },
    recordFailure(upn, now) {
      const entry = current(upn, now);
      if (entry) {
        entry.count++;
        return;
      }
      // Oldest entries go first (Map keeps insertion order).
      if (failures.size >= maxTracked) failures.delete(failures.keys().next().value!);
      failures.set(key(upn), { first: now.getTime(), count: 1 });
    },
    recordSuccess(upn) {
      failures.delete(key(upn));
    },
  };
}
