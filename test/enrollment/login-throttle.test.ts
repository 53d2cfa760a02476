import { describe, expect, it } from 'vitest';
import { checkPassword } from '../../src/enrollment/auth.js';
import { createLoginThrottle } from '../../src/enrollment/login-throttle.js';
import { hashPassword } from '../../src/enrollment/passwords.js';
import type { UserStore } from '../../src/storage/users.js';

async function oneUserStore(upn: string, password: string): Promise<UserStore> {
  const passwordHash = await hashPassword(password);
  const record = { upn, passwordHash, createdAt: new Date(0).toISOString() };
  return {
    addUser: async () => false,
    getUser: async (name: string) => (name.toLowerCase() === upn ? record : undefined),
    listUsers: async () => [record],
    removeUser: async () => false,
  };
}

describe('password brute-force throttle', () => {
  it('locks a user name after repeated failures, even for the right password, until the window passes', async () => {
    const users = await oneUserStore('ann@contoso.com', 'correct horse');
    const throttle = createLoginThrottle({ maxFailures: 3, windowMs: 60_000 });
    const t0 = new Date('2026-01-01T00:00:00Z');
    for (let i = 0; i < 3; i++) {
      expect(await checkPassword(users, 'ann@contoso.com', 'wrong', throttle, t0)).toBeUndefined();
    }
    expect(await checkPassword(users, 'ANN@contoso.com', 'correct horse', throttle, t0)).toBeUndefined();
    const later = new Date(t0.getTime() + 60_000);
    expect(await checkPassword(users, 'ann@contoso.com', 'correct horse', throttle, later)).toBe(
      'ann@contoso.com',
    );
  });

  it('forgets failures after a success and bounds the names it tracks', async () => {
    const throttle = createLoginThrottle({ maxFailures: 2, windowMs: 60_000, maxTracked: 2 });
    const now = new Date();
    throttle.recordFailure('a', now);
    throttle.recordSuccess('a');
    throttle.recordFailure('a', now);
    expect(throttle.isLocked('a', now)).toBe(false);
    throttle.recordFailure('a', now);
    expect(throttle.isLocked('a', now)).toBe(true);
    throttle.recordFailure('b', now);
    throttle.recordFailure('c', now);
    expect(throttle.isLocked('a', now)).toBe(false);
  });
});
