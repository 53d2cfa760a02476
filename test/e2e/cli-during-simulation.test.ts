// CLI writes beside a running fleet: while `mdm simulate` (another process) keeps the server's
// SQLite database busy with OMA-DM sessions, `mdm policy apply` and `mdm users add` (more
// processes) wait their turn for the write lock under the busy timeout and succeed; they never fail
// with "database is locked".
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'test', 'support', 'mdm-cli.ts');
const USER = 'sim@contoso.com';
const PASSWORD = 'Sim-pass-1';

interface Run {
  readonly code: number | null;
  readonly out: string;
  readonly err: string;
}

function mdm(args: readonly string[]): { child: ChildProcess; done: Promise<Run> } {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr!.on('data', (c: Buffer) => (err += c.toString('utf8')));
  const done = new Promise<Run>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
  return { child, done };
}

describe('CLI writes while a simulation runs (SQLite)', () => {
  let server: TestServer;
  afterAll(async () => server?.close());

  it('stores policy revisions and users while another process runs sessions', async () => {
    server = await startTestServer();
    await server.addUser(USER, PASSWORD);
    const config = join(server.dataDir, '..', 'mdm.yaml');
    writeFileSync(config, server.configYaml());
    const policyDir = join(server.dataDir, '..', 'policies');
    mkdirSync(policyDir, { recursive: true });
    const policy = (value: number) => {
      writeFileSync(
        join(policyDir, 'camera.yaml'),
        `name: camera\nsettings:\n  - path: Camera/AllowCamera\n    value: ${value}\n`,
      );
      writeFileSync(
        join(policyDir, 'assignments.yaml'),
        'assignments:\n  - policy: camera\n    include: [all]\n',
      );
    };

    const sim = mdm([
      '--config',
      config,
      'simulate',
      '--devices',
      '12',
      '--checkins',
      '100000',
      '--concurrency',
      '12',
      '--server',
      server.url,
      '--user',
      USER,
      '--password',
      PASSWORD,
      '--share-key',
      '--json',
    ]);
    let simulating = true;
    void sim.done.then(() => {
      simulating = false;
    });
    // Wait until the fleet is enrolled and checking in.
    for (let i = 0; i < 600; i++) {
      if ((await server.storage.devices.listDevices({})).length >= 12) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(simulating).toBe(true);

    const sessions = async () => (await server.storage.checkIns.list()).reduce((n, c) => n + c.sessions, 0);
    const sessionsBefore = await sessions();
    const results: Run[] = [];
    let overlapped = 0;
    for (let n = 0; n < 2; n++) {
      policy(n % 2);
      results.push(await mdm(['--config', config, 'policy', 'apply', policyDir]).done);
      results.push(
        await mdm(['--config', config, 'users', 'add', `admin-${n}@contoso.com`, '--password', 'pw']).done,
      );
      if (simulating) overlapped++;
    }
    for (const r of results) expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: '' });
    expect(results.filter((r) => /stored revision \d+/.test(r.out))).toHaveLength(2);
    // Every write ran while the simulation was still going, and the fleet kept checking in.
    expect(overlapped).toBe(2);
    expect(await sessions()).toBeGreaterThan(sessionsBefore + 12);
    sim.child.kill('SIGTERM');
    await sim.done;
    expect((await server.storage.policies.currentPolicySet()).revision).toBe(2);
    expect(await server.storage.users.getUser('admin-1@contoso.com')).toBeDefined();
  }, 300_000);
});
