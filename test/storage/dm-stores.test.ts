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
    const bad = commit({
      sent: [{ msgId: 1, cmdId: 5, commandId: a, path: '', verb: 'Get', targets: [] }],
      events: [{ alertCode: 1226, type: 'x' }],
      enqueue: [{ id: 'f1', deviceId: 'OTHER-DEVICE', command: get, origin: 'policy' }],
    });
    await expect(storage.dmSessions.commitExchange(bad)).rejects.toThrow();
    expect(await storage.commands.get(a)).toMatchObject({ state: 'pending', attempts: 0 });
    expect(await storage.events.list('DEV1')).toEqual([]);
    expect((await storage.dmSessions.loadExchange('DEV1', AT)).active).toBeUndefined();
  });

  it('cancels queued work and stores events when the device unenrolls', async () => {
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
