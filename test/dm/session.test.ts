// The session engine over real SQLite: replays of the captured Windows sessions, authentication,
// re-sending, hooks and the negative cases. Nothing is mocked below the service.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { computeMd5Digest, parseSyncMl } from '../../src/codec/syncml/index.js';
import type { SyncMlCommand } from '../../src/codec/syncml/types.js';
import type { CommandOutcome } from '../../src/dm/hooks.js';
import { LIVE_SESSION_MS } from '../../src/dm/session.js';
import { sessionTokenOf } from '../../src/dm/session-token.js';
import { clientMessage, package1, SERVER_URL, status } from './helpers.js';
import { certOf, DIGEST, encodeClient, type Harness, harness } from './support.js';

const MARCOS = '1E08C6E95D8BB843B1278FF45BC60CC6';
const FLEET = 'B5B954E81FBCB94EB79BD08BE625F4EE';
const marcosCert = certOf(MARCOS, 'AA01');
const fleetCert = certOf(FLEET, 'BB02');
const none = { kind: 'none' } as const;

let h: Harness;
afterEach(async () => {
  await h?.close();
});

const read = (p: string) => readFileSync(p);
const replyOf = (body: string) => parseSyncMl(body);
const codes = (cmds: readonly SyncMlCommand[]) =>
  cmds.map((c) => (c.kind === 'Status' ? `${c.cmd}:${c.cmdRef}:${c.data}` : `${c.kind}:${c.cmdId}`));

describe('replay: marcosd4h session (package 1, two Replace, 202 answers)', () => {
  it('answers message by message and records the 202s', async () => {
    h = await harness();
    const img = 'https://fleetdm.com/images/articles/fleet-4.24.0-cover-1600x900@2x.jpg';
    const ids = [];
    for (const node of ['DesktopImageUrl', 'LockScreenImageUrl']) {
      ids.push(
        await h.enqueue(MARCOS, {
          verb: 'Replace',
          items: [
            { target: `./Vendor/MSFT/Personalization/${node}`, format: 'chr', type: 'text/plain', data: img },
          ],
        }),
      );
    }
    const dir = 'fixtures/windows10-syncml-marcosd4h';
    const r1 = await h.service.exchange(
      read(`${dir}/marcosd4h-09-syncml-client-1.wire-reconstructed.xml`),
      marcosCert,
    );
    expect(r1.httpStatus).toBe(200);
    const expected = parseSyncMl(read(`${dir}/marcosd4h-10-syncml-server-1.xml`));
    expect(replyOf(r1.body).commands).toEqual(expected.commands);
    expect(r1.body.startsWith('<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr>')).toBe(true);

    const r2 = await h.service.exchange(
      read(`${dir}/marcosd4h-11-syncml-client-2.wire-reconstructed.xml`),
      marcosCert,
    );
    const reply2 = replyOf(r2.body);
    expect(codes(reply2.commands)).toEqual(['SyncHdr:0:200']);
    expect(reply2.final).toBe(true);
    for (const id of ids) {
      expect(await h.storage.commands.get(id)).toMatchObject({ state: 'done', statusCode: 202, attempts: 1 });
      const nodes = await h.storage.commands.listNodes(id);
      expect(nodes).toEqual([expect.objectContaining({ sessionId: '1', msgId: 1, status: 202 })]);
    }
    expect((await h.storage.inventory.get(MARCOS, './DevInfo/Mod'))?.value).toBe('VMware7,1');
    expect((await h.storage.checkIns.get(MARCOS))?.loginStatus).toBe('user');
  });
});

