// The `strict-omadm` device profile: a plain OMA-DM 1.2 client shaped like libdmclient, against a
// scripted server (one function per expected device message).
import { describe, expect, it } from 'vitest';
import { Catalog } from '../../src/catalog/catalog.js';
import type { CatalogNode } from '../../src/catalog/types.js';
import { parseSyncMl } from '../../src/codec/syncml/index.js';
import { catalogDefault } from '../../src/simulator/apply.js';
import { DmTree } from '../../src/simulator/dm-tree.js';
import { makeProfile, profileNodes } from '../../src/simulator/profile.js';
import { md5Digest, runSession, type SessionInput } from '../../src/simulator/session.js';
import type { HttpRequestOut, Transport } from '../../src/simulator/transport.js';

const node = (path: string, extra: Partial<CatalogNode> = {}): CatalogNode => ({
  path,
  csp: 'T',
  scope: 'device',
  format: 'int',
  access: ['Get', 'Add', 'Replace', 'Delete'],
  source: 't.xml',
  ...extra,
});
const A = './Vendor/MSFT/T/A';
const B = './Vendor/MSFT/T/B';
const BLOB = './Vendor/MSFT/T/Blob';
const catalog = Catalog.fromNodes([
  node(A),
  node(B),
  node(BLOB, { format: 'chr' }),
  node('./DevDetail/SwV', { format: 'chr', access: ['Get'] }),
]);
const profile = makeProfile('strict');
const SERVER = 'https://mdm.example.test/ManagementServer/MDM.svc';

function scripted(...steps: ((body: string) => string)[]) {
  const seen: HttpRequestOut[] = [];
  const transport: Transport = {
    async send(req) {
      seen.push(req);
      const step = steps[seen.length - 1];
      if (!step) throw new Error(`unexpected message ${seen.length}: ${req.body}`);
      return { status: 200, headers: {}, body: step(req.body) };
    },
    close() {},
  };
  return { transport, seen };
}

const serverMsg = (msgId: number, body: string, final = true) =>
  `<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto><SessionID>1</SessionID><MsgID>${msgId}</MsgID><Target><LocURI>${profile.deviceId}</LocURI></Target><Source><LocURI>${SERVER}</LocURI></Source></SyncHdr><SyncBody>${body}${final ? '<Final/>' : ''}</SyncBody></SyncML>`;
const status = (cmdId: number, msgRef: number, cmdRef: number, cmd: string, code: number, extra = '') =>
  `<Status><CmdID>${cmdId}</CmdID><MsgRef>${msgRef}</MsgRef><CmdRef>${cmdRef}</CmdRef><Cmd>${cmd}</Cmd>${extra}<Data>${code}</Data></Status>`;
const hdr = (msgRef: number, code = 200, extra = '') => status(1, msgRef, 0, 'SyncHdr', code, extra);
const replace = (cmdId: number, target: string, data: string, more = false) =>
  `<Replace><CmdID>${cmdId}</CmdID><Item><Target><LocURI>${target}</LocURI></Target><Data>${data}</Data>${more ? '<MoreData/>' : ''}</Item></Replace>`;

function input(transport: Transport, extra: Partial<SessionInput> = {}): SessionInput {
  const tree = new DmTree(catalogDefault(catalog));
  for (const [p, v] of Object.entries(profileNodes(profile))) tree.set(p, { value: v, format: 'chr' });
  return {
    profile,
    tree,
    catalog,
    transport,
    serverUrl: SERVER,
    sessionNumber: 1,
    client: 'strict-omadm',
    ...extra,
  };
}

/** The device's message as the server parses it: kinds with CmdID/CmdRef/TargetRef/code. */
function shape(body: string): string[] {
  return parseSyncMl(body).commands.map((c) =>
    c.kind === 'Status'
      ? `Status ${c.cmd} ${c.cmdRef}${c.targetRefs?.length ? ` ${c.targetRefs.join(',')}` : ''} ${c.data}`
      : `${c.kind} ${c.cmdId}`,
  );
}

