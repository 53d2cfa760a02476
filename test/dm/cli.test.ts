// `mdm devices …` and `mdm commands …` against a real database file.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/index.js';
import { openSqliteStorage } from '../../src/storage/sqlite/index.js';
import { type CliRun, captureCli } from '../support/cli.js';
import { enrollment } from './support.js';

let root: string;
let configFile: string;
const dbFile = () => join(root, 'data', 'mdm.sqlite');

function mdm(...args: string[]): Promise<CliRun> {
  return captureCli(async () => {
    try {
      await buildProgram().parseAsync(['node', 'mdm', '--config', configFile, ...args]);
    } catch {
      // commander exit (usage errors) — the exit code tells
    }
  });
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'mdm-dm-cli-'));
  configFile = join(root, 'mdm.yaml');
  writeFileSync(configFile, `dataDir: ${join(root, 'data')}\ncertsDir: ${join(root, 'certs')}\n`);
  const storage = openSqliteStorage({ file: dbFile(), checkpointIntervalMs: 0 });
  await storage.devices.recordEnrollment(enrollment('DEV1', 'AA01'));
  await storage.close();
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('mdm commands add', () => {
  it('queues a Replace with value and format and audits the actor', async () => {
    const r = await mdm(
      'commands',
      'add',
      'DEV1',
      '--replace',
      './Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera',
      '--value',
      '0',
      '--format',
      'int',
      '--actor',
      'carol',
      '--tag',
      't1',
    );
    expect(r.code).toBe(0);
    const id = r.out.trim();
    const storage = openSqliteStorage({ file: dbFile(), checkpointIntervalMs: 0 });
    try {
      expect(await storage.commands.get(id)).toMatchObject({
        state: 'pending',
        origin: 'admin',
        tag: 't1',
        actor: 'carol',
        command: {
          verb: 'Replace',
          items: [
            { target: './Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera', format: 'int', data: '0' },
          ],
        },
      });
      expect((await storage.audit.list())[0]).toMatchObject({
        actor: 'carol',
        action: 'commands.replace',
        deviceId: 'DEV1',
        details: { commandId: id },
      });
    } finally {
      await storage.close();
    }
    const show = await mdm('commands', 'show', id);
    expect(show.out).toContain('Replace ./Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera');
    expect(show.out).toContain('state pending');
  });

  it.each([
    [['--get', '/DevDetail/SwV'], 'starts with ./'],
    [['--get', './DevDetail//SwV'], 'empty segments'],
    [['--replace', './a/b'], 'needs --value'],
    [['--get', './a', '--exec', './b'], 'exactly one'],
    [['--replace', './a', '--value', '1', '--format', 'text'], '--format must be one of'],
  ])('refuses %j', async (args, message) => {
    const r = await mdm('commands', 'add', 'DEV1', ...args);
    expect(r.code).not.toBe(0);
    expect(r.err).toContain(message);
  });

  it('refuses an Atomic holding a Get (Windows limit)', async () => {
    const { queueAdminCommand } = await import('../../src/dm/admin.js');
    const storage = openSqliteStorage({ file: dbFile(), checkpointIntervalMs: 0 });
    try {
      await expect(
        queueAdminCommand(storage, {
          deviceId: 'DEV1',
          actor: 'test',
          action: 'commands.atomic',
          command: { verb: 'Atomic', commands: [{ verb: 'Get', items: [{ target: './a' }] }] },
        }),
      ).rejects.toThrow('Get is not allowed inside Atomic');
    } finally {
      await storage.close();
    }
  });

  it('refuses an unknown device', async () => {
    const r = await mdm('commands', 'add', 'NOPE', '--get', './DevDetail/SwV');
    expect(r.code).toBe(1);
    expect(r.err).toContain('no device NOPE');
  });
});

