// The session machine against OMA-DM 1.2 clients that are not Windows (libdmclient and the like):
// large objects answered with a final status mid-way or not supported at all, Atomic/Sequence
// answered through their children only, one Status per Item, and clients that re-send only the
// commands a DIGEST challenge answered 401/407.
import { describe, expect, it } from 'vitest';
import { encodeSyncMl } from '../../src/codec/syncml/index.js';
import type { SyncMlCommand } from '../../src/codec/syncml/types.js';
import { step } from '../../src/dm/machine.js';
import type { DmCommand } from '../../src/shared/dm-command.js';
import { Conversation, kinds, machineOptions, queued as q } from './conversation.js';
import { clientMessage, package1, status } from './helpers.js';

const DEV = 'DEV1';
const bigReplace = (id: string, bytes: number) =>
  q(id, {
    verb: 'Replace',
    items: [{ target: './Vendor/MSFT/Big', format: 'chr', data: 'z'.repeat(bytes) }],
  });
const nextGet = q('next', { verb: 'Get', items: [{ target: './DevDetail/SwV' }] });

/** The server's first chunk of `big` in reply to package 1, with a client MaxMsgSize of `max`. */
function firstChunk(conv: Conversation, max: number) {
  const out = conv.send(clientMessage(DEV, '1', 1, package1(DEV), true, { maxMsgSize: max }));
  const chunk = out.reply.commands.find((c) => c.kind === 'Replace');
  if (chunk?.kind !== 'Replace') throw new Error('no chunk sent');
  return { out, chunk };
}

