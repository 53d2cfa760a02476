import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { encodeSyncMl, parseSyncMl } from '../../src/codec/syncml/index.js';
import type { SyncMlCommand } from '../../src/codec/syncml/types.js';
import { compose, receive, type StepInput, type StepOutput, step } from '../../src/dm/machine.js';
import { Conversation, certAuth, kinds, machineOptions, queued } from './conversation.js';
import { clientMessage, package1, status } from './helpers.js';

const DEV = 'DEV1';
const options = machineOptions;
const q = queued;

function run(partial: Partial<StepInput> & Pick<StepInput, 'message'>): StepOutput {
  return step({
    state: undefined,
    deviceId: DEV,
    auth: certAuth,
    sent: [],
    inFlight: [],
    pending: [],
    options,
    ...partial,
  });
}

describe('replaying the marcosd4h capture (package 1 → commands → 202 answers → close)', () => {
  const dir = 'fixtures/windows10-syncml-marcosd4h';
  const img = 'https://fleetdm.com/images/articles/fleet-4.24.0-cover-1600x900@2x.jpg';
  const pending = [
    q('c1', {
      verb: 'Replace',
      items: [
        {
          target: './Vendor/MSFT/Personalization/DesktopImageUrl',
          format: 'chr',
          type: 'text/plain',
          data: img,
        },
      ],
    }),
    q('c2', {
      verb: 'Replace',
      items: [
        {
          target: './Vendor/MSFT/Personalization/LockScreenImageUrl',
          format: 'chr',
          type: 'text/plain',
          data: img,
        },
      ],
    }),
  ];
  const conv = new Conversation(pending);

  it('answers package 1 like the captured server reply, message by message', () => {
    const msg1 = parseSyncMl(readFileSync(`${dir}/marcosd4h-09-syncml-client-1.wire-reconstructed.xml`));
    const out = conv.send(msg1);
    const expected = parseSyncMl(readFileSync(`${dir}/marcosd4h-10-syncml-server-1.xml`));
    const ours = parseSyncMl(encodeSyncMl(out.reply));
    expect(ours.header).toMatchObject({
      sessionId: '1',
      msgId: 1,
      target: '1E08C6E95D8BB843B1278FF45BC60CC6',
    });
    expect(ours.header.source).toBe(msg1.header.target);
    expect(ours.commands).toEqual(expected.commands);
    expect(ours.final).toBe(true);
    expect(out.effects.filter((e) => e.kind === 'sent').length).toBe(2);
    expect(out.effects).toContainEqual({
      kind: 'devinfo',
      items: expect.arrayContaining([{ locUri: './DevInfo/Mod', data: 'VMware7,1' }]),
    });
    expect(conv.state).toMatchObject({ loginStatus: 'user', status: 'active' });
  });

  it('records the 202 answers and closes the session with a message without commands', () => {
    const msg2 = parseSyncMl(readFileSync(`${dir}/marcosd4h-11-syncml-client-2.wire-reconstructed.xml`));
    const out = conv.send(msg2);
    expect(kinds(out.reply.commands)).toEqual(['Status:SyncHdr:0:200']);
    expect(out.reply.final).toBe(true);
    expect(out.reply.header.msgId).toBe(2);
    const statuses = out.effects.filter((e) => e.kind === 'status');
    expect(statuses.map((e) => e.kind === 'status' && [e.ref.commandId, e.code])).toEqual([
      ['c1', 202],
      ['c2', 202],
    ]);
    expect(out.effects).toContainEqual({ kind: 'session-ended', reason: 'completed' });
    expect(out.state?.status).toBe('closed');
  });
});

describe('replaying the fleet unenrollment capture (1226)', () => {
  it('answers every alert and the Replace, sends no commands, and unenrolls', () => {
    const msg = parseSyncMl(
      readFileSync(
        'fixtures/windows10-syncml-fleet-unenroll/fleet-03-syncml-client-1226-unenroll.wire-reconstructed.xml',
      ),
    );
    const out = run({
      message: msg,
      pending: [q('x', { verb: 'Get', items: [{ target: './DevDetail/SwV' }] })],
    });
    expect(kinds(out.reply.commands)).toEqual([
      'Status:SyncHdr:0:200',
      'Status:Alert:2:200',
      'Status:Alert:3:200',
      'Status:Alert:4:200',
      'Status:Replace:5:200',
    ]);
    expect(out.reply.commands.map((c) => c.cmdId)).toEqual([1, 2, 3, 4, 5]);
    expect(out.effects).toContainEqual({ kind: 'unenroll' });
    expect(out.effects).toContainEqual({
      kind: 'event',
      alertCode: 1226,
      type: 'com.microsoft:mdm.unenrollment.userrequest',
      format: 'int',
      data: '1',
    });
    expect(out.effects).toContainEqual({ kind: 'session-ended', reason: 'unenrolled' });
    expect(out.effects.some((e) => e.kind === 'sent')).toBe(false);
  });
});