describe('replay: fleet sessions (package 1, then the 1226 unenrollment)', () => {
  it('unenrolls the device, cancels its queue, stores the event and refuses it afterwards', async () => {
    h = await harness();
    const dir = 'fixtures/windows10-syncml-fleet-unenroll';
    const r1 = await h.service.exchange(
      read(`${dir}/fleet-01-syncml-client-1.wire-reconstructed.xml`),
      fleetCert,
    );
    expect(replyOf(r1.body).commands).toEqual(
      parseSyncMl(read(`${dir}/fleet-02-syncml-server-1.xml`)).commands,
    );
    const queued = await h.enqueue(FLEET, { verb: 'Get', items: [{ target: './DevDetail/SwV' }] });
    const r2 = await h.service.exchange(
      read(`${dir}/fleet-03-syncml-client-1226-unenroll.wire-reconstructed.xml`),
      fleetCert,
    );
    const reply = replyOf(r2.body);
    expect(codes(reply.commands)).toEqual([
      'SyncHdr:0:200',
      'Alert:2:200',
      'Alert:3:200',
      'Alert:4:200',
      'Replace:5:200',
    ]);
    expect((await h.storage.devices.getDevice(FLEET))?.status).toBe('unenrolled');
    expect((await h.storage.commands.get(queued))?.state).toBe('cancelled');
    expect(await h.storage.events.list(FLEET)).toEqual([
      expect.objectContaining({
        alertCode: 1226,
        type: 'com.microsoft:mdm.unenrollment.userrequest',
        data: '1',
      }),
    ]);
    const again = await h.service.exchange(
      read(`${dir}/fleet-01-syncml-client-1.wire-reconstructed.xml`),
      fleetCert,
    );
    expect(codes(replyOf(again.body).commands)).toEqual(['SyncHdr:0:403']);
    expect(again.refused).toMatch(/revoked|not enrolled/);
  });
});

