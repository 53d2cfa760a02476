import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  computeMd5Digest,
  encodeSyncMl,
  parseSyncMl,
  SyncMlError,
  verifyMd5Digest,
} from '../../../src/codec/syncml/index.js';

const fixture = (dir: string, name: string) => readFileSync(`fixtures/${dir}/${name}`, 'utf8');

describe('parseSyncMl', () => {
  it('reads the real Windows package 1 (marcosd4h capture) in order', () => {
    const msg = parseSyncMl(
      fixture('windows10-syncml-marcosd4h', 'marcosd4h-09-syncml-client-1.wire-reconstructed.xml'),
    );
    expect(msg.header).toMatchObject({
      sessionId: '1',
      msgId: 1,
      target: 'https://mdmwindows.com/ManagementServer/MDM.svc',
      source: '1E08C6E95D8BB843B1278FF45BC60CC6',
    });
    expect(msg.final).toBe(true);
    expect(msg.commands.map((c) => [c.kind, c.cmdId])).toEqual([
      ['Alert', 2],
      ['Alert', 3],
      ['Replace', 4],
    ]);
    const alert = msg.commands[1]!;
    expect(alert.kind === 'Alert' && alert.items[0]).toEqual({
      meta: { type: 'com.microsoft/MDM/LoginStatus' },
      data: 'user',
    });
    const replace = msg.commands[2]!;
    expect(replace.kind === 'Replace' && replace.items.map((i) => [i.source, i.data])).toContainEqual([
      './DevInfo/Man',
      'VMware, Inc.',
    ]);
  });

  it('reads the pretty-printed variant the same way (whitespace between tags ignored)', () => {
    const a = parseSyncMl(
      fixture('windows10-syncml-fleet-unenroll', 'fleet-03-syncml-client-1226-unenroll.xml'),
    );
    const b = parseSyncMl(
      fixture(
        'windows10-syncml-fleet-unenroll',
        'fleet-03-syncml-client-1226-unenroll.wire-reconstructed.xml',
      ),
    );
    expect(a).toEqual(b);
    const generic = b.commands[2]!;
    expect(generic.kind === 'Alert' && generic.data).toBe('1226');
    expect(generic.kind === 'Alert' && generic.items[0]!.meta).toEqual({
      type: 'com.microsoft:mdm.unenrollment.userrequest',
      format: 'int',
    });
  });

  it('reads client Status and keeps codes as strings', () => {
    const msg = parseSyncMl(
      fixture('windows10-syncml-marcosd4h', 'marcosd4h-11-syncml-client-2.wire-reconstructed.xml'),
    );
    expect(msg.commands[1]).toEqual({
      kind: 'Status',
      cmdId: 2,
      msgRef: 1,
      cmdRef: 5,
      cmd: 'Replace',
      targetRefs: [],
      sourceRefs: [],
      data: '202',
    });
  });

  it('reads Cred, MaxMsgSize, MoreData, Atomic children and unknown elements', () => {
    const xml =
      '<SyncML xmlns="SYNCML:SYNCML1.1"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto><SessionID>A</SessionID>' +
      '<MsgID>3</MsgID><Target><LocURI>https://s/x</LocURI></Target><Source><LocURI>DEV</LocURI><LocName>u</LocName></Source>' +
      '<Cred><Meta><Format xmlns="syncml:metinf">b64</Format><Type xmlns="syncml:metinf">syncml:auth-md5</Type></Meta><Data>abc=</Data></Cred>' +
      '<Meta><MaxMsgSize xmlns="syncml:metinf">2000</MaxMsgSize></Meta></SyncHdr><SyncBody>' +
      '<Results><CmdID>1</CmdID><MsgRef>2</MsgRef><CmdRef>7</CmdRef><Item><Source><LocURI>./a</LocURI></Source>' +
      '<Meta><Format xmlns="syncml:metinf">chr</Format><Size xmlns="syncml:metinf">10</Size></Meta><Data>12&amp;45</Data><MoreData/></Item></Results>' +
      '<Atomic><CmdID>2</CmdID><Replace><CmdID>3</CmdID><Item><Target><LocURI>./b</LocURI></Target></Item></Replace></Atomic>' +
      '<Bogus><CmdID>4</CmdID></Bogus><Alert><Data>1201</Data></Alert></SyncBody></SyncML>';
    const msg = parseSyncMl(xml);
    expect(msg.final).toBe(false);
    expect(msg.header.cred).toEqual({ type: 'syncml:auth-md5', format: 'b64', data: 'abc=' });
    expect(msg.header.maxMsgSize).toBe(2000);
    expect(msg.header.sourceName).toBe('u');
    expect(msg.commands[0]).toEqual({
      kind: 'Results',
      cmdId: 1,
      msgRef: 2,
      cmdRef: 7,
      items: [{ source: './a', meta: { format: 'chr', size: 10 }, data: '12&45', moreData: true }],
    });
    expect(msg.commands[1]).toEqual({
      kind: 'Atomic',
      cmdId: 2,
      commands: [{ kind: 'Replace', cmdId: 3, items: [{ target: './b' }] }],
    });
    expect(msg.commands[2]).toEqual({ kind: 'Unknown', name: 'Bogus', cmdId: 4 });
    expect(msg.commands[3]).toEqual({ kind: 'Unknown', name: 'Alert', cmdId: undefined });
  });

  it.each([
    ['not xml', 'xml'],
    ['<!DOCTYPE x [<!ENTITY a "b">]><SyncML xmlns="SYNCML:SYNCML1.2"/>', 'xml'],
    ['<SyncML xmlns="urn:other"><SyncHdr/><SyncBody/></SyncML>', 'not-syncml'],
    [
      '<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><MsgID>1</MsgID></SyncHdr><SyncBody/></SyncML>',
      'bad-header',
    ],
    [`${'<a>'.repeat(100)}${'</a>'.repeat(100)}`, 'xml'],
  ])('rejects %j with code %s', (xml, code) => {
    try {
      parseSyncMl(xml);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(SyncMlError);
      expect((err as SyncMlError).code).toBe(code);
    }
  });

  it('keeps the raw text of an unreadable message out of serialised errors (it can hold a Cred)', () => {
    const secret = 'ZGV2aWNlOnNlY3JldC1kaWdlc3Q=';
    const body = `<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><Cred><Data>${secret}</Data></Cred></SyncHdr><SyncBody/></SyncML>`;
    let caught: unknown;
    try {
      parseSyncMl(body);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(SyncMlError);
    expect((caught as SyncMlError).raw).toBe(body);
    expect(JSON.stringify({ ...(caught as object) })).not.toContain(secret);
    expect(Object.keys(caught as object)).not.toContain('raw');
  });
});

describe('encodeSyncMl', () => {
  it('writes compact, escaped, DTD-ordered XML that parses back', () => {
    const xml = encodeSyncMl({
      header: { sessionId: '7', msgId: 2, target: 'DEV', source: 'https://s/ManagementServer/MDM.svc' },
      commands: [
        {
          kind: 'Status',
          cmdId: 1,
          msgRef: 2,
          cmdRef: 0,
          cmd: 'SyncHdr',
          data: '212',
          chal: { type: 'syncml:auth-md5', format: 'b64', nextNonce: 'Tm9uY2U=' },
        },
        {
          kind: 'Replace',
          cmdId: 2,
          items: [
            {
              target: './Vendor/MSFT/X',
              meta: { format: 'chr', type: 'text/plain' },
              data: '<enabled/> & "q"',
            },
          ],
        },
        { kind: 'Atomic', cmdId: 3, commands: [{ kind: 'Delete', cmdId: 4, items: [{ target: './a' }] }] },
        { kind: 'Alert', cmdId: 5, data: '1222', items: [] },
      ],
      final: true,
    });
    expect(
      xml.startsWith(
        '<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto><SessionID>7</SessionID><MsgID>2</MsgID><Target><LocURI>DEV</LocURI></Target>',
      ),
    ).toBe(true);
    expect(xml).toContain(
      '<Status><CmdID>1</CmdID><MsgRef>2</MsgRef><CmdRef>0</CmdRef><Cmd>SyncHdr</Cmd><Chal><Meta><Type xmlns="syncml:metinf">syncml:auth-md5</Type><Format xmlns="syncml:metinf">b64</Format><NextNonce xmlns="syncml:metinf">Tm9uY2U=</NextNonce></Meta></Chal><Data>212</Data></Status>',
    );
    expect(xml).toContain('<Data>&lt;enabled/&gt; &amp; &quot;q&quot;</Data>');
    expect(xml.endsWith('<Final/></SyncBody></SyncML>')).toBe(true);
    const back = parseSyncMl(xml);
    const replace = back.commands[1]!;
    expect(replace.kind === 'Replace' && replace.items[0]!.data).toBe('<enabled/> & "q"');
    expect(back.commands[2]).toEqual({
      kind: 'Atomic',
      cmdId: 3,
      commands: [{ kind: 'Delete', cmdId: 4, items: [{ target: './a' }] }],
    });
  });

  it('writes RespURI after Source in the SyncHdr (docs/protocol-notes.md#syncml-messages), escaped, and reads it back', () => {
    const respUri = 'https://s/ManagementServer/MDM.svc?s=abc&x=1';
    const xml = encodeSyncMl({
      header: {
        sessionId: '7',
        msgId: 2,
        target: 'DEV',
        source: 'https://s/ManagementServer/MDM.svc',
        respUri,
      },
      commands: [{ kind: 'Status', cmdId: 1, msgRef: 2, cmdRef: 0, cmd: 'SyncHdr', data: '200' }],
      final: true,
    });
    expect(xml).toContain(
      '<Source><LocURI>https://s/ManagementServer/MDM.svc</LocURI></Source><RespURI>https://s/ManagementServer/MDM.svc?s=abc&amp;x=1</RespURI></SyncHdr>',
    );
    expect(parseSyncMl(xml).header.respUri).toBe(respUri);
  });
});

describe('MD5 digest (docs/protocol-notes.md#digest-authentication)', () => {
  it('matches the published test vector', () => {
    expect(computeMd5Digest('Bruce2', 'OhBehave', Buffer.from('Nonce'))).toBe('Zz6EivR3yeaaENcRN6lpAQ==');
    expect(verifyMd5Digest('Zz6EivR3yeaaENcRN6lpAQ==', 'Bruce2', 'OhBehave', Buffer.from('Nonce'))).toBe(
      true,
    );
    expect(verifyMd5Digest('Zz6EivR3yeaaENcRN6lpAQ==', 'Bruce2', 'wrong', Buffer.from('Nonce'))).toBe(false);
    expect(verifyMd5Digest('short', 'Bruce2', 'OhBehave', Buffer.from('Nonce'))).toBe(false);
  });
});
