// Console accounts and sessions over real HTTPS, on SQLite and PostgreSQL: sign-in sets an
// HttpOnly/Secure/SameSite=Strict cookie whose hash alone is stored; the admin API accepts the
// cookie for reads and, with the CSRF token, for writes; sign-out and the idle timeout end the
// session; failed sign-ins are throttled and audited; `mdm admins` manages the accounts.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSessionId, SESSION_COOKIE } from '../../src/api/session-auth.js';
import { main } from '../../src/cli/index.js';
import { addAdminAccount } from '../../src/console/accounts.js';
import { describeBackends } from '../support/backends.js';
import { captureCli } from '../support/cli.js';
import { request } from '../support/enroll-client.js';
import { startTestServer, type TestServer } from '../support/server.js';

const PASSWORD = 'console-pass-123';

describeBackends('console session', (backend) => {
  let server: TestServer;
  const tls = () => ({ serverCa: server.tlsCertPem });

  async function signIn(name: string, password: string, headers: Record<string, string> = {}) {
    const res = await request(`${server.url}/console/session`, {
      ...tls(),
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ name, password }),
    });
    const setCookie = res.headers['set-cookie']?.[0] ?? '';
    const cookie = setCookie.split(';')[0] ?? '';
    return { res, setCookie, cookie, body: res.body ? JSON.parse(res.body) : undefined };
  }

  beforeAll(async () => {
    server = await startTestServer({ consoleMaxFailedSignIns: 3 }, { backend });
    await addAdminAccount(server.storage.admins, 'alice', 'admin', PASSWORD);
    await addAdminAccount(server.storage.admins, 'audrey', 'auditor', PASSWORD);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('serves the console page with a strict content security policy', async () => {
    const page = await request(`${server.url}/console`, tls());
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain('<script type="module" src="/console/assets/app.js">');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    const js = await request(`${server.url}/console/assets/app.js`, tls());
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toMatch(/javascript/);
    const missing = await request(`${server.url}/console/assets/nope.js`, tls());
    expect(missing.status).toBe(404);
  });

  it('signs in with a session cookie that is HttpOnly, Secure and SameSite=Strict', async () => {
    const { res, setCookie, cookie, body } = await signIn('alice', PASSWORD);
    expect(res.status).toBe(201);
    expect(setCookie).toMatch(new RegExp(`^${SESSION_COOKIE}=[A-Za-z0-9_-]{43}; `));
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('Secure');
    expect(setCookie).toContain('SameSite=Strict');
    expect(setCookie).toContain('Path=/');
    expect(body).toMatchObject({ name: 'alice', role: 'admin', idleMinutes: 30 });
    expect(body.csrfToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // Only the hash of the cookie value is stored.
    const id = cookie.split('=')[1]!;
    const stored = await server.storage.admins.getSession(hashSessionId(id));
    expect(stored?.adminName).toBe('alice');
    expect(JSON.stringify(stored)).not.toContain(id);

    const me = await request(`${server.url}/console/session`, { ...tls(), headers: { cookie } });
    expect(me.status).toBe(200);
    expect(JSON.parse(me.body)).toEqual({
      name: 'alice',
      role: 'admin',
      csrfToken: body.csrfToken,
      idleMinutes: 30,
    });

    // The admin API accepts the cookie instead of a Bearer token.
    const report = await request(`${server.url}/api/v1/compliance`, { ...tls(), headers: { cookie } });
    expect(report.status).toBe(200);
    expect(JSON.parse(report.body)).toEqual({ devices: [] });
    const entries = await server.storage.audit.list({ limit: 20 });
    expect(entries.some((e) => e.action === 'console.sign_in' && e.actor === 'console:alice')).toBe(true);
  });

  it('refuses a write without the CSRF token, and with a wrong one or a foreign Origin', async () => {
    const { cookie, body } = await signIn('alice', PASSWORD);
    const attempts: Record<string, string>[] = [
      { cookie },
      { cookie, 'x-csrf-token': 'not-the-token' },
      { cookie, 'x-csrf-token': body.csrfToken, origin: 'https://evil.example' },
    ];
    for (const headers of attempts) {
      const res = await request(`${server.url}/console/session`, { ...tls(), method: 'DELETE', headers });
      expect(res.status).toBe(403);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      const api = await request(`${server.url}/api/v1/compliance`, {
        ...tls(),
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: '{}',
      });
      expect(api.status).toBe(403);
      expect(JSON.parse(api.body)).toMatchObject({ status: 403, title: 'Forbidden' });
    }
    const refused = await server.storage.audit.list({ limit: 50 });
    expect(refused.some((e) => e.action === 'console.csrf_refused')).toBe(true);
    // With the token, sign-out works, and the cookie is then dead.
    const out = await request(`${server.url}/console/session`, {
      ...tls(),
      method: 'DELETE',
      headers: { cookie, 'x-csrf-token': body.csrfToken, origin: server.url },
    });
    expect(out.status).toBe(204);
    expect(out.headers['set-cookie']?.[0]).toContain('Max-Age=0');
    const after = await request(`${server.url}/api/v1/compliance`, { ...tls(), headers: { cookie } });
    expect(after.status).toBe(401);
  });

  it('ends a session after the idle timeout', async () => {
    const { cookie } = await signIn('audrey', PASSWORD);
    const idHash = hashSessionId(cookie.split('=')[1]!);
    const stored = (await server.storage.admins.getSession(idHash))!;
    // Pretend the last request was 31 minutes ago.
    await server.storage.admins.deleteSession(idHash);
    const old = new Date(Date.now() - 31 * 60_000).toISOString();
    await server.storage.admins.createSession({ ...stored, lastSeenAt: old, createdAt: old });
    const res = await request(`${server.url}/api/v1/compliance`, { ...tls(), headers: { cookie } });
    expect(res.status).toBe(401);
    expect(JSON.parse(res.body).detail).toMatch(/timed out/);
    expect(await server.storage.admins.getSession(idHash)).toBeUndefined();
  });

  it('throttles and audits failed sign-ins', async () => {
    for (let i = 0; i < 3; i++) {
      const { res } = await signIn('audrey', 'wrong-password!');
      expect(res.status).toBe(401);
      expect(res.headers['set-cookie']).toBeUndefined();
    }
    // Locked now, even with the right password.
    const locked = await signIn('audrey', PASSWORD);
    expect(locked.res.status).toBe(429);
    expect(locked.res.headers['retry-after']).toBe('900');
    const unknown = await signIn('nobody', PASSWORD);
    expect(unknown.res.status).toBe(401);
    const entries = await server.storage.audit.list({ limit: 100 });
    expect(
      entries.filter((e) => e.action === 'console.sign_in_failed' && e.actor === 'console:audrey'),
    ).toHaveLength(3);
    expect(entries.some((e) => e.action === 'console.sign_in_refused')).toBe(true);
    expect(JSON.stringify(entries)).not.toContain('wrong-password!');
    expect(JSON.stringify(entries)).not.toContain(PASSWORD);
  });

  it('refuses a sign-in that is not JSON from this origin', async () => {
    const form = await request(`${server.url}/console/session`, {
      ...tls(),
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `name=alice&password=${PASSWORD}`,
    });
    expect(form.status).toBe(403);
    const foreign = await signIn('alice', PASSWORD, { origin: 'https://evil.example' });
    expect(foreign.res.status).toBe(403);
    const bad = await request(`${server.url}/console/session`, {
      ...tls(),
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"name": 1',
    });
    expect(bad.status).toBe(400);
  });

  describe('mdm admins', () => {
    it('adds, lists and removes accounts with a role; the password is hashed', async () => {
      const configFile = join(server.dataDir, '..', `mdm-admins-${backend}.yaml`);
      writeFileSync(configFile, server.configYaml());
      const cli = (...args: string[]) =>
        captureCli(() => main(['node', 'mdm', '--config', configFile, ...args]));
      const added = await cli('admins', 'add', 'olga', '--role', 'operator', '--password', 'operator-pass-1');
      expect(added).toMatchObject({ code: 0, out: 'added olga (operator)\n' });
      const account = await server.storage.admins.get('OLGA');
      expect(account?.role).toBe('operator');
      expect(account?.passwordHash).toMatch(/^scrypt\$/);
      expect((await signIn('olga', 'operator-pass-1')).body).toMatchObject({ role: 'operator' });

      expect(
        (await cli('admins', 'add', 'olga', '--role', 'admin', '--password', 'operator-pass-1')).code,
      ).toBe(1);
      const badRole = await cli('admins', 'add', 'x', '--role', 'root', '--password', 'operator-pass-1');
      expect(badRole.code).toBe(1);
      expect(badRole.err).toContain('role must be one of admin, operator, auditor');
      expect((await cli('admins', 'add', 'y', '--role', 'admin', '--password', 'short')).code).toBe(1);

      const list = JSON.parse((await cli('admins', 'list', '--json')).out);
      expect(list.map((a: { name: string; role: string }) => `${a.name}:${a.role}`)).toEqual([
        'alice:admin',
        'audrey:auditor',
        'olga:operator',
      ]);
      expect(JSON.stringify(list)).not.toContain('scrypt');
      expect((await cli('admins', 'remove', 'olga')).code).toBe(0);
      expect(await server.storage.admins.get('olga')).toBeUndefined();
      expect((await cli('admins', 'remove', 'olga')).code).toBe(1);
      const audit = await server.storage.audit.list({ limit: 200 });
      expect(audit.some((e) => e.action === 'admins.add' && e.details.name === 'olga')).toBe(true);
      expect(JSON.stringify(audit)).not.toContain('operator-pass-1');
    });
  });
});
