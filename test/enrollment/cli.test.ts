// `mdm users …` and `mdm ca show` against a temporary data and certs folder (via --config).
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/index.js';
import { verifyPassword } from '../../src/enrollment/passwords.js';
import { loadOrCreateCa } from '../../src/pki/ca.js';
import { openSqliteStorage } from '../../src/storage/sqlite/index.js';
import { type CliRun, captureCli } from '../support/cli.js';

const root = mkdtempSync(join(tmpdir(), 'mdm-cli-'));
const configFile = join(root, 'mdm.yaml');
writeFileSync(configFile, `dataDir: ${join(root, 'data')}\ncertsDir: ${join(root, 'certs')}\n`);
afterAll(() => rmSync(root, { recursive: true, force: true }));
afterEach(() => {
  process.exitCode = undefined;
});

function mdm(...args: string[]): Promise<CliRun> {
  return captureCli(() => main(['node', 'mdm', '--config', configFile, ...args]));
}

describe('mdm users', () => {
  it('adds (scrypt-hashed), lists, refuses duplicates and removes', async () => {
    expect(await mdm('users', 'add', 'demo@contoso.com', '--password', 'pw-1')).toMatchObject({
      out: 'added demo@contoso.com\n',
      code: 0,
    });
    const storage = openSqliteStorage({ file: join(root, 'data', 'mdm.sqlite'), checkpointIntervalMs: 0 });
    try {
      const user = await storage.users.getUser('demo@contoso.com');
      expect(user?.passwordHash).toMatch(/^scrypt\$/);
      expect(await verifyPassword('pw-1', user!.passwordHash)).toBe(true);
    } finally {
      await storage.close();
    }
    const dup = await mdm('users', 'add', 'DEMO@contoso.com', '--password', 'x');
    expect(dup.code).toBe(1);
    expect(dup.err).toMatch(/already exists/);
    const list = await mdm('users', 'list', '--json');
    expect(JSON.parse(list.out).map((u: { upn: string }) => u.upn)).toEqual(['demo@contoso.com']);
    expect((await mdm('users', 'remove', 'demo@contoso.com')).out).toBe('removed demo@contoso.com\n');
    const again = await mdm('users', 'remove', 'demo@contoso.com');
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/no user/);
    expect((await mdm('users', 'list')).out).toMatch(/no users/);
  });

  it('writes adding and removing a user to the audit log, never the password', async () => {
    await mdm('users', 'add', 'audit@contoso.com', '--password', 'hunter2-secret', '--actor', 'alice');
    await mdm('users', 'remove', 'audit@contoso.com', '--actor', 'bob');
    const storage = openSqliteStorage({ file: join(root, 'data', 'mdm.sqlite'), checkpointIntervalMs: 0 });
    try {
      const entries = (await storage.audit.list()).filter((e) => e.details.upn === 'audit@contoso.com');
      expect(entries.map((e) => [e.actor, e.action])).toEqual([
        ['bob', 'users.remove'],
        ['alice', 'users.add'],
      ]);
      expect(JSON.stringify(entries)).not.toContain('hunter2-secret');
    } finally {
      await storage.close();
    }
  });

  it('requires --password', async () => {
    const res = await mdm('users', 'add', 'a@b.c');
    expect(res.code).not.toBe(0);
    expect(res.err).toMatch(/password/);
  });
});

describe('mdm ca show', () => {
  it('shows the same CA the server uses', async () => {
    const res = await mdm('ca', 'show');
    const ca = loadOrCreateCa({ certsDir: join(root, 'certs') });
    expect(res.out).toContain(ca.thumbprint);
    expect(res.out).toMatch(/development CA/);
    expect((await mdm('ca', 'show', '--pem')).out).toBe(ca.pem);
  });
});

describe('npm start (src/main.ts)', () => {
  it('exits with status 2 and names a bad MDM_* value and its variable', async () => {
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', 'src/main.ts'],
        { env: { ...process.env, MDM_PORT: 'eighty', MDM_DATA_DIR: join(root, 'never') }, timeout: 20_000 },
        (err, _stdout, stderr) => resolve({ code: err ? (err.code as number | null) : 0, stderr }),
      );
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/invalid configuration:\n\s+port \(MDM_PORT\)/);
  });
});

describe('mdm serve', () => {
  it('fails at start with a message naming a bad setting and its source', async () => {
    const printed = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const res = await mdm('serve', '--port', 'eighty');
      expect(res.code).toBe(2);
      expect(printed.mock.calls.flat().join('\n')).toMatch(/port \(--port\)/);
      const url = await mdm('serve', '--public-url', 'ftp://example.com');
      expect(url.code).toBe(2);
      expect(printed.mock.calls.flat().join('\n')).toMatch(/publicUrl \(--public-url\)/);
    } finally {
      printed.mockRestore();
    }
  });
});