describe('large objects the device does not take chunk by chunk', () => {
  it.each([
    [200, 'a final success'],
    [202, 'accepted for processing'],
    [404, 'a failure'],
    [500, 'a failure'],
  ])('a non-last chunk answered %i (%s) fails the command and nothing more of it is sent', (code) => {
    const conv = new Conversation([bigReplace('big', 3000), nextGet]);
    const { chunk } = firstChunk(conv, 1200);
    expect(chunk.items[0]!.moreData).toBe(true);
    const sentBytes = chunk.items[0]!.data!.length;
    const out = conv.send(
      clientMessage(DEV, '1', 2, [
        status(1, 1, 0, 'SyncHdr', 200),
        status(2, 1, chunk.cmdId, 'Replace', code),
      ]),
    );
    // The device's code is kept on the node; the command fails with the reason; no success recorded.
    expect(out.effects).toContainEqual({
      kind: 'node-status',
      ref: expect.objectContaining({ commandId: 'big', cmdId: chunk.cmdId, status: code }),
      code,
    });
    expect(out.effects).toContainEqual({
      kind: 'rejected',
      commandId: 'big',
      reason: `device answered ${code} to a non-last large-object chunk (${sentBytes} of 3000 bytes sent); the rest was not sent`,
    });
    expect(out.effects.some((e) => e.kind === 'status' && e.ref.commandId === 'big')).toBe(false);
    // The queue goes on; no further chunk of `big`, now or later in the session.
    expect(kinds(out.reply.commands)).toEqual(['Status:SyncHdr:0:200', 'Get:2']);
    expect(out.state?.outgoing).toBeUndefined();
    const last = conv.send(
      clientMessage(DEV, '1', 3, [status(1, 2, 0, 'SyncHdr', 200), status(2, 2, 2, 'Get', 404)]),
    );
    expect(last.reply.commands.some((c) => c.kind === 'Replace')).toBe(false);
    expect(last.state?.status).toBe('closed');
  });

  it('keeps the chunk going when its 213 arrives after a client message without Final', () => {
    const conv = new Conversation([bigReplace('big', 3000)]);
    const { chunk } = firstChunk(conv, 1200);
    // More client messages follow (no Final) and none answers the chunk yet: ask for the next one.
    const wait = conv.send(clientMessage(DEV, '1', 2, [status(1, 1, 0, 'SyncHdr', 200)], false));
    expect(kinds(wait.reply.commands)).toEqual(['Status:SyncHdr:0:200', 'Alert:2']);
    expect(wait.reply.commands[1]).toMatchObject({ data: '1222' });
    expect(wait.state?.outgoing).toMatchObject({ commandId: 'big' });
    const ack = conv.send(
      clientMessage(
        DEV,
        '1',
        3,
        [status(1, 2, 0, 'SyncHdr', 200), status(2, 1, chunk.cmdId, 'Replace', 213)],
        false,
      ),
    );
    const next = ack.reply.commands.find((c) => c.kind === 'Replace');
    expect(next?.kind === 'Replace' && next.items[0]!.meta?.size).toBeFalsy(); // a later chunk
    expect(next?.kind === 'Replace' && next.items[0]!.data!.length).toBeGreaterThan(0);
  });

  it('sends the item whole when it fits, even without large-object support', () => {
    const conv = new Conversation([bigReplace('big', 3000)], { largeObjects: false });
    const out = conv.send(clientMessage(DEV, '1', 1, package1(DEV), true, { maxMsgSize: 8000 }));
    const replace = out.reply.commands.find((c) => c.kind === 'Replace');
    expect(replace?.kind === 'Replace' && replace.items[0]).toMatchObject({ data: 'z'.repeat(3000) });
    expect(replace?.kind === 'Replace' && replace.items[0]!.moreData).toBeFalsy();
    expect(out.reply.final).toBe(true);
  });

  it.each([
    ['the input (inventory of an earlier session)', { largeObjects: false }, false],
    ['a LrgObj Result earlier in this session', {}, true],
  ] as const)(
    'refuses an item too large for MaxMsgSize when LrgObj is false, known from %s',
    (_, input, readInSession) => {
      const lrgObj = q('lrg', { verb: 'Get', items: [{ target: './DevDetail/LrgObj' }] });
      const conv = new Conversation(
        readInSession ? [lrgObj, bigReplace('big', 24_000)] : [bigReplace('big', 24_000)],
        input,
      );
      let out = conv.send(clientMessage(DEV, '1', 1, package1(DEV), true, { maxMsgSize: 16_384 }));
      if (readInSession) {
        // The Get goes first; the Replace waits for the next message, where LrgObj is known.
        expect(kinds(out.reply.commands).at(-1)).toBe('Get:5');
        out = conv.send(
          clientMessage(DEV, '1', 2, [
            status(1, 1, 0, 'SyncHdr', 200),
            status(2, 1, 5, 'Get', 200),
            {
              kind: 'Results',
              cmdId: 3,
              msgRef: 1,
              cmdRef: 5,
              items: [{ source: './DevDetail/LrgObj', meta: { format: 'bool' }, data: 'false' }],
            },
          ]),
        );
        expect(out.state?.largeObjects).toBe(false);
      }
      expect(out.reply.commands.some((c) => c.kind === 'Replace')).toBe(false);
      const rejected = out.effects.find((e) => e.kind === 'rejected');
      expect(rejected).toMatchObject({ kind: 'rejected', commandId: 'big' });
      expect(rejected?.kind === 'rejected' && rejected.reason).toMatch(
        /^item of 24000 bytes \(command of \d+ bytes\) exceeds the device's MaxMsgSize 16384 and the device does not support large objects/,
      );
      expect(out.effects.some((e) => e.kind === 'sent' && e.ref.commandId === 'big')).toBe(false);
    },
  );

  it('still chunks for a device whose LrgObj is true or unknown', () => {
    for (const largeObjects of [true, undefined]) {
      const conv = new Conversation(
        [bigReplace('big', 3000)],
        largeObjects === undefined ? {} : { largeObjects },
      );
      const { chunk } = firstChunk(conv, 1200);
      expect(chunk.items[0]).toMatchObject({ meta: { size: 3000 }, moreData: true });
    }
  });

  it('refuses an item larger than the MaxObjSize the device declared', () => {
    const conv = new Conversation([bigReplace('big', 3000), nextGet]);
    const out = conv.send(
      clientMessage(DEV, '1', 1, package1(DEV), true, { maxMsgSize: 1200, maxObjSize: 2048 }),
    );
    expect(out.effects).toContainEqual({
      kind: 'rejected',
      commandId: 'big',
      reason: "item of 3000 bytes exceeds the device's MaxObjSize 2048",
    });
    expect(kinds(out.reply.commands).at(-1)).toBe('Get:5');
  });
});

