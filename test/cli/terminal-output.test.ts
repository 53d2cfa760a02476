// What `mdm` prints for people: device-reported strings (names, inventory values, event data,
// Results) never carry a control character, escape sequence or bidi control to the admin's
// terminal, and `mdm … | head` ends quietly with status 0 when the reader goes away. Both run
// the real `bin/mdm.js` (built from src/ first) as a child process.
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oneLine, terminalSafe } from '../../src/cli/output.js';
import { clientMessage, package1 } from '../dm/helpers.js';
import { encodeClient, enrollment } from '../dm/support.js';
import { type EnrolledDevice, enrollDevice, request } from '../support/enroll-client.js';
import { startTestServer, type TestServer } from '../support/server.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'mdm.js');
/** What must never reach a terminal: C0 (ESC, BEL, CR, BS), DEL, C1 (CSI U+009B), bidi controls. */
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly out: string;
  readonly err: string;
}

/** Runs the real command line; `closeAfter` closes our end of stdout/stderr early (like `| head`). */
function mdm(
  args: readonly string[],
  options: { closeStdoutAfterFirstChunk?: boolean; closeStderrAtOnce?: boolean } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1' },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      if (options.closeStdoutAfterFirstChunk) child.stdout.destroy();
    });
    if (options.closeStderrAtOnce) child.stderr.destroy();
    else child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, out, err }));
  });
}

beforeAll(() => {
  // bin/mdm.js runs the compiled CLI: build it from the sources under test.
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'pipe' });
});

describe('terminalSafe', () => {
  it('shows every control character, escape sequence and bidi control as a visible escape', () => {
    expect(terminalSafe('a\u001b[31mred\u001b]0;title\u0007\u001b[2J')).toBe(
      'a\\e[31mred\\e]0;title\\x07\\e[2J',
    );
    expect(terminalSafe('x\u009b2Jy\u007fz\u0085')).toBe('x\\x9B2Jy\\x7Fz\\x85');
    expect(terminalSafe('abc\u202egnp.exe\u2066\u200f')).toBe('abc\\u202Egnp.exe\\u2066\\u200F');
    expect(terminalSafe('ok\roverwritten\b\u0000')).toBe('ok\\roverwritten\\x08\\x00');
    expect(terminalSafe('lone \uD800 surrogate')).toBe('lone \\uD800 surrogate');
    // Layout stays in whole text, not in one value.
    expect(terminalSafe('a\tb\nc')).toBe('a\tb\nc');
    expect(oneLine('a\tb\nc')).toBe('a\\tb\\nc');
    expect(terminalSafe('Büro 東京 \u{1F600}')).toBe('Büro 東京 \u{1F600}');
  });
});

describe('human output of device-reported strings', () => {
  let server: TestServer;
  let device: EnrolledDevice;
  let config: string;
  const EVIL = {
    man: 'Contoso\u009b2J\u007f',
    model: 'Model \u202eexe.gnp',
    event: 'evil\u009b]0;owned\u009c\u0085',
  };

  beforeAll(async () => {
    server = await startTestServer();
    await server.addUser('term@contoso.com', 'pw-term-1');
    device = await enrollDevice({
      url: server.url,
      credentials: { kind: 'password', username: 'term@contoso.com', password: 'pw-term-1' },
    });
    // Characters XML 1.0 allows but a terminal must not see, reported over OMA-DM.
    const commands = package1(device.deviceId, [
      {
        kind: 'Alert',
        cmdId: 10,
        data: '1224',
        items: [{ meta: { type: 'com.contoso/Evil\u202e', format: 'chr' }, data: EVIL.event }],
      },
    ]).map((c) =>
      c.kind === 'Replace'
        ? {
            ...c,
            items: [
              ...c.items,
              { source: './DevInfo/Man', data: EVIL.man },
              { source: './DevInfo/Mod', data: EVIL.model },
            ],
          }
        : c,
    );
    const res = await request(device.managementUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/vnd.syncml.dm+xml' },
      body: encodeClient(clientMessage(device.deviceId, '1', 1, commands)),
      cert: device.certPem,
      key: device.key.privateKeyPem,
    });
    expect(res.status).toBe(200);
    // A device name stored with escape sequences (enrollment refuses them now; older data may hold them).
    await server.storage.devices.recordEnrollment({
      ...enrollment('OLDDEVICE1', 'AB01'),
      name: 'PC\u001b]0;owned\u0007\u001b[2J\u001b[31m',
    });
    config = join(server.dataDir, '..', 'mdm.yaml');
    writeFileSync(config, `dataDir: ${server.dataDir}\ncertsDir: ${server.certsDir}\n`);
  });
  afterAll(() => server?.close());

  it('mdm devices show neutralises inventory values and event data', async () => {
    const run = await mdm(['--config', config, 'devices', 'show', device.deviceId]);
    expect(run.code, run.err).toBe(0);
    expect(run.out).toContain('./DevInfo/Man = Contoso\\x9B2J\\x7F');
    expect(run.out).toContain('./DevInfo/Mod = Model \\u202Eexe.gnp');
    expect(run.out).toContain('evil\\x9B]0;owned\\x9C\\x85');
    expect(run.out).not.toMatch(UNSAFE);
  });

  it('mdm devices list and show neutralise a stored device name; --json keeps the value', async () => {
    const list = await mdm(['--config', config, 'devices', 'list']);
    expect(list.code, list.err).toBe(0);
    expect(list.out).toContain('OLDDEVICE1\tPC\\e]0;owned\\x07\\e[2J\\e[31m\t');
    expect(list.out).not.toMatch(UNSAFE);
    const show = await mdm(['--config', config, 'devices', 'show', 'OLDDEVICE1']);
    expect(show.out).not.toMatch(UNSAFE);
    const json = await mdm(['--config', config, 'devices', 'list', '--json']);
    const rows = JSON.parse(json.out) as { deviceId: string; name: string }[];
    expect(rows.find((r) => r.deviceId === 'OLDDEVICE1')?.name).toBe(
      'PC\u001b]0;owned\u0007\u001b[2J\u001b[31m',
    );
  });
});

describe('a reader that goes away (mdm … | head)', () => {
  it('stdout: exits 0 without an error or a stack trace', async () => {
    const run = await mdm(['catalog', 'search', 'policy', '--limit', '100000'], {
      closeStdoutAfterFirstChunk: true,
    });
    expect(run.out.length).toBeGreaterThan(0);
    expect(run.err).toBe('');
    expect(run.signal).toBeNull();
    expect(run.code).toBe(0);
  });

  it('stderr: exits 0 without dying on the failed write', async () => {
    const run = await mdm(['catalog', 'show', './Vendor/MSFT/NoSuchNode'], { closeStderrAtOnce: true });
    expect(run.signal).toBeNull();
    expect(run.code).toBe(0);
  });
});
