// Failed password sign-ins per user name, shared by every server instance (enrollment's password
// throttle, src/enrollment/login-throttle.ts).

export interface LoginThrottleStore {
  /**
   * Records one failure for `key` and returns the failures counted in the window that contains
   * `at` (a window opens at the first failure and lasts `windowMs`).
   */
  recordFailure(key: string, at: Date, windowMs: number): Promise<number>;
  /** Failures counted in `key`'s window when that window (of `windowMs`) is still open at `at`; else 0. */
  failures(key: string, at: Date, windowMs: number): Promise<number>;
  /** Clears `key` (a successful sign-in). */
  clear(key: string): Promise<void>;
}