describe('Atomic and Sequence answered through their children only', () => {
  const replace = (target: string): DmCommand => ({
    verb: 'Replace',
    items: [{ target, format: 'int', data: '1' }],
  });
  const open = (command: DmCommand) => {
    const conv = new Conversation([q('c', command), nextGet]);
    const out = conv.send(clientMessage(DEV, '1', 1, package1(DEV)));
    const ids = new Map(conv.sent.filter((r) => r.commandId === 'c').map((r) => [r.path, r.cmdId]));
    return { conv, out, ids };
  };
  /** A client message with the SyncHdr status and a Status for each given path (no container status). */
  const answers = (ids: Map<string, number>, codes: Record<string, number>, msgId = 2, final = true) =>
    clientMessage(
      DEV,
      '1',
      msgId,
      [
        status(1, 1, 0, 'SyncHdr', 200),
        ...Object.entries(codes).map(([path, code], i) => status(i + 2, 1, ids.get(path)!, 'Replace', code)),
      ],
      final,
    );
  const statusOf = (out: ReturnType<Conversation['send']>, path: string) =>
    out.effects.filter((e) => e.kind === 'status' && e.ref.commandId === 'c' && e.ref.path === path);

  it.each([
    ['Atomic', [200, 200], 200],
    ['Atomic', [200, 202], 200],
    ['Atomic', [200, 500], 507],
    ['Atomic', [216, 404], 507],
    ['Atomic', [215, 215], 507],
    ['Sequence', [200, 200], 200],
    ['Sequence', [200, 404], 404],
    ['Sequence', [500, 215], 500],
  ] as const)(
    '%s with children %j and no own Status is settled as %i, as if the device had sent it',
    (verb, codes, expected) => {
      const { conv, ids } = open({ verb, commands: [replace('./a'), replace('./b')] });
      const out = conv.send(answers(ids, { '0': codes[0], '1': codes[1] }));
      expect(statusOf(out, '')).toEqual([
        {
          kind: 'status',
          ref: expect.objectContaining({ commandId: 'c', path: '', verb, status: expected }),
          code: expected,
          inferred: true,
        },
      ]);
      // The children keep their own codes; the container is answered, so it is never sent again.
      expect(statusOf(out, '0')).toMatchObject([{ code: codes[0] }]);
      expect(statusOf(out, '1')).toMatchObject([{ code: codes[1] }]);
      expect(conv.sent.find((r) => r.path === '')?.status).toBe(expected);
      expect(out.reply.commands.some((c) => c.kind === verb)).toBe(false);
      expect(out.effects.some((e) => e.kind === 'unmatched')).toBe(false);
    },
  );

  it('settles nested containers innermost first', () => {
    const { conv, ids } = open({
      verb: 'Atomic',
      commands: [replace('./a'), { verb: 'Sequence', commands: [replace('./b'), replace('./c')] }],
    });
    const out = conv.send(answers(ids, { '0': 200, '1.0': 200, '1.1': 404 }));
    const settled = out.effects.flatMap((e) =>
      e.kind === 'status' && e.inferred ? [[e.ref.path, e.code]] : [],
    );
    expect(settled).toEqual([
      ['1', 404],
      ['', 507],
    ]);
  });

  it('uses the Status the device sent for the container, wherever it comes in the package', () => {
    const { conv, ids } = open({ verb: 'Sequence', commands: [replace('./a'), replace('./b')] });
    // Children in one message without Final, the Sequence's own Status (libdmclient sends it last) in the next.
    const first = conv.send(answers(ids, { '0': 200, '1': 200 }, 2, false));
    expect(statusOf(first, '')).toEqual([]);
    const second = conv.send(
      clientMessage(DEV, '1', 3, [
        status(1, 2, 0, 'SyncHdr', 200),
        status(2, 1, ids.get('')!, 'Sequence', 214),
      ]),
    );
    expect(statusOf(second, '')).toEqual([
      { kind: 'status', ref: expect.objectContaining({ path: '', status: 214 }), code: 214 },
    ]);
  });

  it('leaves a container unanswered while any child is unanswered (it is re-sent later)', () => {
    const { conv, ids } = open({ verb: 'Atomic', commands: [replace('./a'), replace('./b')] });
    const out = conv.send(answers(ids, { '0': 200 }));
    expect(statusOf(out, '')).toEqual([]);
    expect(conv.sent.find((r) => r.path === '')?.status).toBeUndefined();
  });
});

