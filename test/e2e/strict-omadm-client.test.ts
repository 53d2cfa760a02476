// End to end over real HTTPS with a plain OMA-DM 1.2 client (the simulator's `strict-omadm`
// profile, shaped like libdmclient): large items are never truncated silently (sent whole, or the
// command fails with the reason), an Atomic answered only through its children completes once and
// its settings agree with the device, and a DIGEST challenge completes the session although the
// client re-sends only the commands answered 401/407.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultCatalog } from '../../src/catalog/catalog.js';
import { parseSyncMl } from '../../src/codec/syncml/index.js';
import type { DmCommand } from '../../src/shared/dm-command.js';
import { VirtualDevice, type VirtualDeviceOptions } from '../../src/simulator/device.js';
import { makeProfile } from '../../src/simulator/profile.js';
import { startTestServer, type TestServer } from '../support/server.js';

const USER = 'strict@contoso.com';
const PASSWORD = 'Strict-pass-1';
const LARGE = './Device/Vendor/MSFT/Policy/Config/ApplicationDefaults/DefaultAssociationsConfiguration';
const CAMERA = './Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera';
const CORTANA = './Device/Vendor/MSFT/Policy/Config/Experience/AllowCortana';
const catalog = defaultCatalog();

let n = 0;
async function strictDevice(server: TestServer, extra: Partial<VirtualDeviceOptions> = {}) {
  const device = new VirtualDevice({
    profile: makeProfile(`strict-e2e-${++n}`),
    catalog,
    tls: { ca: server.tlsCertPem },
    client: 'strict-omadm',
    ...extra,
  });
  await device.enroll(server.url, USER, PASSWORD);
  return device;
}

const replace = (target: string, data: string): DmCommand => ({
  verb: 'Replace',
  items: [{ target, format: 'chr', data }],
});

