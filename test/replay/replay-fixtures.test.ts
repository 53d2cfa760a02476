// Every folder under fixtures/ replays clean against a fresh in-process server; a changed
// expectation is reported as a readable per-message diff.
import { chmodSync, cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fixtureDirs, replayInProcess } from '../../src/cli/replay.js';
import { readFixture } from '../../src/replay/fixture.js';
import { formatReplay } from '../../src/replay/runner.js';

const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures');
const folders = readdirSync(FIXTURES, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

describe('fixtures/ replay', () => {
  it('holds the real Windows captures and the simulator sessions', () => {
    expect(folders).toEqual(
      expect.arrayContaining([
        'windows10-enrollment',
        'windows10-syncml-marcosd4h',
        'windows10-syncml-fleet-unenroll',
        'simulator-all-commands',
        'simulator-enrollment',
      ]),
    );
    expect(fixtureDirs([FIXTURES]).length).toBe(folders.length);
  });

  it('covers every command type and the device status codes in the simulator sessions', () => {
    const f = readFixture(join(FIXTURES, 'simulator-all-commands'));
    const server = f.exchanges.map((x) => x.response.body).join('');
    for (const verb of ['Get', 'Add', 'Replace', 'Delete', 'Exec', 'Atomic', 'Sequence']) {
      expect(server, verb).toContain(`<${verb}><CmdID>`);
    }
    const device = f.exchanges.map((x) => x.request.body).join('');
    for (const code of [200, 202, 215, 216, 400, 404, 405, 415, 418, 500, 507]) {
      expect(device, String(code)).toContain(`<Data>${code}</Data></Status>`);
    }
    expect(device).toContain('<Results>');
  });

  it.each(folders)('%s replays clean', async (name) => {
    const [result] = await replayInProcess([readFixture(join(FIXTURES, name))]);
    expect(result!.ok, formatReplay(result!)).toBe(true);
    expect(result!.exchanges.length).toBeGreaterThan(0);
  });
});

describe('a fixture whose expectation no longer holds', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'mdm-replay-test-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('fails with a diff naming the message and the changed line', async () => {
    const dir = join(tmp, 'fleet');
    cpSync(join(FIXTURES, 'windows10-syncml-fleet-unenroll'), dir, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    const file = join(dir, manifest.exchanges[1].response.body);
    const original = readFileSync(file, 'utf8');
    // Pretend the server used to refuse the 1226 alert.
    chmodSync(file, 0o644);
    writeFileSync(
      file,
      original.replace(
        '<CmdRef>4</CmdRef><Cmd>Alert</Cmd><Data>200</Data>',
        '<CmdRef>4</CmdRef><Cmd>Alert</Cmd><Data>415</Data>',
      ),
    );
    const [result] = await replayInProcess([readFixture(dir)]);
    expect(result!.ok).toBe(false);
    const text = formatReplay(result!);
    expect(text).toContain('FAIL windows10-syncml-fleet-unenroll');
    expect(text).toContain('message 2: POST /ManagementServer/MDM.svc?mode=Maintenance&Platform=WoA');
    expect(text).toMatch(/- +<Data>415<\/Data>/);
    expect(text).toMatch(/\+ +<Data>200<\/Data>/);
    expect(result!.exchanges[0]!.ok).toBe(true);
  });
});