describe('authentication', () => {
  const p1 = (device: string, extra: Partial<Parameters<typeof clientMessage>[5]> = {}) =>
    encodeClient(clientMessage(device, '5', 1, package1(device), true, extra));

  async function sessionRows(): Promise<number> {
    const list = await h.storage.commands.listForDevice(MARCOS);
    return list.length + (await h.storage.inventory.list(MARCOS)).length;
  }

  it('refuses a message without any credentials with a 407 DIGEST challenge and writes nothing', async () => {
    h = await harness();
    const r = await h.service.exchange(p1(MARCOS), none);
    const hdr = replyOf(r.body).commands[0]!;
    expect(hdr).toMatchObject({
      kind: 'Status',
      cmd: 'SyncHdr',
      data: '407',
      chal: { type: 'syncml:auth-md5', format: 'b64' },
    });
    // Every command of the challenged message is answered 407 too (SyncML RepPro), so a client that
    // re-sends only the commands answered 401/407 re-sends them all with its Cred.
    expect(codes(replyOf(r.body).commands)).toEqual([
      'SyncHdr:0:407',
      'Alert:2:407',
      'Alert:3:407',
      'Replace:4:407',
    ]);
    expect(await sessionRows()).toBe(0);
  });

  it("refuses another device's certificate and a DeviceID mismatch with 403, writing nothing", async () => {
    h = await harness();
    const wrongSerial = await h.service.exchange(p1(MARCOS), certOf(MARCOS, 'BB02'));
    expect(codes(replyOf(wrongSerial.body).commands)).toEqual(['SyncHdr:0:403']);
    const mismatch = await h.service.exchange(p1(MARCOS), fleetCert);
    expect(codes(replyOf(mismatch.body).commands)).toEqual(['SyncHdr:0:403']);
    expect(mismatch.refused).toContain('used for');
    const rejected = await h.service.exchange(p1(MARCOS), {
      kind: 'rejected-certificate',
      reason: 'untrusted',
    });
    expect(codes(replyOf(rejected.body).commands)).toEqual(['SyncHdr:0:403']);
    const unknown = await h.service.exchange(p1('UNKNOWN-DEVICE'), none);
    expect(codes(replyOf(unknown.body).commands)).toEqual(['SyncHdr:0:403']);
    expect(await sessionRows()).toBe(0);
    expect(await h.storage.checkIns.get(MARCOS)).toBeUndefined();
  });

  it('DIGEST: 407 → Cred from the nonce → 212 with the next nonce; a replayed Cred gets 401', async () => {
    h = await harness();
    const id = await h.enqueue(MARCOS, { verb: 'Get', items: [{ target: './DevDetail/SwV' }] });
    const challenge = replyOf((await h.service.exchange(p1(MARCOS), none)).body).commands[0]!;
    const nonce = Buffer.from(challenge.kind === 'Status' ? challenge.chal!.nextNonce : '', 'base64');
    const cred = {
      type: 'syncml:auth-md5',
      format: 'b64',
      data: computeMd5Digest(DIGEST.name, DIGEST.secret, nonce),
    };
    const signed = encodeClient(
      clientMessage(MARCOS, '5', 2, package1(MARCOS), true, { cred, sourceName: DIGEST.name }),
    );
    const ok = replyOf((await h.service.exchange(signed, none)).body);
    expect(ok.commands[0]).toMatchObject({ data: '212', chal: { type: 'syncml:auth-md5' } });
    expect(codes(ok.commands).at(-1)).toBe('Get:5');
    // The rest of the session needs no Cred (212), at the RespURI the server named.
    expect(ok.header.respUri).toMatch(
      /^https:\/\/mdm\.example\.test\/ManagementServer\/MDM\.svc\?s=[\w-]{22}$/,
    );
    const next = encodeClient(
      clientMessage(MARCOS, '5', 3, [
        status(1, 1, 0, 'SyncHdr', 200),
        status(2, 1, 5, 'Get', 200),
        {
          kind: 'Results',
          cmdId: 3,
          msgRef: 1,
          cmdRef: 5,
          items: [{ source: './DevDetail/SwV', data: '10.0.19043.2364' }],
        },
      ]),
    );
    const sessionToken = sessionTokenOf(ok.header.respUri!);
    const closing = replyOf((await h.service.exchange(next, none, { sessionToken })).body);
    expect(codes(closing.commands)).toEqual(['SyncHdr:0:200']);
    expect(await h.storage.commands.get(id)).toMatchObject({ state: 'done', statusCode: 200 });
    expect((await h.storage.inventory.get(MARCOS, './DevDetail/SwV'))?.value).toBe('10.0.19043.2364');
    // Replaying the signed package (same nonce) is refused.
    const replay = replyOf((await h.service.exchange(signed, none)).body);
    expect(replay.commands[0]).toMatchObject({ data: '401' });
    // Wrong password.
    const nonce2 = (await h.storage.devices.getDigestCredentials(MARCOS))!.appSrv.nonce;
    const bad = { ...cred, data: computeMd5Digest(DIGEST.name, 'wrong', Buffer.from(nonce2, 'base64')) };
    const wrong = replyOf(
      (
        await h.service.exchange(
          encodeClient(clientMessage(MARCOS, '6', 1, package1(MARCOS), true, { cred: bad })),
          none,
        )
      ).body,
    );
    expect(wrong.commands[0]).toMatchObject({ data: '401' });
  });

  /** Opens a DIGEST session for `device` (407, then Cred) and returns the 212 reply. */
  async function digestSession(device: string, sessionId: string) {
    const challenge = replyOf(
      (await h.service.exchange(encodeClient(clientMessage(device, sessionId, 1, package1(device))), none))
        .body,
    ).commands[0]!;
    const nonce = Buffer.from(challenge.kind === 'Status' ? challenge.chal!.nextNonce : '', 'base64');
    const cred = { type: 'syncml:auth-md5', data: computeMd5Digest(DIGEST.name, DIGEST.secret, nonce) };
    const p1 = clientMessage(device, sessionId, 2, package1(device), true, { cred, sourceName: DIGEST.name });
    const reply = replyOf((await h.service.exchange(encodeClient(p1), none)).body);
    expect(reply.commands[0]).toMatchObject({ data: '212' });
    return { reply, token: sessionTokenOf(reply.header.respUri!)! };
  }

  it('DIGEST: a Cred-less later message continues only with the RespURI token of its own session', async () => {
    h = await harness();
    const id = await h.enqueue(MARCOS, { verb: 'Get', items: [{ target: './DevDetail/SwV' }] });
    const marcos = await digestSession(MARCOS, '7');
    const fleet = await digestSession(FLEET, '7');
    expect(marcos.token).not.toBe(fleet.token);
    const answer = (msgId: number, final: boolean) =>
      encodeClient(
        clientMessage(
          MARCOS,
          '7',
          msgId,
          [
            status(1, 1, 0, 'SyncHdr', 200),
            status(2, 1, 5, 'Get', 200),
            {
              kind: 'Results',
              cmdId: 3,
              msgRef: 1,
              cmdRef: 5,
              items: [{ source: './DevDetail/SwV', data: 'x' }],
            },
          ],
          final,
        ),
      );
    const sessionState = async () => (await h.storage.dmSessions.loadExchange(MARCOS, '7')).active;
    const before = await sessionState();
    const nonceBefore = (await h.storage.devices.getDigestCredentials(MARCOS))!.appSrv.nonce;
    // DeviceID + SessionID alone: challenged (407), nothing written but the challenge's fresh nonce.
    const bare = replyOf((await h.service.exchange(answer(3, false), none)).body);
    expect(codes(bare.commands)).toEqual(['SyncHdr:0:407', 'Results:3:407']);
    expect(bare.header.respUri).toBeUndefined();
    // Another session's token: a wrong credential (401).
    const stolen = replyOf(
      (await h.service.exchange(answer(3, false), none, { sessionToken: fleet.token })).body,
    );
    expect(codes(stolen.commands)).toEqual(['SyncHdr:0:401', 'Results:3:401']);
    expect(await sessionState()).toEqual(before);
    expect(await h.storage.commands.get(id)).toMatchObject({ state: 'sent', statusCode: null });
    expect(await h.storage.inventory.get(MARCOS, './DevDetail/SwV')).toBeUndefined();
    const nonceAfter = (await h.storage.devices.getDigestCredentials(MARCOS))!.appSrv.nonce;
    expect(nonceAfter).not.toBe(nonceBefore);
    expect(nonceAfter).toBe(stolen.commands[0]!.kind === 'Status' && stolen.commands[0]!.chal!.nextNonce);

    // The right token (with Windows' own query appended) continues the session; each reply names a new one.
    const ok = replyOf(
      (await h.service.exchange(answer(3, false), none, { sessionToken: marcos.token })).body,
    );
    expect(codes(ok.commands)).toEqual(['SyncHdr:0:200', 'Alert:2']);
    expect(await h.storage.commands.get(id)).toMatchObject({ state: 'done', statusCode: 200 });
    const nextToken = sessionTokenOf(`${ok.header.respUri!}&mode=Maintenance&Platform=WoA`)!;
    expect(nextToken).not.toBe(marcos.token);
    const final = encodeClient(clientMessage(MARCOS, '7', 4, [status(1, 2, 0, 'SyncHdr', 200)]));
    const reused = replyOf((await h.service.exchange(final, none, { sessionToken: marcos.token })).body);
    expect(codes(reused.commands)).toEqual(['SyncHdr:0:401']);
    const closing = replyOf((await h.service.exchange(final, none, { sessionToken: nextToken })).body);
    expect(codes(closing.commands)).toEqual(['SyncHdr:0:200']);
    expect(await sessionState()).toEqual([]);
  });

  it('a certificate session has no RespURI: the certificate is checked on every message', async () => {
    h = await harness();
    const r = replyOf(
      (await h.service.exchange(encodeClient(clientMessage(MARCOS, '1', 1, package1(MARCOS))), marcosCert))
        .body,
    );
    expect(r.commands[0]).toMatchObject({ data: '200' });
    expect(r.header.respUri).toBeUndefined();
  });

  it('DIGEST: an exchange that fails writes no nonce, so the device can retry with the same Cred', async () => {
    let fail = true;
    h = await harness({
      hooks: {
        async onCheckIn() {
          if (fail) throw new Error('policy store unavailable');
          return [];
        },
      },
    });
    const challenge = replyOf(
      (await h.service.exchange(encodeClient(clientMessage(MARCOS, '8', 1, package1(MARCOS))), none)).body,
    ).commands[0]!;
    const nonce = challenge.kind === 'Status' ? challenge.chal!.nextNonce : '';
    const cred = {
      type: 'syncml:auth-md5',
      data: computeMd5Digest(DIGEST.name, DIGEST.secret, Buffer.from(nonce, 'base64')),
    };
    const signed = encodeClient(
      clientMessage(MARCOS, '8', 2, package1(MARCOS), true, { cred, sourceName: DIGEST.name }),
    );
    await expect(h.service.exchange(signed, none)).rejects.toThrow('policy store unavailable');
    expect((await h.storage.devices.getDigestCredentials(MARCOS))!.appSrv.nonce).toBe(nonce);
    fail = false;
    const ok = replyOf((await h.service.exchange(signed, none)).body);
    expect(ok.commands[0]).toMatchObject({ data: '212' });
    const next = ok.commands[0]!.kind === 'Status' ? ok.commands[0]!.chal!.nextNonce : '';
    expect((await h.storage.devices.getDigestCredentials(MARCOS))!.appSrv.nonce).toBe(next);
  });
});