describe('one Status per Item', () => {
  it('records the first failing item as the command status, without unmatched answers', () => {
    const conv = new Conversation([
      q('two', {
        verb: 'Replace',
        items: [
          { target: './a', format: 'int', data: '1' },
          { target: './b', format: 'int', data: '2' },
        ],
      }),
    ]);
    conv.send(clientMessage(DEV, '1', 1, package1(DEV)));
    const item = (cmdId: number, target: string, code: number): SyncMlCommand => ({
      ...(status(cmdId, 1, 5, 'Replace', code) as Extract<SyncMlCommand, { kind: 'Status' }>),
      targetRefs: [target],
    });
    const out = conv.send(
      clientMessage(DEV, '1', 2, [
        status(1, 1, 0, 'SyncHdr', 200),
        item(2, './a', 200),
        item(3, './b', 404),
        item(4, './c', 500),
      ]),
    );
    const statuses = out.effects.filter((e) => e.kind === 'status');
    expect(statuses).toEqual([
      { kind: 'status', ref: expect.objectContaining({ commandId: 'two', status: 404 }), code: 404 },
    ]);
    expect(out.effects.some((e) => e.kind === 'unmatched')).toBe(false);
  });
});

describe('DIGEST challenge of a whole message', () => {
  const chal = { type: 'syncml:auth-md5', format: 'b64', nextNonce: 'bm9uY2U=' };
  const challenge = (message: ReturnType<typeof clientMessage>, hdrStatus: 401 | 407) =>
    step({
      state: undefined,
      message,
      deviceId: DEV,
      auth: { ok: false, hdrStatus, chal },
      sent: [],
      inFlight: [],
      pending: [q('x', { verb: 'Get', items: [{ target: './x' }] })],
      options: machineOptions,
    });

  it.each([401, 407] as const)(
    'answers every command of the message with %i, the SyncHdr with Chal',
    (code) => {
      const cmds: SyncMlCommand[] = [
        { kind: 'Alert', cmdId: 1, data: '1201', items: [] },
        {
          kind: 'Replace',
          cmdId: 2,
          items: [{ source: './DevInfo/DevId', data: DEV }],
        },
        status(3, 4, 0, 'SyncHdr', 200),
        status(4, 4, 7, 'Get', 200),
        { kind: 'Results', cmdId: 5, msgRef: 4, cmdRef: 7, items: [{ source: './x', data: '1' }] },
        { kind: 'Alert', cmdId: 6, data: '1224', items: [{ meta: { type: 'x' }, data: 'y' }] },
      ];
      const out = challenge(clientMessage(DEV, '1', 5, cmds), code);
      expect(out.state).toBeUndefined();
      expect(out.effects).toEqual([]);
      expect(out.reply.final).toBe(true);
      expect(out.reply.commands).toEqual([
        { kind: 'Status', cmdId: 1, msgRef: 5, cmdRef: 0, cmd: 'SyncHdr', data: String(code), chal },
        { kind: 'Status', cmdId: 2, msgRef: 5, cmdRef: 1, cmd: 'Alert', data: String(code) },
        { kind: 'Status', cmdId: 3, msgRef: 5, cmdRef: 2, cmd: 'Replace', data: String(code) },
        { kind: 'Status', cmdId: 4, msgRef: 5, cmdRef: 5, cmd: 'Results', data: String(code) },
        { kind: 'Status', cmdId: 5, msgRef: 5, cmdRef: 6, cmd: 'Alert', data: String(code) },
      ]);
      expect(() => encodeSyncMl(out.reply)).not.toThrow();
    },
  );

  it('answers only the SyncHdr when the identity is refused (403), and sends no command', () => {
    const out = step({
      state: undefined,
      message: clientMessage(DEV, '1', 1, package1(DEV)),
      deviceId: DEV,
      auth: { ok: false, hdrStatus: 403 },
      sent: [],
      inFlight: [],
      pending: [],
      options: machineOptions,
    });
    expect(kinds(out.reply.commands)).toEqual(['Status:SyncHdr:0:403']);
  });

  it('a client re-sending the challenged commands with its Cred opens the session normally', () => {
    const first = challenge(clientMessage(DEV, '1', 1, package1(DEV)), 407);
    const challenged = first.reply.commands.filter(
      (c) => c.kind === 'Status' && c.data === '407' && c.cmdRef !== 0,
    );
    const resent = package1(DEV).filter((c) =>
      challenged.some((s) => s.kind === 'Status' && s.cmdRef === c.cmdId),
    );
    expect(resent.map((c) => c.kind)).toEqual(['Alert', 'Alert', 'Replace']);
    const conv = new Conversation([q('x', { verb: 'Get', items: [{ target: './x' }] })]);
    const out = conv.send(clientMessage(DEV, '1', 2, [status(1, 1, 0, 'SyncHdr', 407), ...resent]), {
      auth: { ok: true, method: 'digest', hdrStatus: 212 },
    });
    expect(kinds(out.reply.commands)).toEqual([
      'Status:SyncHdr:0:212',
      'Status:Alert:2:200',
      'Status:Alert:3:200',
      'Status:Replace:4:200',
      'Get:5',
    ]);
    expect(out.state?.status).toBe('active');
  });
});