describe('strict OMA-DM 1.2 client (libdmclient shape)', () => {
  it('opens with Alert 1201 and DevInfo only, CmdIDs from 1, announcing MaxMsgSize 16384', async () => {
    const { transport, seen } = scripted(() => serverMsg(1, hdr(1)));
    const report = await runSession(input(transport));
    expect(report.ok).toBe(true);
    const msg = parseSyncMl(seen[0]!.body);
    expect(shape(seen[0]!.body)).toEqual(['Alert 1', 'Replace 2']);
    expect(msg.commands[0]).toMatchObject({ kind: 'Alert', data: '1201' });
    expect(msg.header.maxMsgSize).toBe(16_384);
    expect(seen[0]!.body).not.toContain('LoginStatus');
  });

  it('answers the children of an Atomic but not the Atomic, and rolls nothing back', async () => {
    const { transport, seen } = scripted(
      () =>
        serverMsg(
          1,
          hdr(1) +
            `<Atomic><CmdID>2</CmdID>${replace(3, A, '1')}${replace(4, './Vendor/MSFT/Nope', '1')}</Atomic>`,
        ),
      () => serverMsg(2, hdr(2)),
    );
    const s = input(transport);
    await runSession(s);
    expect(shape(seen[1]!.body)).toEqual([
      'Status SyncHdr 0 200',
      `Status Replace 3 ${A} 200`,
      'Status Replace 4 ./Vendor/MSFT/Nope 404',
    ]);
    expect(s.tree.get(A)?.value).toBe('1'); // no rollback
  });

  it("answers a Sequence's children first and the Sequence last", async () => {
    const { transport, seen } = scripted(
      () =>
        serverMsg(
          1,
          hdr(1) + `<Sequence><CmdID>2</CmdID>${replace(3, A, '1')}${replace(4, B, '2')}</Sequence>`,
        ),
      () => serverMsg(2, hdr(2)),
    );
    await runSession(input(transport));
    expect(shape(seen[1]!.body)).toEqual([
      'Status SyncHdr 0 200',
      `Status Replace 3 ${A} 200`,
      `Status Replace 4 ${B} 200`,
      'Status Sequence 2 200',
    ]);
  });

  it('answers each Item with its own Status and TargetRef, the Results after them', async () => {
    const get = `<Get><CmdID>2</CmdID><Item><Target><LocURI>./DevDetail/SwV</LocURI></Target></Item><Item><Target><LocURI>./Vendor/MSFT/Nope</LocURI></Target></Item></Get>`;
    const { transport, seen } = scripted(
      () => serverMsg(1, hdr(1) + get),
      () => serverMsg(2, hdr(2)),
    );
    await runSession(input(transport));
    expect(shape(seen[1]!.body)).toEqual([
      'Status SyncHdr 0 200',
      'Status Get 2 ./DevDetail/SwV 200',
      'Status Get 2 ./Vendor/MSFT/Nope 404',
      'Results 4',
    ]);
  });

  it('reports LrgObj false and takes a chunk with MoreData as the whole value (200, no 1222)', async () => {
    const { transport, seen } = scripted(
      () =>
        serverMsg(
          1,
          hdr(1) +
            '<Get><CmdID>2</CmdID><Item><Target><LocURI>./DevDetail/LrgObj</LocURI></Target></Item></Get>' +
            replace(3, BLOB, 'first-part', true),
          false,
        ),
      () => serverMsg(2, hdr(2)),
    );
    const s = input(transport);
    s.tree.set('./DevDetail/LrgObj', { value: 'false', format: 'bool' });
    await runSession(s);
    expect(shape(seen[1]!.body)).toEqual([
      'Status SyncHdr 0 200',
      'Status Get 2 ./DevDetail/LrgObj 200',
      'Results 3',
      `Status Replace 3 ${BLOB} 200`,
    ]);
    expect(seen[1]!.body).toContain('<Data>false</Data>');
    expect(seen[1]!.body).toContain('<Final/>');
    expect(s.tree.get(BLOB)?.value).toBe('first-part');
  });

  describe('DIGEST challenge', () => {
    const digest = () => ({ name: 'dev', secret: 'pw', nonce: Buffer.from('first').toString('base64') });
    const next = Buffer.from('second').toString('base64');
    const chal = `<Chal><Meta><Type xmlns="syncml:metinf">syncml:auth-md5</Type><Format xmlns="syncml:metinf">b64</Format><NextNonce xmlns="syncml:metinf">${next}</NextNonce></Meta></Chal>`;

    it('re-sends only the commands answered 401/407, with Cred for the new nonce', async () => {
      const { transport, seen } = scripted(
        // The DevInfo Replace is challenged; the Alert is not (a server that answered it 200).
        () =>
          serverMsg(1, hdr(1, 407, chal) + status(2, 1, 1, 'Alert', 200) + status(3, 1, 2, 'Replace', 407)),
        () => serverMsg(2, hdr(2, 212)),
      );
      const report = await runSession(input(transport, { digest: digest() }));
      expect(report.ok, report.error).toBe(true);
      expect(shape(seen[1]!.body)).toEqual(['Status SyncHdr 0 200', 'Replace 2']);
      const resent = parseSyncMl(seen[1]!.body);
      expect(resent.header.msgId).toBe(2);
      expect(resent.header.cred?.data).toBe(md5Digest('dev', 'pw', next));
    });

    it('has nothing to re-send when the server answered only the SyncHdr, and ends', async () => {
      const { transport, seen } = scripted(() => serverMsg(1, hdr(1, 407, chal)));
      const report = await runSession(input(transport, { digest: digest() }));
      expect(report.ok).toBe(false);
      expect(report.error).toMatch(/answered none of the commands 401\/407: nothing to re-send/);
      expect(seen).toHaveLength(1);
    });
  });
});