describe('protocol errors', () => {
  it('refuses malformed SyncML with HTTP 400 and no body', async () => {
    h = await harness();
    for (const body of ['<SyncML', '<!DOCTYPE x><SyncML/>', '<other/>', '']) {
      const r = await h.service.exchange(body, marcosCert);
      expect(r.httpStatus).toBe(400);
      expect(r.body).toBe('');
    }
  });

  it('answers a message for an unknown session with 404 + abort and writes nothing', async () => {
    h = await harness();
    const r = await h.service.exchange(
      encodeClient(clientMessage(MARCOS, '42', 2, [status(1, 1, 0, 'SyncHdr', 200)])),
      marcosCert,
    );
    expect(codes(replyOf(r.body).commands)).toEqual(['SyncHdr:0:404', 'Alert:2']);
    expect(await h.storage.checkIns.get(MARCOS)).toBeUndefined();
  });

  it('answers duplicate CmdIDs with 400 on the SyncHdr', async () => {
    h = await harness();
    const cmds = package1(MARCOS);
    const r = await h.service.exchange(
      encodeClient(
        clientMessage(MARCOS, '1', 1, [...cmds, { kind: 'Alert', cmdId: 3, data: '1224', items: [] }]),
      ),
      marcosCert,
    );
    expect(codes(replyOf(r.body).commands)).toEqual(['SyncHdr:0:400']);
  });

  it('records nothing for Status/Results whose MsgRef/CmdRef match no sent command', async () => {
    h = await harness();
    const id = await h.enqueue(MARCOS, { verb: 'Get', items: [{ target: './x' }] });
    await h.service.exchange(encodeClient(clientMessage(MARCOS, '1', 1, package1(MARCOS))), marcosCert);
    await h.service.exchange(
      encodeClient(
        clientMessage(MARCOS, '1', 2, [
          status(1, 1, 0, 'SyncHdr', 200),
          status(2, 9, 5, 'Get', 200),
          status(3, 1, 77, 'Get', 200),
        ]),
      ),
      marcosCert,
    );
    const nodes = await h.storage.commands.listNodes(id);
    expect(nodes.map((n) => n.status)).toEqual([undefined]);
    // Session ended with no status: back in the queue.
    expect(await h.storage.commands.get(id)).toMatchObject({ state: 'pending', attempts: 1 });
  });
});

