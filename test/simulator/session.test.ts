import { describe, expect, it, vi } from 'vitest';
import { Catalog } from '../../src/catalog/catalog.js';
import type { CatalogNode } from '../../src/catalog/types.js';
import { parseXml } from '../../src/codec/xml.js';
import { catalogDefault } from '../../src/simulator/apply.js';
import { DmTree } from '../../src/simulator/dm-tree.js';
import { makeProfile, profileNodes } from '../../src/simulator/profile.js';
import { md5Digest, runSession, type SessionInput } from '../../src/simulator/session.js';
import type { HttpRequestOut, Transport } from '../../src/simulator/transport.js';
import { parseServerMessage } from '../../src/simulator/wire.js';

// Real Windows 10 21H1 package 1 (captures: marcosd4h/mdm mdm_server_poc/README.md, byte length = Content-Length 991).
const WINDOWS_PACKAGE_1 =
  '<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto><SessionID>1</SessionID><MsgID>1</MsgID><Target><LocURI>https://mdmwindows.com/ManagementServer/MDM.svc</LocURI></Target><Source><LocURI>1E08C6E95D8BB843B1278FF45BC60CC6</LocURI></Source></SyncHdr><SyncBody><Alert><CmdID>2</CmdID><Data>1201</Data></Alert><Alert><CmdID>3</CmdID><Data>1224</Data><Item><Meta><Type xmlns="syncml:metinf">com.microsoft/MDM/LoginStatus</Type></Meta><Data>user</Data></Item></Alert><Replace><CmdID>4</CmdID><Item><Source><LocURI>./DevInfo/DevId</LocURI></Source><Data>1E08C6E95D8BB843B1278FF45BC60CC6</Data></Item><Item><Source><LocURI>./DevInfo/Man</LocURI></Source><Data>VMware, Inc.</Data></Item><Item><Source><LocURI>./DevInfo/Mod</LocURI></Source><Data>VMware7,1</Data></Item><Item><Source><LocURI>./DevInfo/DmV</LocURI></Source><Data>1.3</Data></Item><Item><Source><LocURI>./DevInfo/Lang</LocURI></Source><Data>en-US</Data></Item></Replace><Final/></SyncBody></SyncML>';

const n = (path: string, extra: Partial<CatalogNode> = {}): CatalogNode => ({
  path,
  csp: 'T',
  scope: 'device',
  format: 'chr',
  access: ['Get'],
  source: 't.xml',
  ...extra,
});
const catalog = Catalog.fromNodes([
  n('./DevDetail/SwV'),
  n('./Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera', {
    format: 'int',
    access: ['Get', 'Add', 'Replace', 'Delete'],
  }),
  n('./Vendor/MSFT/Big/Blob', { access: ['Get', 'Replace'] }),
]);

const profile = makeProfile('vm', {
  deviceId: '1E08C6E95D8BB843B1278FF45BC60CC6',
  manufacturer: 'VMware, Inc.',
  model: 'VMware7,1',
});
const SERVER = 'https://mdmwindows.com/ManagementServer/MDM.svc';

function tree(): DmTree {
  const t = new DmTree(catalogDefault(catalog));
  for (const [p, v] of Object.entries(profileNodes(profile))) t.set(p, { value: v, format: 'chr' });
  return t;
}

/** A scripted server: one function per expected device message. */
function scripted(...steps: ((body: string) => string | { status: number; body: string })[]) {
  const seen: HttpRequestOut[] = [];
  const transport: Transport = {
    async send(req) {
      seen.push(req);
      const step = steps[seen.length - 1];
      if (!step) throw new Error(`unexpected message ${seen.length}: ${req.body}`);
      const out = step(req.body);
      return typeof out === 'string' ? { status: 200, headers: {}, body: out } : { ...out, headers: {} };
    },
    close() {},
  };
  return { transport, seen };
}

