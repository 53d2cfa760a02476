// WNS push end to end: the real server, a local WNS stand-in (HTTPS token endpoint and channels as
// Microsoft documents them) and simulated devices that register for the server's PFN, report their
// channel and start a session when their push arrives.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultCatalog } from '../../src/catalog/catalog.js';
import { buildProgram } from '../../src/cli/index.js';
import { queueAdminCommand } from '../../src/dm/admin.js';
import { pushNodes } from '../../src/dm/push-nodes.js';
import { createLogger } from '../../src/logger.js';
import { type SessionReport, VirtualDevice, type WnsRegistrar } from '../../src/simulator/index.js';
import { makeProfile } from '../../src/simulator/profile.js';
import { WnsStandIn } from '../../src/simulator/wns.js';
import { describeBackends } from '../support/backends.js';
import { type CliRun, captureCli } from '../support/cli.js';
import { startTestServer, type TestServer } from '../support/server.js';

const PFN = 'Contoso.DeviceManagement_8wekyb3d8bbwe';
const CLIENT_ID =
  'ms-app://s-1-15-2-1111111111-2222222222-3333333333-4444444444-5555555555-6666666666-7777777777';
const SECRET = 'wns-test-secret-Zx81';
const WINDOW_MS = 1500;

const waitFor = async <T>(what: string, fn: () => T | undefined | Promise<T | undefined>, ms = 8000) => {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

describeBackends('WNS push', (backend) => {
  let wns: WnsStandIn;
  let server: TestServer;
  let dir: string;
  let n = 0;
  const devices = new Map<string, VirtualDevice>();
  /** Sessions the stand-in's pushes started, per device. */
  const pushedSessions = new Map<string, Promise<SessionReport>[]>();
  const nodes = pushNodes('OpenWindowsMDM');

  beforeAll(async () => {
    wns = await new WnsStandIn({ clientId: CLIENT_ID, clientSecret: SECRET, pfn: PFN }).start();
    wns.onNotify((note) => {
      const device = devices.get(note.deviceId);
      if (!device) return;
      // The DM client wakes and starts a session (MS-MDM 3.1.7.2: UserAgentOrigin 3 = WNS push).
      const list = pushedSessions.get(note.deviceId) ?? [];
      list.push(device.checkIn({ origin: 3 }));
      pushedSessions.set(note.deviceId, list);
    });
    dir = mkdtempSync(join(tmpdir(), 'mdm-wns-'));
    writeFileSync(join(dir, 'wns-ca.pem'), wns.cert);
    server = await startTestServer(
      {
        wnsPfn: PFN,
        wnsClientId: CLIENT_ID,
        wnsClientSecret: SECRET,
        wnsTokenUrl: wns.tokenUrl,
        wnsChannelHosts: [wns.hostPort],
        wnsCaFile: join(dir, 'wns-ca.pem'),
      },
      { pushDueCheckMs: 100, pushCoalesceMs: WINDOW_MS, backend },
    );
    await server.addUser('push@example.com', 'Push-pass-1');
  });
  afterAll(async () => {
    for (const d of devices.values()) d.close();
    await server?.close();
    await wns?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function enrolled(registrar: WnsRegistrar | null = wns) {
    const device = new VirtualDevice({
      profile: makeProfile(`push-test-${++n}`),
      catalog: defaultCatalog(),
      tls: { ca: server.tlsCertPem },
      ...(registrar && { wns: registrar }),
    });
    await device.enroll(server.url, 'push@example.com', 'Push-pass-1');
    devices.set(device.profile.deviceId, device);
    return device;
  }
  const reportOf = async (id: string) => (await server.push.report([id]))[0]!;
  /** Waits out the coalescing window of the device's last push. */
  const pastWindow = () => new Promise((r) => setTimeout(r, WINDOW_MS + 50));
  const lastPushedSession = async (id: string, count: number) => {
    await waitFor(`${count} pushed sessions of ${id}`, () => (pushedSessions.get(id)?.length ?? 0) >= count);
    return pushedSessions.get(id)![count - 1]!;
  };

  it('sets the PFN after enrollment, reads the channel every session, and a sync wakes the device', async () => {
    const device = await enrolled();
    const id = device.profile.deviceId;
    const first = await device.checkIn();
    expect(first.ok).toBe(true);
    // Add …/Push/PFN went out in the first session and the device took it.
    const pfnCommands = (await server.storage.commands.listForDevice(id, { limit: 50 })).filter(
      (c) => c.tag === 'push:pfn',
    );
    expect(pfnCommands).toHaveLength(1);
    expect(pfnCommands[0]!.command).toEqual({
      verb: 'Add',
      items: [{ target: nodes.pfn, format: 'chr', data: PFN }],
    });
    expect([pfnCommands[0]!.state, pfnCommands[0]!.statusCode]).toEqual(['done', 200]);
    expect(device.tree.get(nodes.pfn)?.value).toBe(PFN);
    // With the first PFN, the session version from which a session says why it started.
    const versionCommands = (await server.storage.commands.listForDevice(id, { limit: 50 })).filter(
      (c) => c.tag === 'push:session-version',
    );
    expect(versionCommands.map((c) => [c.state, c.statusCode, c.command])).toEqual([
      [
        'done',
        200,
        {
          verb: 'Replace',
          items: [
            {
              target: './Vendor/MSFT/DMClient/Provider/OpenWindowsMDM/SyncApplicationVersion',
              format: 'chr',
              data: '4.0',
            },
          ],
        },
      ],
    ]);
    // The device registered with WNS after that session; the next session reports the channel.
    expect((await reportOf(id)).state).toBe('no_channel');
    await device.checkIn();
    const channel = device.tree.get(nodes.channelUri)!.value;
    expect(channel.startsWith(`${wns.url}/d/`)).toBe(true);
    const stored = await server.storage.inventory.get(id, nodes.channelUri);
    expect(stored?.value).toBe(channel);
    expect((await server.storage.inventory.get(id, nodes.status))?.value).toBe('0');
    // Once set, the PFN is not sent again.
    await device.checkIn();
    expect(
      (await server.storage.commands.listForDevice(id, { limit: 50 })).filter((c) => c.tag === 'push:pfn'),
    ).toHaveLength(1);

    const before = await reportOf(id);
    expect(before.state).toBe('ok');
    expect(before.lastPush).toBeNull();
    const sessionsBefore = device.stats.sessions;
    const [outcome] = await server.push.syncDevices([id], { actor: 'tester' });
    expect(outcome).toMatchObject({ deviceId: id, result: 'sent', pushResult: 'ok', httpStatus: 200 });
    // The stand-in saw the documented request: raw notification, bearer token, octet-stream.
    const note = wns.notifications.at(-1)!;
    expect(note.deviceId).toBe(id);
    expect(note.headers['x-wns-type']).toBe('wns/raw');
    expect(note.headers['content-type']).toBe('application/octet-stream');
    expect(note.headers.authorization).toMatch(/^Bearer \S+$/);
    const session = await await lastPushedSession(id, 1);
    expect(session.ok).toBe(true);
    expect(device.stats.sessions).toBe(sessionsBefore + 1);
    const after = await waitFor('followed session', async () => {
      const r = await reportOf(id);
      return r.followedBy ? r : undefined;
    });
    expect(after.state).toBe('ok');
    expect(after.lastPush).toMatchObject({ result: 'ok', httpStatus: 200, channelUri: channel });
    expect(after.lastPush!.sentAt).toBe(outcome!.sentAt);
    expect(after.pushes).toBe(1);
    expect(after.followedBy!.sessionId).toBe(session.sessionId);
    // The server set SyncApplicationVersion 4.0 with the PFN, so the device says the push started it.
    expect(after.followedBy).toMatchObject({ userAgentOrigin: '3', pushed: true });
    expect(after.followedBy!.secondsAfterPush).toBeGreaterThanOrEqual(0);
    expect(after.followedBy!.secondsAfterPush).toBeLessThan(10);
    const audit = await server.storage.audit.list({ deviceId: id });
    expect(audit.some((a) => a.action === 'devices.sync' && a.actor === 'tester')).toBe(true);
  });

  it('a queued command wakes the device, and a pushed session says so with UserAgentOrigin 3', async () => {
    const device = await enrolled();
    const id = device.profile.deviceId;
    await device.checkIn();
    await device.checkIn();
    // The server set SyncApplicationVersion 4.0 with the PFN: the device now sends UserAgentOrigin
    // (MS-MDM 3.1.7.2).
    expect(
      device.tree.get('./Vendor/MSFT/DMClient/Provider/OpenWindowsMDM/SyncApplicationVersion')?.value,
    ).toBe('4.0');
    const cmd = await queueAdminCommand(
      server.storage,
      {
        deviceId: id,
        command: { verb: 'Get', items: [{ target: './DevDetail/SwV' }] },
        actor: 'tester',
        action: 'commands.get',
      },
      { push: server.push },
    );
    // No poll: the push alone brings the command to the device.
    const session = await lastPushedSession(id, 1);
    expect((await session).ok).toBe(true);
    expect((await server.storage.commands.get(cmd))?.state).toBe('done');
    const r = await waitFor('followed session', async () => {
      const x = await reportOf(id);
      return x.followedBy?.pushed ? x : undefined;
    });
    expect(r.followedBy).toMatchObject({ userAgentOrigin: '3', pushed: true });
  });

  it('fetches a new token once when WNS answers 401, and caches it otherwise', async () => {
    const device = await enrolled();
    const id = device.profile.deviceId;
    await device.checkIn();
    await device.checkIn();
    const tokensBefore = wns.tokenRequests.filter((t) => t.ok).length;
    const [a] = await server.push.syncDevices([id]);
    expect(a!.result).toBe('sent');
    // The token of the earlier pushes is reused (at most the first push of the run fetched one).
    expect(wns.tokenRequests.filter((t) => t.ok).length).toBe(Math.max(tokensBefore, 1));
    await lastPushedSession(id, 1);
    await pastWindow();
    wns.expireTokens();
    const requests = wns.channelRequests.length;
    const [b] = await server.push.syncDevices([id]);
    expect(b).toMatchObject({ result: 'sent', httpStatus: 200 });
    expect(wns.channelRequests.slice(requests).map((r) => r.status)).toEqual([401, 200]);
    expect(wns.tokenRequests.filter((t) => t.ok).length).toBe(Math.max(tokensBefore, 1) + 1);
    await lastPushedSession(id, 2);
  });

  it('410 marks the channel gone until the device reports a new one', async () => {
    const device = await enrolled();
    const id = device.profile.deviceId;
    await device.checkIn();
    await device.checkIn();
    const old = device.tree.get(nodes.channelUri)!.value;
    wns.expireChannel(old);
    const [gone] = await server.push.syncDevices([id]);
    expect(gone).toMatchObject({ result: 'failed', pushResult: 'gone', httpStatus: 410 });
    const failing = await reportOf(id);
    expect(failing.state).toBe('failing');
    expect(failing.lastPush).toMatchObject({ result: 'gone', httpStatus: 410 });
    await pastWindow();
    const requests = wns.channelRequests.length;
    const [again] = await server.push.syncDevices([id]);
    expect(again!.result).toBe('channel_gone');
    expect(wns.channelRequests.length).toBe(requests); // nothing sent to a gone channel
    // WNS gives the device a new channel; its next session reports it.
    device.renewPushChannel();
    await device.checkIn();
    const fresh = device.tree.get(nodes.channelUri)!.value;
    expect(fresh).not.toBe(old);
    expect((await reportOf(id)).state).toBe('ok');
    const [ok] = await server.push.syncDevices([id]);
    expect(ok!.result).toBe('sent');
    expect((await reportOf(id)).lastPush).toMatchObject({ result: 'ok', channelUri: fresh });
    await lastPushedSession(id, 1);
  });

  it('records 404, 406 and 413 answers and network errors', async () => {
    const device = await enrolled();
    const id = device.profile.deviceId;
    await device.checkIn();
    await device.checkIn();
    for (const status of [404, 406, 413]) {
      wns.answerNext(status);
      const [o] = await server.push.syncDevices([id]);
      expect(o).toMatchObject({ result: 'failed', httpStatus: status });
      const r = await reportOf(id);
      expect(r.state).toBe('failing');
      expect(r.lastPush!.httpStatus).toBe(status);
      await pastWindow();
    }
    expect((await reportOf(id)).lastPush!.result).toBe('too_large');
    // The connection breaks before an answer.
    wns.answerNext(0);
    const [broken] = await server.push.syncDevices([id]);
    expect(broken).toMatchObject({ result: 'failed', pushResult: 'network' });
    expect(broken!.error).toBeTruthy();
    expect((await reportOf(id)).lastPush).toMatchObject({ result: 'network', httpStatus: null });
  });

  it('coalesces: at most one push per device per window, and the last change still gets one', async () => {
    const device = await enrolled();
    const id = device.profile.deviceId;
    await device.checkIn();
    await device.checkIn();
    const sent = () => wns.notifications.filter((x) => x.deviceId === id).length;
    const queue = () =>
      queueAdminCommand(
        server.storage,
        {
          deviceId: id,
          command: { verb: 'Get', items: [{ target: './DevDetail/OEM' }] },
          actor: 't',
          action: 'commands.get',
        },
        { push: server.push },
      );
    await queue();
    await queue();
    await queue();
    const [sync] = await server.push.syncDevices([id]);
    expect(sync!.result).toBe('coalesced');
    expect(Date.parse(sync!.dueAt!)).toBeGreaterThan(Date.now());
    expect(sent()).toBe(1);
    // When the window ends the server's due timer sends the one push still owed.
    await waitFor('the coalesced push', () => sent() >= 2, WINDOW_MS + 4000);
    await new Promise((r) => setTimeout(r, WINDOW_MS + 300));
    expect(sent()).toBe(2);
    await lastPushedSession(id, 2);
    expect((await reportOf(id)).dueAt).toBeNull();
  });

  it('a device that never reports a channel is reported as such and not pushed', async () => {
    const device = await enrolled(null); // no WNS on this device
    const id = device.profile.deviceId;
    await device.checkIn();
    await device.checkIn();
    const r = await reportOf(id);
    expect(r.state).toBe('no_channel');
    expect(r.deviceStatus).toEqual({ code: '4', text: 'no channel URI assigned' });
    const requests = wns.channelRequests.length;
    const [o] = await server.push.syncDevices([id]);
    expect(o!.result).toBe('no_channel');
    // A queued command does not push either; it waits for the poll.
    await queueAdminCommand(
      server.storage,
      {
        deviceId: id,
        command: { verb: 'Get', items: [{ target: './DevDetail/OEM' }] },
        actor: 't',
        action: 'commands.get',
      },
      { push: server.push },
    );
    expect(wns.channelRequests.length).toBe(requests);
    expect((await server.push.syncDevices(['no-such-device']))[0]!.result).toBe('unknown_device');
  });

  it.each([
    ['an internal address', 'https://169.254.169.254/latest/meta-data'],
    ['a host that is not allowed', 'https://evil.example.com/d/abc'],
    ['a look-alike host', `https://${'127.0.0.1'}.evil.example.com/d/abc`],
    ['plain HTTP', 'http://127.0.0.1/d/abc'],
    ['credentials in the URL', 'https://user:pw@127.0.0.1/d/abc'],
  ])('refuses a channel URI on %s, records it, and sends nothing', async (_what, uri) => {
    const hostile: WnsRegistrar = { channelFor: () => uri };
    const device = await enrolled(hostile);
    const id = device.profile.deviceId;
    await device.checkIn();
    await device.checkIn();
    expect((await server.storage.inventory.get(id, nodes.channelUri))?.value).toBe(uri);
    const tokens = wns.tokenRequests.length;
    const requests = wns.channelRequests.length;
    const [o] = await server.push.syncDevices([id]);
    expect(o!.result).toBe('refused');
    expect(wns.channelRequests.length).toBe(requests);
    expect(wns.tokenRequests.length).toBe(tokens);
    const r = await reportOf(id);
    expect(r.state).toBe('failing');
    expect(r.lastPush).toMatchObject({ result: 'refused', sentAt: null, channelUri: uri });
    expect(r.pushes).toBe(0);
  });

  it('/metrics counts pushes by result and the time from push to session', async () => {
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      httpsGet(`${server.url}/metrics`, { ca: server.tlsCertPem }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => {
          body += c.toString('utf8');
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: body }));
      }).on('error', reject);
    });
    expect(status).toBe(200);
    const count = (result: string) =>
      Number(new RegExp(`^mdm_pushes_total\\{result="${result}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 'NaN');
    expect(count('ok')).toBeGreaterThanOrEqual(5);
    expect(count('gone')).toBeGreaterThanOrEqual(1);
    expect(count('refused')).toBe(5);
    expect(count('network')).toBe(1);
    expect(count('not_found')).toBe(1);
    const sessions = Number(
      /^mdm_push_to_session_seconds_count\{pushed="yes"\} (\d+)$/m.exec(text)?.[1] ?? 'NaN',
    );
    expect(sessions).toBeGreaterThanOrEqual(1);
  });

  it('the server says at start whether push is on', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _e, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const off = await startTestServer({}, { logger: createLogger('info', sink) });
    await off.close();
    expect(lines.join('')).toMatch(
      /WNS push off: set MDM_WNS_PFN, MDM_WNS_CLIENT_ID and MDM_WNS_CLIENT_SECRET/,
    );
    expect(lines.join('')).not.toContain(SECRET);
    expect(off.push.enabled).toBe(false);
  });

  describe('CLI', () => {
    let configFile: string;
    const mdm = (...args: string[]): Promise<CliRun> =>
      captureCli(async () => {
        try {
          await buildProgram().parseAsync(['node', 'mdm', '--config', configFile, ...args]);
        } catch {
          // commander exit: the exit code tells
        }
      });
    beforeAll(() => {
      configFile = join(dir, 'mdm.yaml');
      writeFileSync(
        configFile,
        server.configYaml(
          [
            `wnsPfn: ${PFN}`,
            `wnsClientId: "${CLIENT_ID}"`,
            `wnsClientSecret: ${SECRET}`,
            `wnsTokenUrl: ${wns.tokenUrl}`,
            `wnsChannelHosts: ["${wns.hostPort}"]`,
            `wnsCaFile: ${join(dir, 'wns-ca.pem')}`,
            '',
          ].join('\n'),
        ),
      );
    });

    it('mdm devices sync wakes devices and says what happened to each; show reports the push state', async () => {
      const device = await enrolled();
      const quiet = await enrolled(null);
      const id = device.profile.deviceId;
      await device.checkIn();
      await device.checkIn();
      await quiet.checkIn();
      const r = await mdm('devices', 'sync', id, quiet.profile.deviceId, '--json', '--actor', 'dana');
      expect(r.code).toBe(1); // one device could not be pushed
      const outcomes = JSON.parse(r.out) as { deviceId: string; result: string }[];
      expect(outcomes.map((o) => [o.deviceId, o.result])).toEqual([
        [id, 'sent'],
        [quiet.profile.deviceId, 'no_channel'],
      ]);
      await lastPushedSession(id, 1);
      await waitFor('followed session', async () => ((await reportOf(id)).followedBy ? true : undefined));
      const show = await mdm('devices', 'show', id);
      expect(show.code).toBe(0);
      expect(show.out).toMatch(/push ok, device push status 0 \(success\)/);
      expect(show.out).toContain(`push channel ${device.tree.get(nodes.channelUri)!.value}`);
      expect(show.out).toMatch(/last push \S+ ok, 1 sent/);
      expect(show.out).toMatch(
        /session after push \S+ at \S+ \(\+\d+\.\d s\), started by the push \(UserAgentOrigin 3\)/,
      );
      const json = JSON.parse((await mdm('devices', 'show', quiet.profile.deviceId, '--json')).out) as {
        push: { state: string };
      };
      expect(json.push.state).toBe('no_channel');
      const again = await mdm('devices', 'sync', id);
      expect(again.code).toBe(0);
      expect(again.out).toMatch(/coalesced\s+a push went out < 30 s ago; next at/);
    });

    it('mdm commands add pushes to the device', async () => {
      const device = await enrolled();
      const id = device.profile.deviceId;
      await device.checkIn();
      await device.checkIn();
      const add = await mdm('commands', 'add', id, '--get', './DevDetail/FwV');
      expect(add.code).toBe(0);
      const session = await lastPushedSession(id, 1);
      expect((await session).ok).toBe(true);
      expect((await server.storage.commands.get(add.out.trim()))?.state).toBe('done');
    });

    it('a new policy revision pushes to the devices it affects, an unchanged folder to none', async () => {
      const device = await enrolled();
      const id = device.profile.deviceId;
      await device.checkIn();
      await device.checkIn();
      const folder = join(dir, 'policies');
      mkdirSync(folder, { recursive: true });
      writeFileSync(
        join(folder, 'camera.yaml'),
        'name: camera\nsettings:\n  - path: Camera/AllowCamera\n    value: 0\n',
      );
      writeFileSync(
        join(folder, 'assignments.yaml'),
        'assignments:\n  - policy: camera\n    include: [all]\n',
      );
      const apply = await mdm('policy', 'apply', folder);
      expect(apply.code).toBe(0);
      // The pushed session delivers the new policy.
      const delivered = await lastPushedSession(id, 1);
      expect((await delivered).ok).toBe(true);
      expect(device.tree.get('./Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera')?.value).toBe('0');
      const pushes = wns.notifications.filter((x) => x.deviceId === id).length;
      const same = await mdm('policy', 'apply', folder);
      expect(same.out).toMatch(/no changes/);
      await new Promise((r) => setTimeout(r, 300));
      expect(wns.notifications.filter((x) => x.deviceId === id).length).toBe(pushes);
      // Not even a coalesced push is owed to it.
      expect((await reportOf(id)).dueAt).toBeNull();
    }, 90_000);
  });
});