describe('session rules', () => {
  it('challenges without writing anything when authentication fails', () => {
    const chal = { type: 'syncml:auth-md5', format: 'b64', nextNonce: 'bm9uY2U=' };
    const out = run({
      message: clientMessage(DEV, '1', 1, package1(DEV)),
      auth: { ok: false, hdrStatus: 407, chal },
    });
    expect(out.state).toBeUndefined();
    expect(out.effects).toEqual([]);
    expect(out.reply.commands).toEqual([
      { kind: 'Status', cmdId: 1, msgRef: 1, cmdRef: 0, cmd: 'SyncHdr', data: '407', chal },
      { kind: 'Status', cmdId: 2, msgRef: 1, cmdRef: 2, cmd: 'Alert', data: '407' },
      { kind: 'Status', cmdId: 3, msgRef: 1, cmdRef: 3, cmd: 'Alert', data: '407' },
      { kind: 'Status', cmdId: 4, msgRef: 1, cmdRef: 4, cmd: 'Replace', data: '407' },
    ]);
  });

  it('answers a message without Final with Alert 1222 and no commands (docs/protocol-notes.md#large-objects)', () => {
    const conv = new Conversation([q('a', { verb: 'Get', items: [{ target: './x' }] })]);
    const out = conv.send(clientMessage(DEV, '1', 1, package1(DEV), false));
    expect(kinds(out.reply.commands)).toEqual([
      'Status:SyncHdr:0:200',
      'Status:Alert:2:200',
      'Status:Alert:3:200',
      'Status:Replace:4:200',
      'Alert:5',
    ]);
    expect(out.reply.final).toBe(false);
    const next = conv.send(clientMessage(DEV, '1', 2, [status(1, 1, 0, 'SyncHdr', 200)]));
    expect(kinds(next.reply.commands)).toEqual(['Status:SyncHdr:0:200', 'Get:2']);
  });

  it('refuses a message for an unknown session with 404 and aborts', () => {
    const out = run({ message: clientMessage(DEV, '9', 2, [status(1, 1, 0, 'SyncHdr', 200)]) });
    expect(out.state).toBeUndefined();
    expect(kinds(out.reply.commands)).toEqual(['Status:SyncHdr:0:404', 'Alert:2']);
    expect(out.effects[0]?.kind).toBe('protocol-error');
  });

  it('refuses a repeated or older MsgID within a session with 400', () => {
    const conv = new Conversation([q('a', { verb: 'Get', items: [{ target: './x' }] })]);
    conv.send(clientMessage(DEV, '1', 1, package1(DEV)));
    const again = conv.send(clientMessage(DEV, '1', 1, [status(1, 1, 0, 'SyncHdr', 200)]));
    expect(kinds(again.reply.commands)).toEqual(['Status:SyncHdr:0:400']);
    expect(again.state).toBeUndefined();
    expect(again.effects).toEqual([{ kind: 'protocol-error', reason: 'MsgID 1 already seen (last 1)' }]);
  });

  it('refuses duplicate CmdIDs with 400 on the SyncHdr and records nothing', () => {
    const cmds = package1(DEV);
    const out = run({
      message: clientMessage(DEV, '1', 1, [...cmds, { kind: 'Alert', cmdId: 2, data: '1224', items: [] }]),
    });
    expect(kinds(out.reply.commands)).toEqual(['Status:SyncHdr:0:400']);
    expect(out.effects.map((e) => e.kind)).toEqual(['session-started', 'protocol-error']);
  });

  it('ignores Status/Results that match no sent command', () => {
    const conv = new Conversation([q('a', { verb: 'Get', items: [{ target: './x' }] })]);
    conv.send(clientMessage(DEV, '1', 1, package1(DEV)));
    const out = conv.send(
      clientMessage(DEV, '1', 2, [
        status(1, 1, 0, 'SyncHdr', 200),
        status(2, 1, 99, 'Get', 200),
        { kind: 'Results', cmdId: 3, msgRef: 7, cmdRef: 5, items: [{ source: './x', data: '1' }] },
      ]),
    );
    expect(out.effects.filter((e) => e.kind === 'unmatched')).toEqual([
      { kind: 'unmatched', what: 'Status', msgRef: 1, cmdRef: 99 },
      { kind: 'unmatched', what: 'Results', msgRef: 7, cmdRef: 5 },
    ]);
    expect(out.effects.some((e) => e.kind === 'status' || e.kind === 'results')).toBe(false);
  });

  it('answers unknown body elements with 400 and never answers a client Status', () => {
    const out = run({
      message: clientMessage(DEV, '1', 1, [
        ...package1(DEV),
        { kind: 'Unknown', name: 'Copy', cmdId: 9 },
        { kind: 'Unknown', name: 'Status', cmdId: 10 },
      ]),
    });
    expect(kinds(out.reply.commands).slice(4)).toEqual(['Status:Copy:9:400']);
  });

  it('maps Atomic child statuses (507/216/500) and Results to the queued command', () => {
    const conv = new Conversation([
      q('get', { verb: 'Get', items: [{ target: './DevDetail/SwV' }] }, 'inv'),
      q('atom', {
        verb: 'Atomic',
        commands: [
          { verb: 'Replace', items: [{ target: './a', format: 'int', data: '1' }] },
          { verb: 'Add', items: [{ target: './b', format: 'int', data: '2' }] },
        ],
      }),
    ]);
    const out1 = conv.send(clientMessage(DEV, '1', 1, package1(DEV)));
    expect(kinds(out1.reply.commands).slice(4)).toEqual(['Get:5', 'Atomic:6']);
    const atomic = out1.reply.commands[5]!;
    expect(atomic.kind === 'Atomic' && atomic.commands.map((c) => c.cmdId)).toEqual([7, 8]);
    const out2 = conv.send(
      clientMessage(DEV, '1', 2, [
        status(1, 1, 0, 'SyncHdr', 200),
        status(2, 1, 5, 'Get', 200),
        {
          kind: 'Results',
          cmdId: 3,
          msgRef: 1,
          cmdRef: 5,
          items: [{ source: './DevDetail/SwV', meta: { format: 'chr' }, data: '10.0.19043.2364' }],
        },
        status(4, 1, 6, 'Atomic', 507),
        status(5, 1, 7, 'Replace', 216),
        status(6, 1, 8, 'Add', 500),
      ]),
    );
    const recorded = out2.effects.flatMap((e): unknown[][] =>
      e.kind === 'status'
        ? [[e.ref.commandId, e.ref.path, e.code]]
        : e.kind === 'results'
          ? [[e.ref.commandId, 'results', e.items[0]!.data]]
          : [],
    );
    expect(recorded).toEqual([
      ['get', '', 200],
      ['get', 'results', '10.0.19043.2364'],
      ['atom', '', 507],
      ['atom', '0', 216],
      ['atom', '1', 500],
    ]);
    expect(out2.state?.status).toBe('closed');
  });

  it('maps Results of a Get inside a Sequence to its child node (RemoteLock LockAndRecoverPIN pattern)', () => {
    const conv = new Conversation([
      q('seq', {
        verb: 'Sequence',
        commands: [
          { verb: 'Exec', items: [{ target: './Vendor/MSFT/RemoteLock/LockAndRecoverPIN' }] },
          { verb: 'Get', items: [{ target: './Vendor/MSFT/RemoteLock/NewPINValue' }] },
        ],
      }),
    ]);
    const out1 = conv.send(clientMessage(DEV, '1', 1, package1(DEV)));
    expect(kinds(out1.reply.commands).slice(4)).toEqual(['Sequence:5']);
    const out2 = conv.send(
      clientMessage(DEV, '1', 2, [
        status(1, 1, 0, 'SyncHdr', 200),
        status(2, 1, 5, 'Sequence', 200),
        status(3, 1, 6, 'Exec', 200),
        status(4, 1, 7, 'Get', 200),
        {
          kind: 'Results',
          cmdId: 5,
          msgRef: 1,
          cmdRef: 7,
          items: [{ source: './Vendor/MSFT/RemoteLock/NewPINValue', data: '1234' }],
        },
      ]),
    );
    const results = out2.effects.find((e) => e.kind === 'results');
    expect(results).toMatchObject({
      ref: { commandId: 'seq', path: '1', verb: 'Get' },
      items: [{ data: '1234' }],
    });
  });

  it('retries an Add answered 418 as Replace when the catalog allows it', () => {
    for (const allowed of [true, false]) {
      const conv = new Conversation([
        q('add', { verb: 'Add', items: [{ target: './p', format: 'int', data: '1' }] }, 'pol-1'),
      ]);
      conv.send(clientMessage(DEV, '1', 1, package1(DEV)));
      const out = conv.send(
        clientMessage(DEV, '1', 2, [status(1, 1, 0, 'SyncHdr', 200), status(2, 1, 5, 'Add', 418)]),
        {
          options: { ...options, canReplace: () => allowed },
        },
      );
      const enq = out.effects.filter((e) => e.kind === 'enqueue');
      expect(enq).toEqual(
        allowed
          ? [
              {
                kind: 'enqueue',
                command: { verb: 'Replace', items: [{ target: './p', format: 'int', data: '1' }] },
                origin: 'admin',
                tag: 'pol-1',
                retryOf: 'add',
              },
            ]
          : [],
      );
    }
  });

  it('spreads commands over messages to stay under the client MaxMsgSize', () => {
    const pending = Array.from({ length: 20 }, (_, i) =>
      q(`g${i}`, { verb: 'Get', items: [{ target: `./Vendor/MSFT/Node/Number${i}` }] }),
    );
    const conv = new Conversation(pending);
    let out = conv.send(clientMessage(DEV, '1', 1, package1(DEV), true, { maxMsgSize: 1500 }));
    const seen: number[] = [];
    for (let msgId = 2; out.state?.status === 'active' || out.reply.commands.length > 1; msgId++) {
      expect(Buffer.byteLength(encodeSyncMl(out.reply))).toBeLessThanOrEqual(1500);
      const gets = out.reply.commands.filter((c) => c.kind === 'Get');
      seen.push(gets.length);
      if (conv.state?.status !== 'active') break;
      out = conv.send(
        clientMessage(DEV, '1', msgId, [
          status(1, out.reply.header.msgId, 0, 'SyncHdr', 200),
          ...gets.map((g, i) => status(i + 2, out.reply.header.msgId, g.cmdId!, 'Get', 404)),
        ]),
      );
    }
    expect(seen.length).toBeGreaterThan(2);
    expect(seen.reduce((a, b) => a + b, 0)).toBe(20);
  });

  it('puts the DIGEST RespURI in the header, keeps its token hash in the state, and counts it in MaxMsgSize', () => {
    const pending = Array.from({ length: 20 }, (_, i) =>
      q(`g${i}`, { verb: 'Get', items: [{ target: `./Vendor/MSFT/Node/Number${i}` }] }),
    );
    const respUri = {
      uri: `https://mdm.example.test/ManagementServer/MDM.svc?s=${'A'.repeat(400)}`,
      tokenHash: 'ab',
    };
    const conv = new Conversation(pending);
    const out = conv.send(clientMessage(DEV, '1', 1, package1(DEV), true, { maxMsgSize: 1500 }), {
      auth: { ok: true, method: 'digest', hdrStatus: 200 },
      respUri,
    });
    expect(out.reply.header.respUri).toBe(respUri.uri);
    expect(out.state).toMatchObject({ authMethod: 'digest', respTokenHash: 'ab' });
    expect(out.reply.commands.some((c) => c.kind === 'Get')).toBe(true);
    expect(Buffer.byteLength(encodeSyncMl(out.reply))).toBeLessThanOrEqual(1500);
  });

  it('sends a large Replace in chunks with Meta Size and MoreData, continuing on 213', () => {
    const data = 'x'.repeat(3000);
    const conv = new Conversation([
      q('big', { verb: 'Replace', items: [{ target: './big', format: 'chr', data }] }),
    ]);
    let out = conv.send(clientMessage(DEV, '1', 1, package1(DEV), true, { maxMsgSize: 1200 }));
    let assembled = '';
    for (let msgId = 2; msgId < 20; msgId++) {
      expect(Buffer.byteLength(encodeSyncMl(out.reply))).toBeLessThanOrEqual(1200);
      const cmd = out.reply.commands.find((c) => c.kind === 'Replace');
      if (cmd?.kind !== 'Replace') break;
      const item = cmd.items[0]!;
      if (assembled === '') expect(item.meta?.size).toBe(3000);
      assembled += item.data;
      expect(out.reply.final).toBe(!item.moreData);
      // Windows-style answer to a chunk: 213 + Alert 1222 without Final; the last chunk gets its real status.
      out = conv.send(
        clientMessage(
          DEV,
          '1',
          msgId,
          [
            status(1, out.reply.header.msgId, 0, 'SyncHdr', 200),
            status(2, out.reply.header.msgId, cmd.cmdId, 'Replace', item.moreData ? 213 : 200),
            ...(item.moreData ? [{ kind: 'Alert', cmdId: 3, data: '1222', items: [] } as SyncMlCommand] : []),
          ],
          !item.moreData,
        ),
      );
    }
    expect(assembled).toBe(data);
    expect(out.state?.status).toBe('closed');
    const finals = conv.sent.filter((r) => r.commandId === 'big').map((r) => r.status);
    expect(finals.at(-1)).toBe(200);
    expect(finals.slice(0, -1).every((s) => s === 213)).toBe(true);
  });

  it('stops a large object the device refuses mid-way and goes on with the queue', () => {
    const conv = new Conversation([
      q('big', { verb: 'Replace', items: [{ target: './big', format: 'chr', data: 'y'.repeat(3000) }] }),
      q('next', { verb: 'Get', items: [{ target: './after' }] }),
    ]);
    const first = conv.send(clientMessage(DEV, '1', 1, package1(DEV), true, { maxMsgSize: 1200 }));
    const chunk = first.reply.commands.find((c) => c.kind === 'Replace')!;
    const out = conv.send(
      clientMessage(DEV, '1', 2, [
        status(1, 1, 0, 'SyncHdr', 200),
        status(2, 1, chunk.cmdId!, 'Replace', 500),
      ]),
    );
    expect(kinds(out.reply.commands)).toEqual(['Status:SyncHdr:0:200', 'Get:2']);
    expect(out.reply.final).toBe(true);
    expect(out.effects).toContainEqual(
      expect.objectContaining({
        kind: 'node-status',
        ref: expect.objectContaining({ commandId: 'big' }),
        code: 500,
      }),
    );
    expect(out.effects).toContainEqual(expect.objectContaining({ kind: 'rejected', commandId: 'big' }));
  });

  it('reassembles chunked Results and checks the announced size', () => {
    const conv = new Conversation([q('g', { verb: 'Get', items: [{ target: './big' }] })]);
    conv.send(clientMessage(DEV, '1', 1, package1(DEV)));
    const r1 = conv.send(
      clientMessage(
        DEV,
        '1',
        2,
        [
          status(1, 1, 0, 'SyncHdr', 200),
          status(2, 1, 5, 'Get', 200),
          {
            kind: 'Results',
            cmdId: 3,
            msgRef: 1,
            cmdRef: 5,
            items: [{ source: './big', meta: { size: 6 }, data: 'abc', moreData: true }],
          },
        ],
        false,
      ),
    );
    expect(kinds(r1.reply.commands)).toEqual(['Status:SyncHdr:0:200', 'Alert:2']);
    expect(r1.effects.some((e) => e.kind === 'results')).toBe(false);
    const r2 = conv.send(
      clientMessage(DEV, '1', 3, [
        status(1, 2, 0, 'SyncHdr', 200),
        { kind: 'Results', cmdId: 2, msgRef: 1, cmdRef: 5, items: [{ source: './big', data: 'def' }] },
      ]),
    );
    expect(r2.effects).toContainEqual(
      expect.objectContaining({ kind: 'results', items: [{ locUri: './big', data: 'abcdef' }] }),
    );
  });

  it('answers a chunked client command with 213, then 424 on a size mismatch, and 1225 when interrupted', () => {
    const chunk = (cmdId: number, data: string, more: boolean, size?: number): SyncMlCommand => ({
      kind: 'Replace',
      cmdId,
      items: [
        {
          source: './DevInfo/Big',
          ...(size !== undefined && { meta: { size } }),
          data,
          ...(more && { moreData: true }),
        },
      ],
    });
    const conv = new Conversation([]);
    const first = conv.send(clientMessage(DEV, '1', 1, [...package1(DEV), chunk(9, 'abc', true, 7)], false));
    expect(kinds(first.reply.commands).slice(-2)).toEqual(['Status:Replace:9:213', 'Alert:6']);
    const last = conv.send(clientMessage(DEV, '1', 2, [chunk(2, 'def', false)]));
    expect(kinds(last.reply.commands)).toEqual(['Status:SyncHdr:0:200', 'Status:Replace:2:424']);
    const again = new Conversation([]);
    again.send(clientMessage(DEV, '1', 1, [...package1(DEV), chunk(9, 'abc', true, 6)], false));
    const other = again.send(
      clientMessage(DEV, '1', 2, [
        { kind: 'Replace', cmdId: 2, items: [{ source: './DevInfo/Other', data: 'x' }] },
      ]),
    );
    expect(kinds(other.reply.commands)).toEqual(['Status:SyncHdr:0:200', 'Status:Replace:2:200', 'Alert:3']);
    expect(other.reply.commands[2]).toMatchObject({ kind: 'Alert', data: '1225' });
  });

  it('answers Alert 1223 and ends the session', () => {
    const conv = new Conversation([q('a', { verb: 'Get', items: [{ target: './x' }] })]);
    conv.send(clientMessage(DEV, '1', 1, package1(DEV)));
    const out = conv.send(clientMessage(DEV, '1', 2, [{ kind: 'Alert', cmdId: 1, data: '1223', items: [] }]));
    expect(kinds(out.reply.commands)).toEqual(['Status:SyncHdr:0:200', 'Status:Alert:1:200']);
    expect(out.effects).toContainEqual({ kind: 'session-ended', reason: 'aborted' });
  });

  it('holds ./User commands unless LoginStatus is user', () => {
    const userCmd = q('u', { verb: 'Get', items: [{ target: './User/Vendor/MSFT/Policy/Config/A/B' }] });
    const cmds = package1(DEV).map((c) =>
      c.kind === 'Alert' && c.data === '1224'
        ? { ...c, items: [{ meta: { type: 'com.microsoft/MDM/LoginStatus' }, data: 'none' }] }
        : c,
    );
    const out = run({ message: clientMessage(DEV, '1', 1, cmds), pending: [userCmd] });
    expect(out.effects.some((e) => e.kind === 'sent')).toBe(false);
  });

  it('stores other generic alerts as events', () => {
    const alert: SyncMlCommand = {
      kind: 'Alert',
      cmdId: 9,
      data: '1224',
      items: [
        {
          source: './Device/Vendor/MSFT/EnterpriseDesktopAppManagement/MSI/X/DownloadInstall',
          meta: {
            type: 'Reversed-Domain-Name:com.microsoft.mdm.win32csp_install',
            format: 'int',
            mark: 'informational',
          },
          data: '0',
        },
      ],
    };
    const out = run({ message: clientMessage(DEV, '1', 1, package1(DEV, [alert])) });
    expect(out.effects).toContainEqual({
      kind: 'event',
      alertCode: 1224,
      type: 'Reversed-Domain-Name:com.microsoft.mdm.win32csp_install',
      format: 'int',
      mark: 'informational',
      source: './Device/Vendor/MSFT/EnterpriseDesktopAppManagement/MSI/X/DownloadInstall',
      data: '0',
    });
  });

  it('receive applies the message and compose sends the queue: together they are step', () => {
    const input: StepInput = {
      state: undefined,
      deviceId: DEV,
      auth: certAuth,
      sent: [],
      inFlight: [],
      pending: [q('c1', { verb: 'Get', items: [{ target: './DevDetail/SwV' }] })],
      options,
      message: clientMessage(DEV, '1', 1, package1(DEV)),
    };
    const received = receive(input);
    expect('open' in received).toBe(true);
    // What the device's message caused, before anything is sent: what the hooks see.
    expect(received.effects.map((e) => e.kind)).not.toContain('sent');
    // A command queued between the halves goes out in the same reply.
    const late = q('late', { verb: 'Get', items: [{ target: './DevDetail/OEM' }] });
    const out = compose(received, [...input.pending, late]);
    expect(out).toEqual(step({ ...input, pending: [...input.pending, late] }));
    expect(
      out.effects.filter((e) => e.kind === 'sent').map((e) => (e.kind === 'sent' ? e.ref.commandId : '')),
    ).toEqual(['c1', 'late']);
  });

  it('receive finishes a refused message by itself; compose adds nothing to it', () => {
    const received = receive({
      state: undefined,
      deviceId: DEV,
      auth: certAuth,
      sent: [],
      inFlight: [],
      pending: [],
      options,
      message: clientMessage(DEV, '1', 2, [status(1, 1, 0, 'SyncHdr', 200)]),
    });
    expect('open' in received).toBe(false);
    expect(received.state).toBeUndefined();
    expect(compose(received, [q('c1', { verb: 'Get', items: [{ target: './x' }] })])).toBe(received);
  });
});