const serverMsg = (msgId: number, body: string, final = true, sessionId = '1') =>
  `<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto><SessionID>${sessionId}</SessionID><MsgID>${msgId}</MsgID><Target><LocURI>${profile.deviceId}</LocURI></Target><Source><LocURI>${SERVER}</LocURI></Source></SyncHdr><SyncBody>${body}${final ? '<Final/>' : ''}</SyncBody></SyncML>`;
const hdrStatus = (msgRef: number, code = 200, extra = '') =>
  `<Status><CmdID>1</CmdID><MsgRef>${msgRef}</MsgRef><CmdRef>0</CmdRef><Cmd>SyncHdr</Cmd>${extra}<Data>${code}</Data></Status>`;

const input = (transport: Transport, extra: Partial<SessionInput> = {}): SessionInput => ({
  profile,
  tree: tree(),
  catalog,
  transport,
  serverUrl: `${SERVER}?mode=Maintenance&Platform=WoA`,
  sessionNumber: 1,
  ...extra,
});

describe('device session', () => {
  it('sends package 1 byte-for-byte like Windows 10', async () => {
    const { transport, seen } = scripted(() => serverMsg(1, hdrStatus(1)));
    const report = await runSession(input(transport));
    expect(seen[0]!.body).toBe(WINDOWS_PACKAGE_1);
    expect(seen[0]!.url).toBe(`${SERVER}?mode=Maintenance&Platform=WoA`);
    expect(seen[0]!.headers['content-type']).toBe('application/vnd.syncml.dm+xml');
    expect(seen[0]!.headers['user-agent']).toBe('MSFT OMA DM Client/1.2.0.1');
    expect(report).toMatchObject({ ok: true, messages: 1, sessionId: '1' });
  });

  it('answers commands with Statuses and Results, then ends when the server sends none', async () => {
    const { transport, seen } = scripted(
      () =>
        serverMsg(
          1,
          hdrStatus(1) +
            '<Get><CmdID>2</CmdID><Item><Target><LocURI>./DevDetail/SwV</LocURI></Target></Item></Get>' +
            '<Replace><CmdID>3</CmdID><Item><Target><LocURI>./Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera</LocURI></Target><Meta><Format xmlns="syncml:metinf">int</Format></Meta><Data>0</Data></Item></Replace>' +
            '<Delete><CmdID>4</CmdID><Item><Target><LocURI>./Vendor/MSFT/Nope</LocURI></Target></Item></Delete>',
        ),
      () => serverMsg(2, hdrStatus(2)),
    );
    const s = input(transport);
    const report = await runSession(s);
    expect(report.ok).toBe(true);
    expect(report.messages).toBe(2);
    expect(report.outcomes.map((o) => o.status)).toEqual([200, 200, 404]);
    expect(s.tree.get('./Vendor/MSFT/Policy/Config/Camera/AllowCamera')?.value).toBe('0');
    const reply = seen[1]!.body;
    expect(reply).toBe(
      '<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto><SessionID>1</SessionID><MsgID>2</MsgID>' +
        `<Target><LocURI>${SERVER}</LocURI></Target><Source><LocURI>${profile.deviceId}</LocURI></Source></SyncHdr><SyncBody>` +
        '<Status><CmdID>1</CmdID><MsgRef>1</MsgRef><CmdRef>0</CmdRef><Cmd>SyncHdr</Cmd><Data>200</Data></Status>' +
        '<Status><CmdID>2</CmdID><MsgRef>1</MsgRef><CmdRef>2</CmdRef><Cmd>Get</Cmd><Data>200</Data></Status>' +
        '<Results><CmdID>3</CmdID><MsgRef>1</MsgRef><CmdRef>2</CmdRef><Item><Source><LocURI>./DevDetail/SwV</LocURI></Source>' +
        `<Meta><Format xmlns="syncml:metinf">chr</Format><Type xmlns="syncml:metinf">text/plain</Type></Meta><Data>${profile.osVersion}</Data></Item></Results>` +
        '<Status><CmdID>4</CmdID><MsgRef>1</MsgRef><CmdRef>3</CmdRef><Cmd>Replace</Cmd><Data>200</Data></Status>' +
        '<Status><CmdID>5</CmdID><MsgRef>1</MsgRef><CmdRef>4</CmdRef><Cmd>Delete</Cmd><Data>404</Data></Status>' +
        '<Final/></SyncBody></SyncML>',
    );
  });

  it('reassembles a chunked large object from the server (213 per chunk, then the real status)', async () => {
    const value = 'x'.repeat(3000);
    const chunk = (data: string, more: boolean, size?: number) =>
      `<Replace><CmdID>2</CmdID><Item><Target><LocURI>./Vendor/MSFT/Big/Blob</LocURI></Target><Meta><Format xmlns="syncml:metinf">chr</Format>${
        size ? `<Size xmlns="syncml:metinf">${size}</Size>` : ''
      }</Meta><Data>${data}</Data>${more ? '<MoreData/>' : ''}</Item></Replace>`;
    const { transport, seen } = scripted(
      () => serverMsg(1, hdrStatus(1) + chunk(value.slice(0, 1000), true, 3000), false),
      () => serverMsg(2, hdrStatus(2) + chunk(value.slice(1000, 2000), true), false),
      () => serverMsg(3, hdrStatus(3) + chunk(value.slice(2000), false)),
      () => serverMsg(4, hdrStatus(4)),
    );
    const s = input(transport);
    const report = await runSession(s);
    expect(report.ok).toBe(true);
    expect(report.outcomes.map((o) => o.status)).toEqual([213, 213, 200]);
    expect(seen[1]!.body).toContain('<Data>213</Data>');
    expect(seen[1]!.body).toContain('<Data>1222</Data></Alert>');
    expect(seen[1]!.body).not.toContain('<Final/>');
    expect(seen[3]!.body).toContain('<Final/>');
    expect(s.tree.get('./Vendor/MSFT/Big/Blob')?.value).toBe(value);
  });

  it('answers 424 when the reassembled object does not match Meta Size', async () => {
    const chunk = (data: string, more: boolean, size?: number) =>
      `<Replace><CmdID>2</CmdID><Item><Target><LocURI>./Vendor/MSFT/Big/Blob</LocURI></Target>${
        size ? `<Meta><Size xmlns="syncml:metinf">${size}</Size></Meta>` : ''
      }<Data>${data}</Data>${more ? '<MoreData/>' : ''}</Item></Replace>`;
    const { transport } = scripted(
      () => serverMsg(1, hdrStatus(1) + chunk('abc', true, 10), false),
      () => serverMsg(2, hdrStatus(2) + chunk('def', false)),
      () => serverMsg(3, hdrStatus(3)),
    );
    const report = await runSession(input(transport));
    expect(report.outcomes.map((o) => o.status)).toEqual([213, 424]);
  });

  it('answers Alert 1225 when another command interrupts a large object', async () => {
    const { transport, seen } = scripted(
      () =>
        serverMsg(
          1,
          `${hdrStatus(1)}<Replace><CmdID>2</CmdID><Item><Target><LocURI>./Vendor/MSFT/Big/Blob</LocURI></Target><Meta><Size xmlns="syncml:metinf">10</Size></Meta><Data>abc</Data><MoreData/></Item></Replace>`,
          false,
        ),
      () =>
        serverMsg(
          2,
          `${hdrStatus(2)}<Get><CmdID>2</CmdID><Item><Target><LocURI>./DevDetail/SwV</LocURI></Target></Item></Get>`,
        ),
      () => serverMsg(3, hdrStatus(3)),
    );
    const s = input(transport);
    const report = await runSession(s);
    expect(report.outcomes.map((o) => o.status)).toEqual([213, 200]);
    expect(seen[2]!.body).toContain('<Data>1225</Data></Alert>');
    expect(s.tree.get('./Vendor/MSFT/Big/Blob')).toBeUndefined();
  });

  it('sends a Results larger than MaxMsgSize in chunks with MoreData and Meta Size', async () => {
    const big = 'B'.repeat(5000);
    const t = tree();
    t.set('./Vendor/MSFT/Big/Blob', { value: big, format: 'chr' });
    // The server asks for the next message until the device's package is complete (docs/protocol-notes.md#large-objects).
    const next = (msgId: number) => (body: string) =>
      body.includes('<Final/>')
        ? serverMsg(msgId, hdrStatus(msgId))
        : serverMsg(msgId, hdrStatus(msgId) + `<Alert><CmdID>2</CmdID><Data>1222</Data></Alert>`, false);
    const { transport, seen } = scripted(
      () =>
        serverMsg(
          1,
          hdrStatus(1) +
            '<Get><CmdID>2</CmdID><Item><Target><LocURI>./Vendor/MSFT/Big/Blob</LocURI></Target></Item></Get>',
        ),
      ...Array.from({ length: 12 }, (_, i) => next(i + 2)),
    );
    const s = input(transport, { tree: t, maxMsgSize: 2000, announceMaxMsgSize: true });
    const report = await runSession(s);
    expect(report.ok, report.error).toBe(true);
    const results = seen
      .slice(1)
      .map((r) => r.body)
      .filter((b) => b.includes('<Results>'));
    expect(results.length).toBeGreaterThan(2);
    for (const body of seen.map((r) => r.body)) expect(Buffer.byteLength(body)).toBeLessThanOrEqual(2000);
    expect(results[0]).toContain('<Size xmlns="syncml:metinf">5000</Size>');
    expect(results[0]).toContain('<MoreData/>');
    expect(results.at(-1)).not.toContain('<MoreData/>');
    expect(results.at(-1)).toContain('<Final/>');
    expect(seen[0]!.body).toContain('<Meta><MaxMsgSize xmlns="syncml:metinf">2000</MaxMsgSize></Meta>');
    const data = results.map((b) => /<Data>(B*)<\/Data>/.exec(b)![1]).join('');
    expect(data).toBe(big);
  });

  it('computes the OMA DM MD5 digest (docs/protocol-notes.md#digest-authentication)', () => {
    expect(md5Digest('Bruce2', 'OhBehave', Buffer.from('Nonce').toString('base64'))).toBe(
      'Zz6EivR3yeaaENcRN6lpAQ==',
    );
  });

  it('answers a DIGEST challenge by re-sending package 1 with Cred for the new nonce', async () => {
    const digest = { name: 'dev', secret: 'pw', nonce: Buffer.from('first').toString('base64') };
    const chal = (nonce: string) =>
      `<Chal><Meta><Type xmlns="syncml:metinf">syncml:auth-md5</Type><Format xmlns="syncml:metinf">b64</Format><NextNonce xmlns="syncml:metinf">${nonce}</NextNonce></Meta></Chal>`;
    const second = Buffer.from('second').toString('base64');
    const third = Buffer.from('third').toString('base64');
    const { transport, seen } = scripted(
      () => serverMsg(1, hdrStatus(1, 401, chal(second))),
      () =>
        serverMsg(
          2,
          hdrStatus(2, 212, chal(third)) +
            '<Get><CmdID>2</CmdID><Item><Target><LocURI>./DevDetail/SwV</LocURI></Target></Item></Get>',
        ),
      () => serverMsg(3, hdrStatus(3)),
    );
    const report = await runSession(input(transport, { digest }));
    expect(report.ok, report.error).toBe(true);
    const cred = (body: string) => /<Cred>.*?<Data>([^<]*)<\/Data><\/Cred>/.exec(body)?.[1];
    expect(cred(seen[0]!.body)).toBe(md5Digest('dev', 'pw', Buffer.from('first').toString('base64')));
    expect(cred(seen[1]!.body)).toBe(md5Digest('dev', 'pw', second));
    expect(seen[1]!.body).toContain('<Alert><CmdID>2</CmdID><Data>1201</Data></Alert>');
    expect(cred(seen[2]!.body)).toBeUndefined();
    expect(digest.nonce).toBe(third);
  });

  it('stops on a server abort (1223) and reports HTTP failures', async () => {
    const abort = scripted(() =>
      serverMsg(1, `${hdrStatus(1)}<Alert><CmdID>2</CmdID><Data>1223</Data></Alert>`),
    );
    expect(await runSession(input(abort.transport))).toMatchObject({ ok: true, aborted: true, messages: 1 });
    const failing = scripted(() => ({ status: 500, body: 'boom' }));
    expect(await runSession(input(failing.transport))).toMatchObject({
      ok: false,
      error: 'server answered HTTP 500',
    });
  });

  it('reports generic alerts (1226 unenroll) in package 1', async () => {
    const { transport, seen } = scripted(() => serverMsg(1, hdrStatus(1)));
    await runSession(
      input(transport, {
        sessionNumber: 2,
        alerts: [
          {
            code: 1226,
            items: [{ type: 'com.microsoft:mdm.unenrollment.userrequest', format: 'int', data: '1' }],
          },
        ],
      }),
    );
    const msg = parseServerMessage(seen[0]!.body);
    expect(msg.sessionId).toBe('2');
    expect(msg.commands.map((c) => [c.cmdId, c.name, c.data])).toEqual([
      ['2', 'Alert', '1201'],
      ['3', 'Alert', '1224'],
      ['4', 'Alert', '1226'],
      ['5', 'Replace', undefined],
    ]);
    expect(seen[0]!.body).toContain(
      '<Alert><CmdID>4</CmdID><Data>1226</Data><Item><Meta><Type xmlns="syncml:metinf">com.microsoft:mdm.unenrollment.userrequest</Type><Format xmlns="syncml:metinf">int</Format></Meta><Data>1</Data></Item></Alert>',
    );
    expect(() => parseXml(seen[0]!.body)).not.toThrow();
  });

  it('sends its next messages to the RespURI the server names', async () => {
    const resp = `${SERVER}?s=token123`;
    const withResp = (msgId: number, body: string) =>
      serverMsg(msgId, body).replace(
        '</Source></SyncHdr>',
        `</Source><RespURI>${resp.replace('&', '&amp;')}</RespURI></SyncHdr>`,
      );
    const { transport, seen } = scripted(
      () =>
        withResp(
          1,
          `${hdrStatus(1)}<Get><CmdID>2</CmdID><Item><Target><LocURI>./DevDetail/SwV</LocURI></Target></Item></Get>`,
        ),
      () => serverMsg(2, hdrStatus(2)),
    );
    expect((await runSession(input(transport))).ok).toBe(true);
    expect(seen.map((r) => r.url)).toEqual([`${SERVER}?mode=Maintenance&Platform=WoA`, resp]);
  });

  it('reports a server answer that is not SyncML instead of crashing', async () => {
    for (const body of [
      '<html>oops</html>',
      '<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr>',
      '<!DOCTYPE x><x/>',
    ]) {
      const { transport } = scripted(() => body);
      const report = await runSession(input(transport));
      expect(report.ok).toBe(false);
      expect(report.error).toBeTruthy();
    }
  });

  it('fails the session when the server refuses the SyncHdr', async () => {
    const { transport } = scripted(() => serverMsg(1, hdrStatus(1, 403)));
    expect(await runSession(input(transport))).toMatchObject({
      ok: false,
      error: 'server refused the session (SyncHdr status 403)',
    });
  });

  it('answers late when asked to (fault injection)', async () => {
    vi.useFakeTimers();
    try {
      const { transport, seen } = scripted(
        () =>
          serverMsg(
            1,
            `${hdrStatus(1)}<Get><CmdID>2</CmdID><Item><Target><LocURI>./DevDetail/SwV</LocURI></Target></Item></Get>`,
          ),
        () => serverMsg(2, hdrStatus(2)),
      );
      const running = runSession(input(transport, { faults: { delayMs: 30_000 } }));
      await vi.advanceTimersByTimeAsync(29_000);
      expect(seen).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(1_000);
      expect(seen).toHaveLength(2);
      expect((await running).ok).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });
});
