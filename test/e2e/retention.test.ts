// Retention of device events, finished commands and audit events (beside finished sessions), on
// both backends: what is older than its retention goes, pending commands and recent rows stay, and
// the pass is audited.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { defaultCatalog } from '../../src/catalog/catalog.js';
import { loadConfig } from '../../src/config.js';
import { startSessionPruning } from '../../src/dm/retention.js';
import { silentLogger } from '../../src/logger.js';
import { VirtualDevice } from '../../src/simulator/device.js';
import { makeProfile } from '../../src/simulator/profile.js';
import { describeBackends } from '../support/backends.js';
import { startTestServer, type TestServer } from '../support/server.js';

const DAY = 86_400_000;

describeBackends('retention', (backend) => {
  let server: TestServer;
  let device: VirtualDevice;
  beforeAll(async () => {
    server = await startTestServer({}, { backend });
    await server.addUser('keep@contoso.com', 'Keep-pass-1');
    device = new VirtualDevice({
      profile: makeProfile('keep-1'),
      catalog: defaultCatalog(),
      tls: { ca: server.tlsCertPem },
    });
    await device.enroll(server.url, 'keep@contoso.com', 'Keep-pass-1');
    expect((await device.checkIn()).ok).toBe(true);
  });
  afterAll(async () => {
    device?.close();
    await server?.close();
  });

  it('has documented defaults', () => {
    const c = loadConfig({ env: {} });
    expect([
      c.sessionRetentionDays,
      c.deviceEventRetentionDays,
      c.commandRetentionDays,
      c.auditRetentionDays,
    ]).toEqual([30, 90, 90, 365]);
  });

  it('deletes finished commands, device events and audit events past their retention', async () => {
    const deviceId = device.profile.deviceId;
    const done = await server.storage.commands.enqueue({
      deviceId,
      command: { verb: 'Get', items: [{ target: './DevDetail/OEM' }] },
      origin: 'admin',
    });
    expect((await device.checkIn()).ok).toBe(true);
    expect(await server.storage.commands.get(done)).toMatchObject({ state: 'done' });
    const pending = await server.storage.commands.enqueue({
      deviceId,
      command: { verb: 'Get', items: [{ target: './DevDetail/FwV' }] },
      origin: 'admin',
    });
    // A second device reports an event (its unenrollment alert).
    const leaving = new VirtualDevice({
      profile: makeProfile('keep-2'),
      catalog: defaultCatalog(),
      tls: { ca: server.tlsCertPem },
    });
    await leaving.enroll(server.url, 'keep@contoso.com', 'Keep-pass-1');
    leaving.requestUnenroll();
    await leaving.checkIn();
    leaving.close();
    const events = await server.storage.events.list(leaving.profile.deviceId);
    expect(events.length).toBeGreaterThan(0);
    await server.storage.audit.record({ actor: 'tester', action: 'users.add', details: {} });
    const auditBefore = (await server.storage.audit.list({ limit: 1000 })).length;
    expect(auditBefore).toBeGreaterThan(0);

    const retention = { deviceEvents: 90, commands: 90, audit: 365 };
    // Today nothing is old enough.
    const today = startSessionPruning({
      storage: server.storage,
      retentionDays: 30,
      retention,
      logger: silentLogger(),
    });
    expect(await today.runOnce()).toEqual({
      sessions: 0,
      deviceEvents: 0,
      commands: 0,
      retiredDevices: 0,
      audit: 0,
    });
    today.stop();

    // 100 days on: finished commands and sessions go; audit events (365 days) stay; pending stays.
    const later = startSessionPruning({
      storage: server.storage,
      retentionDays: 30,
      retention,
      logger: silentLogger(),
      now: () => new Date(Date.now() + 100 * DAY),
    });
    const pruned = await later.runOnce();
    later.stop();
    expect(pruned.commands).toBeGreaterThan(0);
    expect(pruned.sessions).toBeGreaterThan(0);
    expect(pruned.audit).toBe(0);
    expect(pruned.deviceEvents).toBe(events.length);
    expect(await server.storage.events.list(leaving.profile.deviceId)).toEqual([]);
    expect(await server.storage.commands.get(done)).toBeUndefined();
    expect(await server.storage.commands.get(pending)).toMatchObject({ state: 'pending' });
    const [entry] = await server.storage.audit.list({ limit: 1 });
    expect(entry).toMatchObject({ actor: 'server', action: 'retention.prune', details: { deleted: pruned } });

    // 400 days on: the audit events go too (the pass's own entry is recorded after it).
    const much = startSessionPruning({
      storage: server.storage,
      retentionDays: 30,
      retention,
      logger: silentLogger(),
      now: () => new Date(Date.now() + 400 * DAY),
    });
    const old = await much.runOnce();
    much.stop();
    expect(old.audit).toBe(auditBefore + 1);
    const left = await server.storage.audit.list({ limit: 1000 });
    expect(left.map((e) => e.action)).toEqual(['retention.prune']);
  });
});