describe('mdm devices actions', () => {
  it('wipe needs --yes; unenroll queues the DMClient Exec with the ProviderID', async () => {
    const refused = await mdm('devices', 'wipe', 'DEV1');
    expect(refused.code).toBe(2);
    expect(refused.err).toContain('--yes');
    const wipe = await mdm('devices', 'wipe', 'DEV1', '--yes');
    const unenroll = await mdm('devices', 'unenroll', 'DEV1');
    const storage = openSqliteStorage({ file: dbFile(), checkpointIntervalMs: 0 });
    try {
      expect((await storage.commands.get(wipe.out.trim()))?.command).toEqual({
        verb: 'Exec',
        items: [{ target: './Device/Vendor/MSFT/RemoteWipe/doWipe', format: 'chr', data: '' }],
      });
      expect(await storage.commands.get(unenroll.out.trim())).toMatchObject({
        origin: 'action',
        priority: 50,
        command: {
          verb: 'Exec',
          items: [
            {
              target: './Vendor/MSFT/DMClient/Provider/OpenWindowsMDM/Unenroll',
              format: 'chr',
              data: 'OpenWindowsMDM',
            },
          ],
        },
      });
    } finally {
      await storage.close();
    }
    const list = await mdm('devices', 'list', '--json');
    expect(JSON.parse(list.out)).toEqual([
      expect.objectContaining({
        deviceId: 'DEV1',
        status: 'enrolled',
        lastCheckInAt: null,
        pendingCommands: 3,
      }),
    ]);
    const show = await mdm('devices', 'show', 'DEV1');
    expect(show.out).toContain('Pending commands (3)');
    expect(show.out).toContain('last check-in never');
  });
});

describe('mdm audit list', () => {
  it('shows every admin command (who, what, when), newest first, without secrets', async () => {
    await mdm('users', 'add', 'audited@contoso.com', '--password', 'Sup3r-Secret!', '--actor', 'dave');
    const token = (await mdm('tokens', 'create', '--name', 'ci', '--actor', 'erin')).out.trim();
    const reboot = await mdm('devices', 'reboot', 'DEV1', '--actor', 'frank');
    const lock = await mdm('devices', 'lock', 'DEV1', '--actor', 'frank');
    const storage = openSqliteStorage({ file: dbFile(), checkpointIntervalMs: 0 });
    try {
      expect((await storage.commands.get(lock.out.trim()))?.command).toEqual({
        verb: 'Exec',
        items: [{ target: './Vendor/MSFT/RemoteLock/Lock' }],
      });
      expect((await storage.commands.get(reboot.out.trim()))?.command).toEqual({
        verb: 'Exec',
        items: [{ target: './Device/Vendor/MSFT/Reboot/RebootNow', format: 'null', data: '' }],
      });
    } finally {
      await storage.close();
    }
    const json = await mdm('audit', 'list', '--json');
    expect(json.code).toBe(0);
    const entries = JSON.parse(json.out) as {
      actor: string;
      action: string;
      at: string;
      deviceId?: string;
    }[];
    expect(entries.slice(0, 4).map((e) => [e.actor, e.action])).toEqual([
      ['frank', 'devices.lock'],
      ['frank', 'devices.reboot'],
      ['erin', 'tokens.create'],
      ['dave', 'users.add'],
    ]);
    expect(entries[0]).toMatchObject({ deviceId: 'DEV1', details: { commandId: lock.out.trim() } });
    expect(entries.every((e) => /^\d{4}-\d\d-\d\dT/.test(e.at))).toBe(true);
    expect(json.out).not.toContain('Sup3r-Secret!');
    expect(json.out).not.toContain(token);

    const device = JSON.parse((await mdm('audit', 'list', '--device', 'DEV1', '--json')).out) as {
      deviceId: string;
    }[];
    expect(device.length).toBeGreaterThan(0);
    expect(device.every((e) => e.deviceId === 'DEV1')).toBe(true);

    // Storing a new policy revision is audited; a dry run or an unchanged folder is not.
    expect((await mdm('policy', 'apply', 'examples/policy-folder', '--dry-run')).code).toBe(0);
    expect((await mdm('policy', 'apply', 'examples/policy-folder', '--actor', 'grace')).code).toBe(0);
    expect((await mdm('policy', 'apply', 'examples/policy-folder', '--actor', 'grace')).code).toBe(0);
    const applied = JSON.parse((await mdm('audit', 'list', '--json')).out) as {
      actor: string;
      action: string;
      details: { revision: number; changes: string[] };
    }[];
    expect(applied.filter((e) => e.action === 'policy.apply')).toEqual([
      expect.objectContaining({ actor: 'grace', details: expect.objectContaining({ revision: 1 }) }),
    ]);
    expect(applied[0]!.details.changes.length).toBeGreaterThan(0);

    const text = await mdm('audit', 'list', '--device', 'DEV1', '--limit', '1');
    expect(text.out.split('\n')[1]).toMatch(/^\S+\tfrank\tdevices\.lock\tDEV1\tcommandId=/);
    const bad = await mdm('audit', 'list', '--limit', 'zero');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--limit');
  });
});