describe('large objects and a client without large-object support', () => {
  let server: TestServer;
  let bare: TestServer;
  beforeAll(async () => {
    server = await startTestServer(); // the default inventory reads ./DevDetail/LrgObj
    bare = await startTestServer({ inventoryNodes: [] });
    for (const s of [server, bare]) await s.addUser(USER, PASSWORD);
  });
  afterAll(async () => {
    await server?.close();
    await bare?.close();
  });

  it('sends an item that fits the MaxMsgSize whole', async () => {
    const device = await strictDevice(server);
    const data = 'w'.repeat(12_000);
    const id = await server.storage.commands.enqueue({
      deviceId: device.profile.deviceId,
      command: replace(LARGE, data),
      origin: 'admin',
    });
    const report = await device.checkIn();
    expect(report.ok, report.error).toBe(true);
    expect(await server.storage.commands.get(id)).toMatchObject({ state: 'done', statusCode: 200 });
    expect(device.tree.get(LARGE)?.value).toBe(data);
    device.close();
  });

  it('fails an item too large for one message once the inventory says LrgObj false, sending none of it', async () => {
    const device = await strictDevice(server);
    expect(device.tree.get('./DevDetail/LrgObj')?.value).toBe('false');
    const id = await server.storage.commands.enqueue({
      deviceId: device.profile.deviceId,
      command: replace(LARGE, 'x'.repeat(24_000)),
      origin: 'admin',
    });
    const report = await device.checkIn();
    expect(report.ok, report.error).toBe(true);
    const command = await server.storage.commands.get(id);
    expect(command).toMatchObject({ state: 'failed', statusCode: null });
    expect(command?.failureReason).toMatch(
      /^item of 24000 bytes \(command of \d+ bytes\) exceeds the device's MaxMsgSize 16384 and the device does not support large objects/,
    );
    expect(report.outcomes.some((o) => o.targetRef === LARGE)).toBe(false);
    expect(device.tree.get(LARGE)).toBeUndefined();
    expect((await server.storage.inventory.get(device.profile.deviceId, './DevDetail/LrgObj'))?.value).toBe(
      'false',
    );
    device.close();
  });

  it('fails a chunked item the device answers 200 mid-way, with the reason, and sends no more of it', async () => {
    // No inventory: the server does not know LrgObj yet and sends the first chunk.
    const device = await strictDevice(bare);
    const id = await bare.storage.commands.enqueue({
      deviceId: device.profile.deviceId,
      command: replace(LARGE, 'y'.repeat(24_000)),
      origin: 'admin',
    });
    const report = await device.checkIn();
    expect(report.ok, report.error).toBe(true);
    const command = await bare.storage.commands.get(id);
    expect(command).toMatchObject({ state: 'failed', statusCode: null });
    const sent = /^device answered 200 to a non-last large-object chunk \((\d+) of 24000 bytes sent\)/.exec(
      command?.failureReason ?? '',
    );
    expect(sent, command?.failureReason ?? '').not.toBeNull();
    // What the device holds is exactly the one chunk it took as the whole value: the server knows.
    expect(device.tree.get(LARGE)?.value.length).toBe(Number(sent![1]));
    expect(report.outcomes.filter((o) => o.targetRef === LARGE)).toHaveLength(1);
    device.close();
  });

  it('sends no chunk in a later session to a device whose earlier inventory says LrgObj false', async () => {
    const device = await strictDevice(server);
    const first = await device.checkIn(); // the inventory of this session records LrgObj
    expect(first.ok, first.error).toBe(true);
    expect((await server.storage.inventory.get(device.profile.deviceId, './DevDetail/LrgObj'))?.value).toBe(
      'false',
    );
    const id = await server.storage.commands.enqueue({
      deviceId: device.profile.deviceId,
      command: replace(LARGE, 'z'.repeat(24_000)),
      origin: 'admin',
    });
    // The inventory is fresh, so this session asks nothing of it: the decision comes from storage.
    const report = await device.checkIn();
    expect(report.ok, report.error).toBe(true);
    const command = await server.storage.commands.get(id);
    expect(command).toMatchObject({ state: 'failed', statusCode: null });
    expect(command?.failureReason).toMatch(/the device does not support large objects/);
    expect(report.outcomes.some((o) => o.targetRef === LARGE)).toBe(false);
    expect(device.tree.get(LARGE)).toBeUndefined();
    device.close();
  });

  it("records the device's 200 on the node of a broken chunk", async () => {
    const device = await strictDevice(bare);
    const id = await bare.storage.commands.enqueue({
      deviceId: device.profile.deviceId,
      command: replace(LARGE, 'v'.repeat(24_000)),
      origin: 'admin',
    });
    const report = await device.checkIn();
    expect(report.ok, report.error).toBe(true);
    expect(await bare.storage.commands.get(id)).toMatchObject({ state: 'failed', statusCode: null });
    const nodes = await bare.storage.commands.listNodes(id);
    expect(nodes.map((x) => [x.path, x.status])).toEqual([['', 200]]);
    expect(nodes[0]?.answeredAt).toBeTruthy();
    device.close();
  });
});