describe('a Get whose Status and Results come in different messages of one package', () => {
  const swv = q('swv', { verb: 'Get', items: [{ target: './DevDetail/SwV' }] });
  const results = (cmdId: number, msgRef: number, cmdRef: number, data: string): SyncMlCommand => ({
    kind: 'Results',
    cmdId,
    msgRef,
    cmdRef,
    items: [{ source: './DevDetail/SwV', data }],
  });
  /** Package 1, then the server's Get; returns its CmdID. */
  function sentGet(conv: Conversation): number {
    const out = conv.send(clientMessage(DEV, '1', 1, package1(DEV)));
    const get = out.reply.commands.find((c) => c.kind === 'Get');
    if (get?.kind !== 'Get') throw new Error('no Get sent');
    return get.cmdId;
  }
  const swvEffects = (out: ReturnType<Conversation['send']>) =>
    out.effects.filter((e) => (e.kind === 'status' || e.kind === 'results') && e.ref.commandId === 'swv');

  it('reports the Status with the Results of the later message', () => {
    const conv = new Conversation([swv]);
    const cmdRef = sentGet(conv);
    // The device splits its package: the Status now (no Final), the Results in the next message.
    const first = conv.send(
      clientMessage(DEV, '1', 2, [status(1, 1, 0, 'SyncHdr', 200), status(2, 1, cmdRef, 'Get', 200)], false),
    );
    expect(swvEffects(first)).toEqual([]);
    expect(first.state?.heldStatuses).toEqual([{ msgId: 1, cmdId: cmdRef, code: 200 }]);
    const second = conv.send(clientMessage(DEV, '1', 3, [results(1, 1, cmdRef, '10.0.22631')]));
    expect(swvEffects(second).map((e) => e.kind)).toEqual(['status', 'results']);
    expect(swvEffects(second)[0]).toMatchObject({ code: 200, ref: { status: 200 } });
    expect(swvEffects(second)[1]).toMatchObject({
      items: [{ locUri: './DevDetail/SwV', data: '10.0.22631' }],
    });
    expect(second.state?.heldStatuses).toBeUndefined();
    expect(second.state?.status).toBe('closed');
  });

  it('reports a held Status alone when the package ends without the Results', () => {
    const conv = new Conversation([swv]);
    const cmdRef = sentGet(conv);
    conv.send(
      clientMessage(DEV, '1', 2, [status(1, 1, 0, 'SyncHdr', 200), status(2, 1, cmdRef, 'Get', 200)], false),
    );
    const last = conv.send(clientMessage(DEV, '1', 3, [], true));
    expect(swvEffects(last)).toEqual([expect.objectContaining({ kind: 'status', code: 200 })]);
    expect(last.state?.heldStatuses).toBeUndefined();
  });

  it('does not hold a failed Get, nor one whose Results came in the same message', () => {
    for (const [code, withResults] of [
      [404, false],
      [200, true],
    ] as const) {
      const conv = new Conversation([swv]);
      const cmdRef = sentGet(conv);
      const out = conv.send(
        clientMessage(
          DEV,
          '1',
          2,
          [
            status(1, 1, 0, 'SyncHdr', 200),
            status(2, 1, cmdRef, 'Get', code),
            ...(withResults ? [results(3, 1, cmdRef, '10.0')] : []),
          ],
          false,
        ),
      );
      expect(swvEffects(out)[0]).toMatchObject({ kind: 'status', code });
      expect(out.state?.heldStatuses).toBeUndefined();
    }
  });
});
