// Command queue, DM session exchange, inventory, events and audit log against real SQLite.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ExchangeCommit } from '../../src/storage/dm-sessions.js';
import type { Storage } from '../../src/storage/index.js';
import { openSqliteStorage } from '../../src/storage/sqlite/index.js';
import { enrollment } from '../dm/support.js';

let storage: Storage;
beforeEach(async () => {
  storage = openSqliteStorage({ file: ':memory:' });
  await storage.devices.recordEnrollment(enrollment('DEV1', 'AA01'));
});
afterEach(() => storage.close());

const get = { verb: 'Get', items: [{ target: './DevDetail/SwV' }] } as const;
const AT = '2026-03-01T10:00:00.000Z';

function commit(overrides: Partial<ExchangeCommit>): ExchangeCommit {
  return {
    deviceId: 'DEV1',
    sessionId: '1',
    at: AT,
    closeOthers: false,
    state: '{}',
    status: 'active',
    maxAttempts: 2,
    enqueue: [],
    sent: [],
    statuses: [],
    results: [],
    inventory: [],
    events: [],
    rejected: [],
    unenrolled: false,
    ...overrides,
  };
}

describe('command queue', () => {
  it('enqueues with origin, tag, priority and expiry, and dequeues in priority order', async () => {
    const low = await storage.commands.enqueue({
      deviceId: 'DEV1',
      command: get,
      origin: 'admin',
      actor: 'alice',
    });
    const high = await storage.commands.enqueue({
      deviceId: 'DEV1',
      command: get,
      origin: 'policy',
      tag: 's1',
      priority: 5,
    });
    await storage.commands.enqueue({
      deviceId: 'DEV1',
      command: get,
      origin: 'admin',
      expiresAt: '2026-01-01T00:00:00.000Z',
    });
    expect(await storage.commands.get(high)).toMatchObject({
      origin: 'policy',
      tag: 's1',
      priority: 5,
      state: 'pending',
      attempts: 0,
    });
    expect(await storage.commands.get(low)).toMatchObject({ actor: 'alice', command: get });
    const snap = await storage.dmSessions.loadExchange('DEV1', AT);
    expect(snap.pending.map((q) => q.id)).toEqual([high, low]);
    expect(snap.active).toBeUndefined();
    await storage.dmSessions.commitExchange(commit({}));
    const states = (await storage.commands.listForDevice('DEV1')).map((c) => c.state).sort();
    expect(states).toEqual(['expired', 'pending', 'pending']);
    expect((await storage.commands.listForDevice('DEV1', { states: ['expired'] })).length).toBe(1);
    expect(await storage.commands.cancelPending('DEV1')).toBe(2);
  });

  it('refuses a command for an unknown device', async () => {
    await expect(
      storage.commands.enqueue({ deviceId: 'NOPE', command: get, origin: 'admin' }),
    ).rejects.toThrow(/FOREIGN KEY/);
  });
});

