// End to end over real HTTPS: devices enrolled through MS-MDE2 check in at their management URL,
// one with its TLS client certificate and one with OMA-DM DIGEST, receive Get/Replace/Add/Delete/
// Exec/Atomic commands queued through the `mdm` CLI and the queue, answer them with a mix of
// 200/202/404/500 and an Atomic rollback, and every outcome shows in the database and in
// `mdm devices show`.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/index.js';
import { findCharacteristic } from '../../src/codec/soap/provisioning.js';
import { computeMd5Digest, parseSyncMl } from '../../src/codec/syncml/index.js';
import type { SyncMlCommand, SyncMlMessage } from '../../src/codec/syncml/types.js';
import { clientMessage, package1 } from '../dm/helpers.js';
import { encodeClient } from '../dm/support.js';
import { describeBackends } from '../support/backends.js';
import { type EnrolledDevice, enrollDevice, request } from '../support/enroll-client.js';
import { startTestServer, type TestServer } from '../support/server.js';

describeBackends('OMA-DM sessions end to end', (backend) => {
  let server: TestServer;
  let configFile: string;
  const USER = 'dm@contoso.com';
  const PASSWORD = 'correct horse battery staple';

  async function mdm(...args: string[]): Promise<string> {
    const out: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => out.push(String(chunk)) > 0) as typeof process.stdout.write;
    try {
      await buildProgram().parseAsync(['node', 'mdm', '--config', configFile, ...args]);
    } finally {
      process.stdout.write = write;
    }
    return out.join('');
  }

  beforeAll(async () => {
    server = await startTestServer({ inventoryNodes: ['./DevDetail/SwV'] }, { backend });
    configFile = join(server.dataDir, '..', 'mdm.yaml');
    writeFileSync(configFile, server.configYaml());
    await server.addUser(USER, PASSWORD);
  });
  afterAll(() => server?.close());

  const enroll = () =>
    enrollDevice({ url: server.url, credentials: { kind: 'password', username: USER, password: PASSWORD } });

  interface Post {
    readonly status: number;
    readonly contentType?: string;
    readonly reply?: SyncMlMessage;
  }

  async function post(
    device: EnrolledDevice,
    body: string,
    withCert = true,
    url = `${device.managementUrl}?mode=Maintenance&Platform=WoA`,
  ): Promise<Post> {
    const res = await request(url, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/vnd.syncml.dm+xml',
        'User-Agent': 'MSFT OMA DM Client/1.2.0.1',
      },
      body,
      ...(withCert && { cert: device.certPem, key: device.key.privateKeyPem }),
    });
    return {
      status: res.status,
      ...(res.headers['content-type'] && { contentType: res.headers['content-type'] }),
      ...(res.status === 200 && res.body !== '' && { reply: parseSyncMl(res.body) }),
    };
  }

  /** How the test device answers each command (by LocURI). */
  const ANSWERS: Record<string, number> = {
    './DevDetail/SwV': 200,
    './Vendor/MSFT/Personalization/DesktopImageUrl': 202,
    './Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera': 404,
    './Vendor/MSFT/Nope': 404,
    './Device/Vendor/MSFT/Reboot/RebootNow': 500,
    './Vendor/MSFT/RemoteLock/Lock': 200,
  };

  /** Answer a server message like Windows: SyncHdr status, one Status per command, Results for Gets. */
  function answer(reply: SyncMlMessage, deviceId: string, msgId: number): string {
    const out: SyncMlCommand[] = [];
    let id = 1;
    const st = (cmdRef: number, cmd: string, data: number): void => {
      out.push({ kind: 'Status', cmdId: id++, msgRef: reply.header.msgId, cmdRef, cmd, data: String(data) });
    };
    st(0, 'SyncHdr', 200);
    for (const c of reply.commands) {
      if (c.kind === 'Atomic') {
        // The second child fails: the Atomic gets 507, the first child is rolled back (216).
        st(c.cmdId, 'Atomic', 507);
        c.commands.forEach((child, i) => {
          st(child.cmdId!, child.kind, i === 0 ? 216 : 500);
        });
        continue;
      }
      if (
        c.kind !== 'Get' &&
        c.kind !== 'Add' &&
        c.kind !== 'Replace' &&
        c.kind !== 'Delete' &&
        c.kind !== 'Exec'
      )
        continue;
      const target = c.items[0]!.target!;
      const code = ANSWERS[target] ?? 200;
      st(c.cmdId, c.kind, code);
      if (c.kind === 'Get' && code === 200) {
        out.push({
          kind: 'Results',
          cmdId: id++,
          msgRef: reply.header.msgId,
          cmdRef: c.cmdId,
          items: [{ source: target, meta: { format: 'chr', type: 'text/plain' }, data: '10.0.22631.4037' }],
        });
      }
    }
    return encodeClient(clientMessage(deviceId, reply.header.sessionId, msgId, out));
  }

  const kinds = (cmds: readonly SyncMlCommand[]) =>
    cmds.filter((c) => c.kind !== 'Status').map((c) => c.kind);

  describe('a device with its TLS client certificate', () => {
    let device: EnrolledDevice;
    const ids: Record<string, string> = {};

    it('enrolls and gets commands queued by the CLI and the queue', async () => {
      device = await enroll();
      ids.get = (await mdm('commands', 'add', device.deviceId, '--get', './Vendor/MSFT/Nope')).trim();
      ids.replace = (
        await mdm(
          'commands',
          'add',
          device.deviceId,
          '--replace',
          './Vendor/MSFT/Personalization/DesktopImageUrl',
          '--value',
          'https://x/y.jpg',
          '--format',
          'chr',
          '--actor',
          'alice',
        )
      ).trim();
      ids.add = await server.storage.commands.enqueue({
        deviceId: device.deviceId,
        command: {
          verb: 'Add',
          items: [
            { target: './Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera', format: 'int', data: '0' },
          ],
        },
        origin: 'policy',
        tag: 'camera',
      });
      ids.delete = (
        await mdm(
          'commands',
          'add',
          device.deviceId,
          '--delete',
          './Vendor/MSFT/Personalization/LockScreenImageUrl',
        )
      ).trim();
      ids.exec = (await mdm('devices', 'reboot', device.deviceId)).trim();
      ids.lock = (await mdm('devices', 'lock', device.deviceId)).trim();
      ids.atomic = await server.storage.commands.enqueue({
        deviceId: device.deviceId,
        command: {
          verb: 'Atomic',
          commands: [
            {
              verb: 'Replace',
              items: [
                {
                  target: './Device/Vendor/MSFT/Policy/Config/Browser/AllowCookies',
                  format: 'int',
                  data: '1',
                },
              ],
            },
            {
              verb: 'Replace',
              items: [
                { target: './Device/Vendor/MSFT/Policy/Config/Browser/Missing', format: 'int', data: '1' },
              ],
            },
          ],
        },
        origin: 'admin',
      });
      for (const id of Object.values(ids)) expect(id).toMatch(/^[0-9a-f-]{36}$/);
      const audit = await server.storage.audit.list({ deviceId: device.deviceId });
      expect(audit.map((a) => a.action).sort()).toEqual([
        'commands.delete',
        'commands.get',
        'commands.replace',
        'devices.lock',
        'devices.reboot',
        'enrollment.enroll',
      ]);
      expect(audit.find((a) => a.action === 'commands.replace')?.actor).toBe('alice');
    });

    it('checks in, receives every command, and the answers are recorded', async () => {
      const r1 = await post(
        device,
        encodeClient(clientMessage(device.deviceId, '1', 1, package1(device.deviceId))),
      );
      expect(r1.status).toBe(200);
      expect(r1.contentType).toBe('application/vnd.syncml.dm+xml');
      const reply1 = r1.reply!;
      expect(reply1.commands[0]).toMatchObject({ kind: 'Status', cmd: 'SyncHdr', data: '200' });
      // Device actions first, then inventory, then the queue in order.
      expect(kinds(reply1.commands)).toEqual([
        'Exec',
        'Exec',
        'Get',
        'Get',
        'Replace',
        'Add',
        'Delete',
        'Atomic',
      ]);
      const r2 = await post(device, answer(reply1, device.deviceId, 2));
      expect(r2.reply!.commands.map((c) => c.kind)).toEqual(['Status']);
      expect(r2.reply!.final).toBe(true);

      const state = async (id: string) => server.storage.commands.get(id);
      expect(await state(ids.get!)).toMatchObject({ state: 'done', statusCode: 404 });
      expect(await state(ids.replace!)).toMatchObject({ state: 'done', statusCode: 202 });
      expect(await state(ids.add!)).toMatchObject({ state: 'done', statusCode: 404, tag: 'camera' });
      expect(await state(ids.delete!)).toMatchObject({ state: 'done', statusCode: 200 });
      expect(await state(ids.exec!)).toMatchObject({ state: 'done', statusCode: 500, origin: 'action' });
      expect(await state(ids.lock!)).toMatchObject({ state: 'done', statusCode: 200 });
      expect(await state(ids.atomic!)).toMatchObject({ state: 'done', statusCode: 507 });
      const atomicNodes = await server.storage.commands.listNodes(ids.atomic!);
      expect(atomicNodes.map((n) => [n.path, n.status])).toEqual([
        ['', 507],
        ['0', 216],
        ['1', 500],
      ]);
      expect((await server.storage.inventory.get(device.deviceId, './DevDetail/SwV'))?.value).toBe(
        '10.0.22631.4037',
      );
      expect((await server.storage.inventory.get(device.deviceId, './DevInfo/Man'))?.value).toBe(
        'VMware, Inc.',
      );
    });

    it('shows every outcome in `mdm devices show` and lists the device', async () => {
      const text = await mdm('devices', 'show', device.deviceId);
      expect(text).toContain(`Device ${device.deviceId}`);
      expect(text).toContain('./DevDetail/SwV = 10.0.22631.4037');
      expect(text).toContain('status 202 Accepted for processing');
      expect(text).toContain('status 404 Not found');
      expect(text).toContain('status 500 Command failed');
      expect(text).toContain('status 507 Atomic failed');
      expect(text).toContain(
        '0 Replace ./Device/Vendor/MSFT/Policy/Config/Browser/AllowCookies: 216 Atomic roll back OK',
      );
      expect(text).toContain('Pending commands (0)');
      // The server's own inventory reads are not queued commands: their values are the inventory.
      const json = JSON.parse(await mdm('devices', 'show', device.deviceId, '--json'));
      expect(json.recent.length).toBe(7);
      expect(json.recent.some((c: { origin: string }) => c.origin === 'inventory')).toBe(false);
      const list = await mdm('devices', 'list');
      expect(list).toContain(device.deviceId);
      expect(list).not.toContain('never');
    });

    it("refuses another device's certificate and a certificate-less, credential-less message", async () => {
      const other = await enroll();
      const p1 = encodeClient(clientMessage(other.deviceId, '1', 1, package1(other.deviceId)));
      const stolen = await post({ ...other, certPem: device.certPem, key: device.key }, p1);
      expect(stolen.reply!.commands).toEqual([expect.objectContaining({ cmd: 'SyncHdr', data: '403' })]);
      const bare = await post(other, p1, false);
      expect(bare.reply!.commands).toEqual([
        expect.objectContaining({ cmd: 'SyncHdr', data: '407', chal: expect.anything() }),
        expect.objectContaining({ cmd: 'Alert', cmdRef: 2, data: '407' }),
        expect.objectContaining({ cmd: 'Alert', cmdRef: 3, data: '407' }),
        expect.objectContaining({ cmd: 'Replace', cmdRef: 4, data: '407' }),
      ]);
      expect(await server.storage.checkIns.get(other.deviceId)).toBeUndefined();
      const malformed = await post(device, '<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr>');
      expect(malformed.status).toBe(400);
    });
  });

  describe('a device authenticating with OMA-DM DIGEST', () => {
    it('is challenged, signs with the provisioning-doc credentials, and gets its commands', async () => {
      const device = await enroll();
      const appSrv = findCharacteristic(device.provisioningDoc, 'APPLICATION')!.children.find(
        (c) => c.type === 'APPAUTH' && c.parms.get('AAUTHLEVEL')?.value === 'APPSRV',
      )!;
      const name = appSrv.parms.get('AAUTHNAME')!.value!;
      const secret = appSrv.parms.get('AAUTHSECRET')!.value!;
      const id = (
        await mdm(
          'commands',
          'add',
          device.deviceId,
          '--exec',
          './Device/Vendor/MSFT/Reboot/RebootNow',
          '--format',
          'null',
        )
      ).trim();

      const challenge = await post(
        device,
        encodeClient(clientMessage(device.deviceId, '1', 1, package1(device.deviceId))),
        false,
      );
      const hdr = challenge.reply!.commands[0]!;
      expect(hdr).toMatchObject({ data: '407' });
      const nonce = Buffer.from(hdr.kind === 'Status' ? hdr.chal!.nextNonce : '', 'base64');
      const cred = { type: 'syncml:auth-md5', format: 'b64', data: computeMd5Digest(name, secret, nonce) };
      const signed = await post(
        device,
        encodeClient(
          clientMessage(device.deviceId, '1', 2, package1(device.deviceId), true, {
            cred,
            sourceName: name,
          }),
        ),
        false,
      );
      expect(signed.reply!.commands[0]).toMatchObject({ data: '212', chal: { type: 'syncml:auth-md5' } });
      expect(kinds(signed.reply!.commands)).toEqual(['Get', 'Exec']);
      // The session continues without Cred only at the RespURI the server named (not the ADDR).
      const respUri = signed.reply!.header.respUri!;
      expect(respUri.slice(0, device.managementUrl.length + 3)).toBe(`${device.managementUrl}?s=`);
      expect(respUri.slice(device.managementUrl.length + 3)).toMatch(/^[\w-]{22}$/);
      const atAddr = await post(device, answer(signed.reply!, device.deviceId, 3), false);
      // The SyncHdr and the Results are challenged; the device's Statuses get no Status.
      expect(
        atAddr.reply!.commands.map((c) => (c.kind === 'Status' ? `${c.cmd}:${c.data}` : c.kind)),
      ).toEqual(['SyncHdr:407', 'Results:407']);
      expect(await server.storage.commands.get(id)).toMatchObject({ state: 'sent' });
      const done = await post(
        device,
        answer(signed.reply!, device.deviceId, 3),
        false,
        `${respUri}&Platform=WoA`,
      );
      expect(done.reply!.commands.map((c) => c.kind)).toEqual(['Status']);
      expect(await server.storage.commands.get(id)).toMatchObject({ state: 'done', statusCode: 500 });
      expect(await mdm('commands', 'show', id)).toContain('500 Command failed');
    });
  });

  describe('a device behind a TLS-terminating proxy (trustedProxyCertHeader)', () => {
    it('accepts the forwarded certificate only when the header is configured', async () => {
      const proxied = await startTestServer(
        { trustedProxyCertHeader: 'X-SSL-Client-Cert', inventoryNodes: [] },
        { backend },
      );
      try {
        await proxied.addUser(USER, PASSWORD);
        const device = await enrollDevice({
          url: proxied.url,
          credentials: { kind: 'password', username: USER, password: PASSWORD },
        });
        const body = encodeClient(clientMessage(device.deviceId, '1', 1, package1(device.deviceId)));
        const send = (url: string) =>
          request(url, {
            method: 'POST',
            headers: {
              'Content-Type': 'application/vnd.syncml.dm+xml',
              'X-SSL-Client-Cert': encodeURIComponent(device.certPem),
            },
            body,
          });
        const accepted = parseSyncMl((await send(device.managementUrl)).body);
        expect(accepted.commands[0]).toMatchObject({ cmd: 'SyncHdr', data: '200' });
        expect((await proxied.storage.checkIns.get(device.deviceId))?.sessions).toBe(1);
        // The main server has no header configured: the header is ignored and DIGEST is asked for.
        const local = await enroll();
        const ignored = await request(`${local.managementUrl}?mode=Maintenance&Platform=WoA`, {
          method: 'POST',
          headers: {
            'Content-Type': 'application/vnd.syncml.dm+xml',
            'X-SSL-Client-Cert': encodeURIComponent(local.certPem),
          },
          body: encodeClient(clientMessage(local.deviceId, '1', 1, package1(local.deviceId))),
        });
        expect(parseSyncMl(ignored.body).commands[0]).toMatchObject({ cmd: 'SyncHdr', data: '407' });
      } finally {
        await proxied.close();
      }
    });
  });
});
