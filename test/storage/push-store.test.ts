// The push store on SQLite and PostgreSQL: coalescing slots, due pushes handed out once, results,
// gone and refused channels, the session that followed, and the report joined with the inventory.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { pushNodes } from '../../src/dm/push-nodes.js';
import type { Storage } from '../../src/storage/index.js';
import { enrollment } from '../dm/support.js';
import { describeBackends, type TestDatabase, testDatabase } from '../support/backends.js';

const nodes = pushNodes('OpenWindowsMDM');
const T0 = Date.parse('2026-12-01T10:00:00.000Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();

describeBackends('push store', (backend) => {
  let db: TestDatabase;
  let storage: Storage;
  beforeAll(async () => {
    db = await testDatabase(backend);
    storage = db.open();
    for (const [id, serial] of [
      ['P1', 'B1'],
      ['P2', 'B2'],
      ['P3', 'B3'],
    ] as const)
      await storage.devices.recordEnrollment(enrollment(id, serial));
    await storage.devices.markUnenrolled('P3');
  });
  afterAll(async () => {
    await storage?.close();
    db?.cleanup();
  });

  it('takes one send slot per window and leaves one push due at its end', async () => {
    expect(await storage.push.request('P1', at(0), 30_000)).toEqual({ sendNow: true });
    expect(await storage.push.request('P1', at(1000), 30_000)).toEqual({ sendNow: false, dueAt: at(30_000) });
    expect(await storage.push.request('P1', at(2000), 30_000)).toEqual({ sendNow: false, dueAt: at(30_000) });
    expect(await storage.push.claimDue(at(29_999), 10)).toEqual([]);
    expect(await storage.push.claimDue(at(30_000), 10)).toEqual(['P1']);
    // Handed out once; the claim took the next slot.
    expect(await storage.push.claimDue(at(31_000), 10)).toEqual([]);
    expect(await storage.push.request('P1', at(40_000), 30_000)).toEqual({
      sendNow: false,
      dueAt: at(60_000),
    });
    expect(await storage.push.request('P1', at(61_000), 30_000)).toEqual({ sendNow: true });
    expect((await storage.push.get('P1'))?.dueAt).toBeNull();
  });

  it('concurrent requests of one device: exactly one gets the slot', async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, () => storage.push.request('P2', at(100_000), 30_000)),
    );
    expect(results.filter((r) => r.sendNow)).toHaveLength(1);
  });

  it('records sends, results, gone and refused channels, and the session that followed', async () => {
    await storage.push.markSending('P1', at(70_000), 'https://a.notify.windows.com/1');
    // A session while WNS has not answered yet still follows the push.
    expect(await storage.push.markFollowed('P1', { sessionId: 'S1', at: at(70_500), origin: '3' })).toEqual({
      sentAt: at(70_000),
    });
    // Only the first session after it.
    expect(await storage.push.markFollowed('P1', { sessionId: 'S2', at: at(71_000) })).toBeUndefined();
    await storage.push.record('P1', {
      at: at(70_000),
      channelUri: 'https://a.notify.windows.com/1',
      result: 'ok',
      httpStatus: 200,
    });
    let p = await storage.push.get('P1');
    expect(p).toMatchObject({
      lastSentAt: at(70_000),
      lastResult: 'ok',
      lastHttpStatus: 200,
      pushes: 1,
      followedSessionId: 'S1',
      followedAt: at(70_500),
      followedOrigin: '3',
    });
    await storage.push.markSending('P1', at(80_000), 'https://a.notify.windows.com/1');
    await storage.push.record('P1', {
      at: at(80_000),
      channelUri: 'https://a.notify.windows.com/1',
      result: 'gone',
      httpStatus: 410,
      error: 'channel expired',
    });
    // A failed push is followed by no session.
    expect(await storage.push.markFollowed('P1', { sessionId: 'S3', at: at(81_000) })).toBeUndefined();
    p = await storage.push.get('P1');
    expect(p).toMatchObject({
      goneChannelUri: 'https://a.notify.windows.com/1',
      pushes: 2,
      lastError: 'channel expired',
    });
    await storage.push.record('P1', {
      at: at(90_000),
      channelUri: 'http://10.0.0.1/',
      result: 'refused',
      error: 'x',
    });
    p = await storage.push.get('P1');
    // A refused channel is not a send.
    expect(p).toMatchObject({ refusedChannelUri: 'http://10.0.0.1/', lastSentAt: at(80_000), pushes: 2 });
  });

  it('reports every device with its latest reported channel and push status', async () => {
    await storage.dmSessions.commitExchange({
      deviceId: 'P2',
      at: at(5000),
      closeSessions: [],
      enqueue: [],
      commands: [],
      inventory: [
        { locUri: nodes.channelUri, data: 'https://b.notify.windows.com/2', format: 'chr' },
        { locUri: nodes.status, data: '0', format: 'int' },
      ],
      events: [],
      unenroll: false,
    });
    const rows = await storage.push.report(nodes);
    expect(rows.map((r) => [r.deviceId, r.deviceStatus])).toEqual([
      ['P1', 'enrolled'],
      ['P2', 'enrolled'],
      ['P3', 'unenrolled'],
    ]);
    const p2 = rows.find((r) => r.deviceId === 'P2')!;
    expect(p2).toMatchObject({
      channelUri: 'https://b.notify.windows.com/2',
      channelReportedAt: at(5000),
      deviceStatusCode: '0',
    });
    expect(rows.find((r) => r.deviceId === 'P3')!.push).toBeUndefined();
    expect((await storage.push.report(nodes, ['P2'])).map((r) => r.deviceId)).toEqual(['P2']);
    expect(await storage.push.report(nodes, [])).toEqual([]);
  });
});