describe('DM session exchange', () => {
  it('records sent nodes, statuses and results, and re-queues unanswered commands on close', async () => {
    const a = await storage.commands.enqueue({ deviceId: 'DEV1', command: get, origin: 'inventory' });
    const b = await storage.commands.enqueue({ deviceId: 'DEV1', command: get, origin: 'admin' });
    const refA = { msgId: 1, cmdId: 5, commandId: a, path: '', verb: 'Get', targets: ['./DevDetail/SwV'] };
    const refB = { ...refA, cmdId: 6, commandId: b };
    await storage.dmSessions.commitExchange(
      commit({
        closeOthers: true,
        sent: [refA, refB],
        checkIn: { loginStatus: 'user', inventoryQueued: true },
      }),
    );
    const snap = await storage.dmSessions.loadExchange('DEV1', AT);
    expect(snap.active).toMatchObject({ sessionId: '1', state: '{}' });
    expect(snap.sent).toEqual([refA, refB]);
    expect(snap.inFlight.map((q) => q.attempts)).toEqual([1, 1]);
    expect(snap.pending).toEqual([]);
    expect(snap.lastInventoryAt).toBe(AT);
    const item = { locUri: './DevDetail/SwV', format: 'chr', data: '10.0.1' };
    await storage.dmSessions.commitExchange(
      commit({
        sessionRowId: snap.active!.rowId,
        status: 'closed',
        endReason: 'completed',
        statuses: [{ ref: refA, code: 200 }],
        results: [{ ref: refA, items: [item] }],
        inventory: [item],
      }),
    );
    expect(await storage.commands.get(a)).toMatchObject({ state: 'done', statusCode: 200 });
    expect(await storage.commands.get(b)).toMatchObject({ state: 'pending', attempts: 1 });
    expect((await storage.commands.listNodes(a))[0]).toMatchObject({
      status: 200,
      results: [item],
      sessionId: '1',
    });
    expect(await storage.inventory.list('DEV1')).toEqual([
      { locUri: './DevDetail/SwV', value: '10.0.1', format: 'chr', type: null, reportedAt: AT },
    ]);
    expect(await storage.inventory.checkIn('DEV1')).toEqual({
      lastCheckInAt: AT,
      lastInventoryAt: AT,
      loginStatus: 'user',
      sessions: 1,
    });
    expect((await storage.dmSessions.loadExchange('DEV1', AT)).active).toBeUndefined();
  });

  it('fails a command after maxAttempts sessions without a status', async () => {
    const a = await storage.commands.enqueue({ deviceId: 'DEV1', command: get, origin: 'admin' });
    const ref = { msgId: 1, cmdId: 5, commandId: a, path: '', verb: 'Get', targets: [] };
    for (const sessionId of ['1', '2']) {
      await storage.dmSessions.commitExchange(commit({ sessionId, closeOthers: true, sent: [ref] }));
    }
    await storage.dmSessions.commitExchange(commit({ sessionId: '3', closeOthers: true }));
    expect(await storage.commands.get(a)).toMatchObject({ state: 'failed', attempts: 2 });
  });

  it('writes nothing when any part of the exchange fails (one transaction)', async () => {
    const a = await storage.commands.enqueue({ deviceId: 'DEV1', command: get, origin: 'admin' });
    const nonceBefore = (await storage.devices.getDigestCredentials('DEV1'))!.appSrv.nonce;
    const bad = commit({
      sent: [{ msgId: 1, cmdId: 5, commandId: a, path: '', verb: 'Get', targets: [] }],
      events: [{ alertCode: 1226, type: 'x' }],
      enqueue: [{ id: 'f1', deviceId: 'OTHER-DEVICE', command: get, origin: 'policy' }],
      nextServerNonce: Buffer.from('next-nonce').toString('base64'),
      unenrolled: true,
    });
    await expect(storage.dmSessions.commitExchange(bad)).rejects.toThrow();
    expect(await storage.commands.get(a)).toMatchObject({ state: 'pending', attempts: 0 });
    expect(await storage.events.list('DEV1')).toEqual([]);
    expect((await storage.dmSessions.loadExchange('DEV1', AT)).active).toBeUndefined();
    // The DIGEST nonce and the enrollment are part of the same transaction.
    expect((await storage.devices.getDigestCredentials('DEV1'))!.appSrv.nonce).toBe(nonceBefore);
    expect((await storage.devices.getDevice('DEV1'))?.status).toBe('enrolled');
  });

  it('stores the next DIGEST nonce with the exchange, only if the verified nonce is still current', async () => {
    const first = (await storage.devices.getDigestCredentials('DEV1'))!.appSrv.nonce;
    const next = Buffer.from('next-nonce').toString('base64');
    const spent = commit({
      nextServerNonce: next,
      spentServerNonce: first,
      events: [{ alertCode: 1224, type: 't' }],
    });
    await storage.dmSessions.commitExchange(spent);
    expect((await storage.devices.getDigestCredentials('DEV1'))!.appSrv.nonce).toBe(next);
    // The same Cred committed again (a concurrent exchange on another server instance): refused whole.
    await expect(
      storage.dmSessions.commitExchange({ ...spent, sessionId: '2', nextServerNonce: 'b3RoZXI=' }),
    ).rejects.toThrow(/no longer/);
    expect((await storage.devices.getDigestCredentials('DEV1'))!.appSrv.nonce).toBe(next);
    expect(await storage.events.list('DEV1')).toHaveLength(1);
    expect((await storage.dmSessions.loadExchange('DEV1', AT)).active?.sessionId).toBe('1');
  });

  it('ends the enrollment, revokes the certificate, cancels queued work and stores events when the device unenrolls', async () => {
    const a = await storage.commands.enqueue({ deviceId: 'DEV1', command: get, origin: 'admin' });
    await storage.dmSessions.commitExchange(
      commit({
        status: 'closed',
        unenrolled: true,
        events: [
          { alertCode: 1226, type: 'com.microsoft:mdm.unenrollment.userrequest', format: 'int', data: '1' },
        ],
      }),
    );
    expect(await storage.commands.get(a)).toMatchObject({ state: 'cancelled' });
    expect(await storage.events.list('DEV1')).toEqual([
      expect.objectContaining({
        alertCode: 1226,
        type: 'com.microsoft:mdm.unenrollment.userrequest',
        format: 'int',
        data: '1',
        receivedAt: AT,
      }),
    ]);
    expect(await storage.devices.getDevice('DEV1')).toMatchObject({ status: 'unenrolled', unenrolledAt: AT });
    expect((await storage.certificates.findBySerial('AA01'))?.status).toBe('revoked');
    expect(await storage.devices.getDigestCredentials('DEV1')).toBeUndefined();
  });
});

