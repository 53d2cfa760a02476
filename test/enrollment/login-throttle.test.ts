import { describe, expect, it } from 'vitest';
import { checkPassword } from '../../src/enrollment/auth.js';
import { createLoginThrottle } from '../../src/enrollment/login-throttle.js';
import { hashPassword } from '../../src/enrollment/passwords.js';
import { openSqliteStorage } from '../../src/storage/sqlite/index.js';
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
    const storage = openSqliteStorage({ file: ':memory:' });
    const throttle = createLoginThrottle(storage.loginThrottle, { maxFailures: 3, windowMs: 60_000 });
    const t0 = new Date('2026-01-01T00:00:00Z');
    for (let i = 0; i < 3; i++) {
      expect(await checkPassword(users, 'ann@contoso.com', 'wrong', throttle, t0)).toBeUndefined();
    }
    expect(await checkPassword(users, 'ANN@contoso.com', 'correct horse', throttle, t0)).toBeUndefined();
    const later = new Date(t0.getTime() + 60_000);
    expect(await checkPassword(users, 'ann@contoso.com', 'correct horse', throttle, later)).toBe(
      'ann@contoso.com',
    );
    await storage.close();
  });

  it('forgets failures after a success; every throttle on one database counts the same failures', async () => {
    const storage = openSqliteStorage({ file: ':memory:' });
    // Two server instances: each has its own throttle over the shared store.
    const one = createLoginThrottle(storage.loginThrottle, { maxFailures: 2, windowMs: 60_000 });
    const two = createLoginThrottle(storage.loginThrottle, { maxFailures: 2, windowMs: 60_000 });
    const now = new Date();
    await one.recordFailure('a', now);
    await one.recordSuccess('A');
    await one.recordFailure('a', now);
    expect(await two.isLocked('a', now)).toBe(false);
    await two.recordFailure('a', now);
    expect(await one.isLocked('a', now)).toBe(true);
    expect(await two.isLocked(' A ', now)).toBe(true);
    expect(await one.isLocked('b', now)).toBe(false);
    await storage.close();
  });
});
