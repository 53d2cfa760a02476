// Retention of finished OMA-DM sessions: the pruning pass over real SQLite, and its timer.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startSessionPruning } from '../../src/dm/retention.js';
import { silentLogger } from '../../src/logger.js';
import type { Storage } from '../../src/storage/index.js';
import { clientMessage, package1, status } from './helpers.js';
import { certOf, encodeClient, type Harness, harness } from './support.js';

const MARCOS = '1E08C6E95D8BB843B1278FF45BC60CC6';
const cert = certOf(MARCOS, 'AA01');
const DAY = 86_400_000;

let h: Harness;
afterEach(async () => {
  await h?.close();
  vi.useRealTimers();
});

describe('finished-session retention', () => {
  it('deletes sessions finished more than sessionRetentionDays ago, keeps the rest and every command record', async () => {
    let clock = new Date('2026-03-01T00:00:00.000Z');
    h = await harness({ now: () => clock });
    const p1 = (sessionId: string) => encodeClient(clientMessage(MARCOS, sessionId, 1, package1(MARCOS)));
    // Session 1: one Get, answered, finished on 1 March.
    const old = await h.enqueue(MARCOS, { verb: 'Get', items: [{ target: './DevDetail/SwV' }] });
    await h.service.exchange(p1('1'), cert);
    const answer = clientMessage(MARCOS, '1', 2, [
      status(1, 1, 0, 'SyncHdr', 200),
      status(2, 1, 5, 'Get', 200),
    ]);
    await h.service.exchange(encodeClient(answer), cert);
    expect(await h.storage.commands.listNodes(old)).toHaveLength(1);
    // Session 2: finished on 20 March. Session 3: still open (started 20 March).
    clock = new Date('2026-03-20T00:00:00.000Z');
    const recent = await h.enqueue(MARCOS, { verb: 'Get', items: [{ target: './DevDetail/OEM' }] });
    await h.service.exchange(p1('2'), cert);
    const answer2 = clientMessage(MARCOS, '2', 2, [
      status(1, 1, 0, 'SyncHdr', 200),
      status(2, 1, 5, 'Get', 200),
    ]);
    await h.service.exchange(encodeClient(answer2), cert);
    const open = await h.enqueue(MARCOS, { verb: 'Get', items: [{ target: './DevDetail/FwV' }] });
    await h.service.exchange(p1('3'), cert);

    const pruning = startSessionPruning({
      storage: h.storage,
      retentionDays: 30,
      logger: silentLogger(),
      now: () => new Date(Date.parse('2026-04-05T00:00:00.000Z')),
    });
    try {
      expect(await pruning.runOnce()).toEqual({
        sessions: 1,
        deviceEvents: 0,
        commands: 0,
        retiredDevices: 0,
        audit: 0,
      });
      expect(await pruning.runOnce()).toEqual({
        sessions: 0,
        deviceEvents: 0,
        commands: 0,
        retiredDevices: 0,
        audit: 0,
      });
    } finally {
      pruning.stop();
    }
    // The session is gone; the command keeps its outcome and node records.
    expect((await h.storage.dmSessions.loadExchange(MARCOS, '1')).session).toBeUndefined();
    expect(await h.storage.commands.get(old)).toMatchObject({ state: 'done', statusCode: 200 });
    expect(await h.storage.commands.listNodes(old)).toHaveLength(1);
    expect((await h.storage.dmSessions.loadExchange(MARCOS, '2')).session?.status).toBe('closed');
    expect(await h.storage.commands.listNodes(recent)).toHaveLength(1);
    expect(await h.storage.commands.listNodes(open)).toHaveLength(1);
    expect((await h.storage.dmSessions.loadExchange(MARCOS, '3')).active.map((s) => s.sessionId)).toEqual([
      '3',
    ]);
  });

  it('runs on its timer, every batch until the backlog is gone, and stops', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const cutoffs: string[] = [];
    let backlog = 1200;
    const audited: string[] = [];
    const tx = {
      async tryJobLock() {
        return true;
      },
      audit: {
        async record(e: { action: string }) {
          audited.push(e.action);
        },
      },
      dmSessions: {
        async pruneFinished(endedBefore: string, limit: number) {
          cutoffs.push(endedBefore);
          const n = Math.min(backlog, limit);
          backlog -= n;
          return { sessions: n };
        },
      },
    };
    const storage = { transaction: <T>(work: (t: typeof tx) => Promise<T>) => work(tx) } as unknown as Pick<
      Storage,
      'transaction'
    >;
    const now = new Date('2026-04-05T00:00:00.000Z');
    const pruning = startSessionPruning({
      storage,
      retentionDays: 7,
      logger: silentLogger(),
      intervalMs: 60_000,
      now: () => now,
    });
    expect(cutoffs).toEqual([]);
    await vi.advanceTimersByTimeAsync(60_000);
    // The pass yields between batches: let it finish.
    for (let i = 0; i < 50 && cutoffs.length < 3; i++) await new Promise((r) => setImmediate(r));
    expect(cutoffs).toEqual(Array(3).fill(new Date(now.getTime() - 7 * DAY).toISOString()));
    expect(backlog).toBe(0);
    for (let i = 0; i < 50 && audited.length < 1; i++) await new Promise((r) => setImmediate(r));
    expect(audited).toEqual(['retention.prune']);
    pruning.stop();
    await vi.advanceTimersByTimeAsync(600_000);
    expect(cutoffs).toHaveLength(3);
  });
});