describe('re-enrollment under a new DeviceID (same HWDevID)', () => {
  it("cancels the old device's queued and sent commands and closes its open session", async () => {
    const sent = await storage.commands.enqueue({ deviceId: 'DEV1', command: get, origin: 'admin' });
    const pending = await storage.commands.enqueue({ deviceId: 'DEV1', command: get, origin: 'admin' });
    const ref = { msgId: 1, cmdId: 5, commandId: sent, path: '', verb: 'Get', targets: ['./DevDetail/SwV'] };
    await storage.dmSessions.commitExchange(commit({ closeOthers: true, sent: [ref] }));
    expect((await storage.dmSessions.loadExchange('DEV1', AT)).active?.sessionId).toBe('1');

    const again = { ...enrollment('DEV2', 'BB02'), hwDevId: enrollment('DEV1', 'AA01').hwDevId };
    expect((await storage.devices.recordEnrollment(again)).replacedDeviceIds).toEqual(['DEV1']);
    expect((await storage.commands.get(sent))?.state).toBe('cancelled');
    expect((await storage.commands.get(pending))?.state).toBe('cancelled');
    expect((await storage.dmSessions.loadExchange('DEV1', AT)).active).toBeUndefined();
  });

  it('keeps the queue of a device that enrolls again under the same DeviceID', async () => {
    const id = await storage.commands.enqueue({ deviceId: 'DEV1', command: get, origin: 'admin' });
    await storage.devices.recordEnrollment({ ...enrollment('DEV1', 'AA02'), enrollmentId: 'enr-again' });
    expect((await storage.commands.get(id))?.state).toBe('pending');
  });
});

describe('DM session retention', () => {
  const OLD = '2026-01-10T00:00:00.000Z';
  const RECENT = '2026-02-25T00:00:00.000Z';
  const CUTOFF = '2026-02-01T00:00:00.000Z';

  async function session(sessionId: string, at: string, status: 'active' | 'closed'): Promise<string> {
    const id = await storage.commands.enqueue({ deviceId: 'DEV1', command: get, origin: 'admin' });
    const ref = { msgId: 1, cmdId: 5, commandId: id, path: '', verb: 'Get', targets: ['./DevDetail/SwV'] };
    await storage.dmSessions.commitExchange(commit({ sessionId, at, closeOthers: true, sent: [ref] }));
    if (status === 'closed') {
      const rowId = (await storage.dmSessions.loadExchange('DEV1', at)).active!.rowId;
      await storage.dmSessions.commitExchange(
        commit({ sessionId, at, sessionRowId: rowId, status, statuses: [{ ref, code: 200 }] }),
      );
    }
    return id;
  }

  it('deletes closed sessions that ended before the cut-off with their sent nodes, in batches', async () => {
    const old1 = await session('1', OLD, 'closed');
    const old2 = await session('2', OLD, 'closed');
    const recent = await session('3', RECENT, 'closed');
    const active = await session('4', OLD, 'active');
    expect(await storage.dmSessions.pruneFinished(CUTOFF, 1)).toEqual({ sessions: 1, sentNodes: 1 });
    expect(await storage.dmSessions.pruneFinished(CUTOFF, 10)).toEqual({ sessions: 1, sentNodes: 1 });
    expect(await storage.dmSessions.pruneFinished(CUTOFF, 10)).toEqual({ sessions: 0, sentNodes: 0 });
    expect(await storage.commands.listNodes(old1)).toEqual([]);
    expect(await storage.commands.listNodes(old2)).toEqual([]);
    // The commands and their outcome stay; recent and active sessions keep their nodes.
    expect(await storage.commands.get(old1)).toMatchObject({ state: 'done', statusCode: 200 });
    expect(await storage.commands.listNodes(recent)).toHaveLength(1);
    expect(await storage.commands.listNodes(active)).toHaveLength(1);
    expect((await storage.dmSessions.loadExchange('DEV1', RECENT)).active?.sessionId).toBe('4');
  });
});

describe('audit log', () => {
  it('records who did what and when, newest first', async () => {
    await storage.audit.record({
      actor: 'alice',
      action: 'devices.lock',
      deviceId: 'DEV1',
      details: { commandId: 'c1' },
    });
    await storage.audit.record({ actor: 'bob', action: 'commands.get', details: {} });
    const all = await storage.audit.list();
    expect(all.map((e) => e.actor)).toEqual(['bob', 'alice']);
    expect(await storage.audit.list({ deviceId: 'DEV1' })).toEqual([
      expect.objectContaining({
        actor: 'alice',
        action: 'devices.lock',
        deviceId: 'DEV1',
        details: { commandId: 'c1' },
      }),
    ]);
    expect(all[0]!.at).toMatch(/^\d{4}-\d\d-\d\dT/);
  });
});