describe('queue semantics', () => {
  it('re-sends unanswered commands next session and fails them after commandMaxAttempts', async () => {
    let clock = new Date('2026-03-01T10:00:00Z');
    h = await harness({ now: () => clock });
    const id = await h.enqueue(MARCOS, {
      verb: 'Exec',
      items: [{ target: './Vendor/MSFT/Reboot/RebootNow' }],
    });
    for (const session of ['1', '2']) {
      const r = await h.service.exchange(
        encodeClient(clientMessage(MARCOS, session, 1, package1(MARCOS))),
        marcosCert,
      );
      expect(codes(replyOf(r.body).commands)).toContain('Exec:5');
      // The device never answers; its next check-in comes after the session is long dead.
      clock = new Date(clock.getTime() + LIVE_SESSION_MS + 1000);
    }
    // Session 3 starts: session 2 is superseded with no Status → attempts exhausted (2).
    const r3 = await h.service.exchange(
      encodeClient(clientMessage(MARCOS, '3', 1, package1(MARCOS))),
      marcosCert,
    );
    expect(codes(replyOf(r3.body).commands)).not.toContain('Exec:5');
    expect(await h.storage.commands.get(id)).toMatchObject({ state: 'failed', attempts: 2 });
    expect((await h.storage.commands.get(id))?.failureReason).toContain('no status');
  });

  it('hands a command to one live session only; the superseded session still records its answers', async () => {
    let clock = new Date('2026-03-01T10:00:00Z');
    h = await harness({ now: () => clock });
    const id = await h.enqueue(MARCOS, {
      verb: 'Exec',
      items: [{ target: './Vendor/MSFT/Reboot/RebootNow' }],
    });
    const r1 = await h.service.exchange(
      encodeClient(clientMessage(MARCOS, '1', 1, package1(MARCOS))),
      marcosCert,
    );
    expect(codes(replyOf(r1.body).commands)).toContain('Exec:5');
    // A second session of the same device starts while session 1 is still live (a retry, another
    // instance): it does not get the reboot again.
    clock = new Date(clock.getTime() + 1000);
    const r2 = await h.service.exchange(
      encodeClient(clientMessage(MARCOS, '2', 1, package1(MARCOS))),
      marcosCert,
    );
    expect(codes(replyOf(r2.body).commands)).not.toContain('Exec:5');
    // Session 1's late answer is recorded against the command it really carried.
    clock = new Date(clock.getTime() + 1000);
    const late = await h.service.exchange(
      encodeClient(
        clientMessage(MARCOS, '1', 2, [status(1, 1, 0, 'SyncHdr', 200), status(2, 1, 5, 'Exec', 200)]),
      ),
      marcosCert,
    );
    expect(codes(replyOf(late.body).commands)).toEqual(['SyncHdr:0:200']);
    expect(await h.storage.commands.get(id)).toMatchObject({ state: 'done', statusCode: 200, attempts: 1 });
    expect((await h.storage.commands.listNodes(id)).map((n) => [n.sessionId, n.status])).toEqual([
      ['1', 200],
    ]);
    // Session 1 stays closed (superseded); it is not revived by its late message.
    const snap = await h.storage.dmSessions.loadExchange(MARCOS, '1');
    expect(snap.session?.status).toBe('closed');
    expect(snap.active).toEqual([]);
  });

  it('queues the inventory refresh on check-in at most once per interval and stores the values', async () => {
    let clock = new Date('2026-03-01T10:00:00Z');
    h = await harness({ inventoryNodes: ['./DevDetail/SwV', './DevDetail/OEM'], now: () => clock });
    const r1 = replyOf(
      (await h.service.exchange(encodeClient(clientMessage(MARCOS, '1', 1, package1(MARCOS))), marcosCert))
        .body,
    );
    expect(codes(r1.commands).slice(4)).toEqual(['Get:5', 'Get:6']);
    await h.service.exchange(
      encodeClient(
        clientMessage(MARCOS, '1', 2, [
          status(1, 1, 0, 'SyncHdr', 200),
          status(2, 1, 5, 'Get', 200),
          {
            kind: 'Results',
            cmdId: 3,
            msgRef: 1,
            cmdRef: 5,
            items: [{ source: './DevDetail/SwV', meta: { format: 'chr' }, data: '10.0.22631.4037' }],
          },
          status(4, 1, 6, 'Get', 404),
        ]),
      ),
      marcosCert,
    );
    expect(await h.storage.inventory.get(MARCOS, './DevDetail/SwV')).toEqual({
      locUri: './DevDetail/SwV',
      value: '10.0.22631.4037',
      format: 'chr',
      type: null,
      reportedAt: '2026-03-01T10:00:00.000Z',
    });
    clock = new Date('2026-03-01T10:30:00Z');
    const r2 = replyOf(
      (await h.service.exchange(encodeClient(clientMessage(MARCOS, '2', 1, package1(MARCOS))), marcosCert))
        .body,
    );
    expect(r2.commands.some((c) => c.kind === 'Get')).toBe(false);
    clock = new Date('2026-03-01T11:00:00Z');
    const r3 = replyOf(
      (await h.service.exchange(encodeClient(clientMessage(MARCOS, '3', 1, package1(MARCOS))), marcosCert))
        .body,
    );
    expect(r3.commands.filter((c) => c.kind === 'Get').length).toBe(2);
  });

  it('retries a 418 Add as Replace, and hooks see outcomes and enqueue follow-ups in the same exchange', async () => {
    const outcomes: CommandOutcome[] = [];
    h = await harness({
      hooks: {
        async onCommandOutcome(o) {
          outcomes.push(o);
          if (o.tag === 'setting-1' && o.statusCode === 200) {
            return [
              {
                command: { verb: 'Get', items: [{ target: o.targets[0]! }] },
                origin: 'policy',
                tag: 'verify-1',
              },
            ];
          }
          return [];
        },
      },
    });
    const add = await h.storage.commands.enqueue({
      deviceId: MARCOS,
      command: {
        verb: 'Add',
        items: [
          { target: './Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera', format: 'int', data: '0' },
        ],
      },
      origin: 'policy',
      tag: 'setting-1',
    });
    await h.service.exchange(encodeClient(clientMessage(MARCOS, '1', 1, package1(MARCOS))), marcosCert);
    const r2 = replyOf(
      (
        await h.service.exchange(
          encodeClient(
            clientMessage(MARCOS, '1', 2, [status(1, 1, 0, 'SyncHdr', 200), status(2, 1, 5, 'Add', 418)]),
          ),
          marcosCert,
        )
      ).body,
    );
    expect(codes(r2.commands)).toEqual(['SyncHdr:0:200', 'Replace:2']);
    expect(outcomes).toEqual([
      expect.objectContaining({
        commandId: add,
        tag: 'setting-1',
        statusCode: 418,
        origin: 'policy',
        path: '',
      }),
    ]);
    const retry = (await h.storage.commands.listForDevice(MARCOS)).find((c) => c.retryOf === add)!;
    expect(retry).toMatchObject({ state: 'sent', tag: 'setting-1', command: { verb: 'Replace' } });
    const r3 = replyOf(
      (
        await h.service.exchange(
          encodeClient(
            clientMessage(MARCOS, '1', 3, [status(1, 2, 0, 'SyncHdr', 200), status(2, 2, 2, 'Replace', 200)]),
          ),
          marcosCert,
        )
      ).body,
    );
    // The hook's follow-up Get went out in the reply to the very message that reported the 200.
    expect(codes(r3.commands)).toEqual(['SyncHdr:0:200', 'Get:2']);
    const followUp = (await h.storage.commands.listForDevice(MARCOS)).find((c) => c.tag === 'verify-1');
    expect(followUp).toMatchObject({ origin: 'policy', state: 'sent' });
  });

  it('records the Results of a Get that come in a later message than its Status, and hooks see both', async () => {
    const outcomes: CommandOutcome[] = [];
    h = await harness({
      hooks: {
        async onCommandOutcome(o) {
          outcomes.push(o);
          return [];
        },
      },
    });
    const get = await h.enqueue(MARCOS, { verb: 'Get', items: [{ target: './DevDetail/SwV' }] });
    await h.service.exchange(encodeClient(clientMessage(MARCOS, '1', 1, package1(MARCOS))), marcosCert);
    // The device's package is split: its Status for the Get now (no Final), the Results next.
    const r2 = await h.service.exchange(
      encodeClient(
        clientMessage(MARCOS, '1', 2, [status(1, 1, 0, 'SyncHdr', 200), status(2, 1, 5, 'Get', 200)], false),
      ),
      marcosCert,
    );
    expect(codes(replyOf(r2.body).commands)).toEqual(['SyncHdr:0:200', 'Alert:2']);
    expect(await h.storage.commands.get(get)).toMatchObject({ state: 'sent' });
    expect(outcomes).toEqual([]);
    const results: SyncMlCommand = {
      kind: 'Results',
      cmdId: 1,
      msgRef: 1,
      cmdRef: 5,
      items: [{ source: './DevDetail/SwV', data: '10.0.22631.2861' }],
    };
    await h.service.exchange(encodeClient(clientMessage(MARCOS, '1', 3, [results])), marcosCert);
    expect(await h.storage.commands.get(get)).toMatchObject({ state: 'done', statusCode: 200 });
    const [node] = await h.storage.commands.listNodes(get);
    expect(node).toMatchObject({
      status: 200,
      results: [expect.objectContaining({ locUri: './DevDetail/SwV', data: '10.0.22631.2861' })],
    });
    expect((await h.storage.inventory.get(MARCOS, './DevDetail/SwV'))?.value).toBe('10.0.22631.2861');
    expect(outcomes).toEqual([
      expect.objectContaining({
        commandId: get,
        statusCode: 200,
        results: [expect.objectContaining({ data: '10.0.22631.2861' })],
      }),
    ]);
  });

  it('sends what onCheckIn enqueues in the first reply; a throwing hook writes nothing', async () => {
    let fail = false;
    h = await harness({
      hooks: {
        async onCheckIn(checkIn) {
          expect(checkIn).toEqual({
            deviceId: MARCOS,
            sessionId: '1',
            sessionAlert: 1201,
            loginStatus: 'user',
          });
          return [
            {
              command: { verb: 'Get', items: [{ target: './Vendor/MSFT/Policy/Result/Camera/AllowCamera' }] },
              origin: 'policy',
              tag: 'p',
            },
          ];
        },
        async onCommandOutcome() {
          if (fail) throw new Error('policy store unavailable');
          return [];
        },
      },
    });
    const r1 = replyOf(
      (await h.service.exchange(encodeClient(clientMessage(MARCOS, '1', 1, package1(MARCOS))), marcosCert))
        .body,
    );
    expect(codes(r1.commands).at(-1)).toBe('Get:5');
    const [queued] = await h.storage.commands.listForDevice(MARCOS);
    expect(queued).toMatchObject({ origin: 'policy', tag: 'p', state: 'sent' });
    fail = true;
    const answer = encodeClient(
      clientMessage(MARCOS, '1', 2, [status(1, 1, 0, 'SyncHdr', 200), status(2, 1, 5, 'Get', 404)]),
    );
    await expect(h.service.exchange(answer, marcosCert)).rejects.toThrow('policy store unavailable');
    expect(await h.storage.commands.get(queued!.id)).toMatchObject({ state: 'sent', statusCode: null });
    fail = false;
    await h.service.exchange(answer, marcosCert);
    expect(await h.storage.commands.get(queued!.id)).toMatchObject({ state: 'done', statusCode: 404 });
  });

  it("commits the hooks' own storage writes with the exchange, or rolls them back with it", async () => {
    let fail = false;
    h = await harness({
      hooks: {
        async onCommandOutcome(outcome, { tx }) {
          // A hook that records something, then fails: its write must not survive the exchange.
          await tx.audit.record({
            actor: 'policy',
            action: 'outcome',
            details: { status: outcome.statusCode },
          });
          if (fail) throw new Error('policy engine failed after writing');
          return [];
        },
      },
    });
    await h.enqueue(MARCOS, { verb: 'Get', items: [{ target: './x' }] });
    await h.service.exchange(encodeClient(clientMessage(MARCOS, '1', 1, package1(MARCOS))), marcosCert);
    const answer = encodeClient(
      clientMessage(MARCOS, '1', 2, [status(1, 1, 0, 'SyncHdr', 200), status(2, 1, 5, 'Get', 404)]),
    );
    fail = true;
    await expect(h.service.exchange(answer, marcosCert)).rejects.toThrow('failed after writing');
    expect(await h.storage.audit.list({})).toEqual([]);
    fail = false;
    await h.service.exchange(answer, marcosCert);
    expect((await h.storage.audit.list({})).map((a) => a.action)).toEqual(['outcome']);
  });

  it('serialises concurrent exchanges of one device (per-device lock)', async () => {
    h = await harness();
    const id = await h.enqueue(MARCOS, { verb: 'Get', items: [{ target: './x' }] });
    const [first, second] = await Promise.all([
      h.service.exchange(encodeClient(clientMessage(MARCOS, '1', 1, package1(MARCOS))), marcosCert),
      h.service.exchange(
        encodeClient(
          clientMessage(MARCOS, '1', 2, [status(1, 1, 0, 'SyncHdr', 200), status(2, 1, 5, 'Get', 404)]),
        ),
        marcosCert,
      ),
    ]);
    expect(codes(replyOf(first.body).commands).at(-1)).toBe('Get:5');
    expect(codes(replyOf(second.body).commands)).toEqual(['SyncHdr:0:200']);
    expect(await h.storage.commands.get(id)).toMatchObject({ state: 'done', statusCode: 404 });
  });

  it('continues a session from the database alone (a second service instance)', async () => {
    h = await harness();
    const id = await h.enqueue(MARCOS, { verb: 'Delete', items: [{ target: './Vendor/MSFT/X' }] });
    await h.service.exchange(encodeClient(clientMessage(MARCOS, '1', 1, package1(MARCOS))), marcosCert);
    const { createDmSessionService } = await import('../../src/dm/session.js');
    const { silentLogger } = await import('../../src/logger.js');
    const other = createDmSessionService({
      storage: h.storage,
      logger: silentLogger(),
      config: {
        commandMaxAttempts: 2,
        inventoryIntervalMinutes: 60,
        inventoryNodes: [],
        maxBodyBytes: 1 << 20,
        managementUrl: SERVER_URL,
      },
    });
    const r = await other.exchange(
      encodeClient(
        clientMessage(MARCOS, '1', 2, [status(1, 1, 0, 'SyncHdr', 200), status(2, 1, 5, 'Delete', 404)]),
      ),
      marcosCert,
    );
    expect(replyOf(r.body).header.msgId).toBe(2);
    expect(await h.storage.commands.get(id)).toMatchObject({ state: 'done', statusCode: 404 });
  });
});