describe('an atomic policy delivered to a client that answers only the children of an Atomic', () => {
  let server: TestServer;
  let root: string;
  const write = (files: Record<string, string>) => {
    for (const [name, text] of Object.entries(files)) writeFileSync(join(root, 'policies', name), text);
  };
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'mdm-strict-atomic-'));
    mkdirSync(join(root, 'policies'));
    write({
      'locked.yaml':
        'name: locked\natomic: true\nsettings:\n  - path: Camera/AllowCamera\n    value: 0\n' +
        '  - path: Experience/AllowCortana\n    value: 0\n',
      'assignments.yaml':
        'assignments:\n  - policy: locked\n    include: [all]\n' + 'verification:\n  maxFailureRetries: 0\n',
    });
    server = await startTestServer({ policyDir: join(root, 'policies'), inventoryNodes: [] });
    await server.addUser(USER, PASSWORD);
  });
  afterAll(async () => {
    await server?.close();
    rmSync(root, { recursive: true, force: true });
  });

  const atomicOf = async (deviceId: string) => {
    const list = await server.storage.commands.listForDevice(deviceId, {
      states: ['pending', 'sent', 'done', 'failed'],
    });
    return list.filter((c) => 'commands' in c.command && c.command.verb === 'Atomic');
  };
  const settingOf = (deviceId: string, path: string) =>
    server.storage.deviceSettings.getDeviceSetting(deviceId, path);

  it('completes the Atomic once with 200 and verifies both settings', async () => {
    const device = await strictDevice(server);
    const id = device.profile.deviceId;
    const first = await device.checkIn();
    expect(first.ok, first.error).toBe(true);
    const [atomic, ...others] = await atomicOf(id);
    expect(others).toEqual([]);
    expect(atomic).toMatchObject({ state: 'done', statusCode: 200, attempts: 1 });
    const nodes = await server.storage.commands.listNodes(atomic!.id);
    expect(nodes.map((x) => [x.path, x.status])).toEqual([
      ['', 200],
      ['0', 200],
      ['1', 200],
    ]);
    expect(await settingOf(id, CAMERA)).toMatchObject({ state: 'verified', reportedValue: '0' });
    expect(await settingOf(id, CORTANA)).toMatchObject({ state: 'verified', reportedValue: '0' });
    // Nothing is sent again: no second Atomic, no 418s on re-sent children.
    const second = await device.checkIn();
    expect(second.ok, second.error).toBe(true);
    expect(second.outcomes.some((o) => o.targetRef === CAMERA || o.targetRef === CORTANA)).toBe(false);
    expect(await atomicOf(id)).toHaveLength(1);
    device.close();
  });

  it('records 507 when a child fails, and each setting as the device holds it (no rollback on this client)', async () => {
    const device = await strictDevice(server, { faults: { failPaths: [CORTANA] } });
    const id = device.profile.deviceId;
    const report = await device.checkIn();
    expect(report.ok, report.error).toBe(true);
    const [atomic] = await atomicOf(id);
    expect(atomic).toMatchObject({ state: 'done', statusCode: 507, attempts: 1 });
    const nodes = await server.storage.commands.listNodes(atomic!.id);
    expect(nodes.map((x) => [x.path, x.status])).toEqual([
      ['', 507],
      ['0', 200],
      ['1', 500],
    ]);
    expect(device.tree.get(CAMERA)?.value).toBe('0');
    expect(await settingOf(id, CAMERA)).toMatchObject({ state: 'verified', reportedValue: '0' });
    expect(await settingOf(id, CORTANA)).toMatchObject({ state: 'failed', statusCode: 500 });
    device.close();
  });
});

describe('a DIGEST challenge to a client that re-sends only the commands answered 401/407', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ inventoryNodes: [] });
    await server.addUser(USER, PASSWORD);
  });
  afterAll(() => server?.close());

  it('answers every command 401 with the Chal, gets them back signed, and completes the session', async () => {
    const enrolled = await strictDevice(server, { auth: 'digest' });
    enrolled.close();
    // The device signs with a nonce the server no longer expects: its Cred is refused (401).
    const bodies: string[] = [];
    const device = VirtualDevice.restore(
      { ...enrolled.snapshot(), digestNonce: Buffer.from('stale nonce').toString('base64') },
      {
        catalog,
        tls: { ca: server.tlsCertPem },
        auth: 'digest',
        client: 'strict-omadm',
        onExchange: (x) => bodies.push(x.request.body, x.response.body),
      },
    );
    const id = await server.storage.commands.enqueue({
      deviceId: device.profile.deviceId,
      command: { verb: 'Get', items: [{ target: './DevDetail/SwV' }] },
      origin: 'admin',
    });
    const report = await device.checkIn();
    expect(report.ok, report.error).toBe(true);
    const challenge = parseSyncMl(bodies[1]!);
    expect(
      challenge.commands.map((c) => (c.kind === 'Status' ? `${c.cmd}:${c.cmdRef}:${c.data}` : c.kind)),
    ).toEqual(['SyncHdr:0:401', 'Alert:1:401', 'Replace:2:401']);
    const resent = parseSyncMl(bodies[2]!);
    expect(resent.header.cred).toBeDefined();
    expect(resent.commands.map((c) => c.kind)).toEqual(['Status', 'Alert', 'Replace']);
    expect(parseSyncMl(bodies[3]!).commands[0]).toMatchObject({ cmd: 'SyncHdr', data: '212' });
    expect(await server.storage.commands.get(id)).toMatchObject({ state: 'done', statusCode: 200 });
    expect((await server.storage.checkIns.get(device.profile.deviceId))?.sessions).toBe(1);
    device.close();
  });
});
