import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultCatalog } from '../../src/catalog/catalog.js';
import type { DmCommand } from '../../src/shared/dm-command.js';
import { VirtualDevice, type VirtualDeviceOptions } from '../../src/simulator/device.js';
import { makeProfile } from '../../src/simulator/profile.js';
import { startTestServer, type TestServer } from '../support/server.js';

const CAMERA = './Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera';
const SCREEN_TIMEOUT = './Device/Vendor/MSFT/Policy/Config/DeviceLock/MaxInactivityTimeDeviceLock';

describe('virtual device against the real server', () => {
  let server: TestServer;
  let n = 0;
  beforeAll(async () => {
    server = await startTestServer();
    await server.addUser('fleet@example.com', 'Fleet-pass-1');
  });
  afterAll(async () => server?.close());

  async function enrolled(extra: Partial<VirtualDeviceOptions> = {}) {
    const device = new VirtualDevice({
      profile: makeProfile(`device-test-${++n}`),
      catalog: defaultCatalog(),
      tls: { ca: server.tlsCertPem },
      ...extra,
    });
    await device.enroll(server.url, 'fleet@example.com', 'Fleet-pass-1');
    return device;
  }
  const enqueue = (deviceId: string, command: DmCommand) =>
    server.storage.commands.enqueue({ deviceId, command, origin: 'admin' });
  const stateOf = async (id: string) => {
    const c = await server.storage.commands.get(id);
    return [c?.state, c?.statusCode];
  };

  it('runs a full session: every command type gets the status Windows would give', async () => {
    const device = await enrolled();
    const id = device.profile.deviceId;
    const get = await enqueue(id, { verb: 'Get', items: [{ target: './DevDetail/SwV' }] });
    const add = await enqueue(id, { verb: 'Add', items: [{ target: CAMERA, format: 'int', data: '0' }] });
    const replaceRo = await enqueue(id, {
      verb: 'Replace',
      items: [{ target: './DevDetail/SwV', data: 'x' }],
    });
    const del = await enqueue(id, {
      verb: 'Delete',
      items: [{ target: './Device/Vendor/MSFT/Policy/Config/Camera/Nope' }],
    });
    const exec = await enqueue(id, {
      verb: 'Exec',
      items: [{ target: './Device/Vendor/MSFT/Reboot/RebootNow', format: 'null' }],
    });
    const atomic = await enqueue(id, {
      verb: 'Atomic',
      commands: [
        { verb: 'Replace', items: [{ target: SCREEN_TIMEOUT, format: 'int', data: '5' }] },
        { verb: 'Replace', items: [{ target: './DevDetail/SwV', data: 'x' }] },
      ],
    });
    const sequence = await enqueue(id, {
      verb: 'Sequence',
      commands: [{ verb: 'Get', items: [{ target: './DevInfo/DevId' }] }],
    });
    const report = await device.checkIn();
    expect(report.ok, report.error).toBe(true);
    expect(await stateOf(get)).toEqual(['done', 200]);
    expect(await stateOf(add)).toEqual(['done', 200]);
    expect(await stateOf(replaceRo)).toEqual(['done', 405]);
    expect(await stateOf(del)).toEqual(['done', 404]);
    expect(await stateOf(exec)).toEqual(['done', 200]);
    expect(await stateOf(atomic)).toEqual(['done', 507]);
    expect(await stateOf(sequence)).toEqual(['done', 200]);
    const nodes = await server.storage.commands.listNodes(get);
    expect(nodes[0]?.results[0]).toMatchObject({ locUri: './DevDetail/SwV', data: device.profile.osVersion });
    expect(device.tree.get(CAMERA)?.value).toBe('0');
    expect(device.tree.get(SCREEN_TIMEOUT)).toBeUndefined(); // rolled back
    expect(device.stats.byStatus['216']).toBe(1);
    expect(report.effects).toEqual(['reboot']);
  });

  it('answers 500 for a failing path, and a dropped session is re-sent next time', async () => {
    const device = await enrolled({
      faults: { failPaths: [CAMERA], dropAtMessage: 2, dropInSession: (s) => s === 1 },
    });
    const id = device.profile.deviceId;
    const failing = await enqueue(id, {
      verb: 'Replace',
      items: [{ target: CAMERA, format: 'int', data: '0' }],
    });
    const dropped = await device.checkIn();
    expect(dropped.ok).toBe(false);
    expect(dropped.error).toMatch(/connection dropped|socket hang up/);
    const again = await device.checkIn();
    expect(again.ok, again.error).toBe(true);
    expect(await stateOf(failing)).toEqual(['done', 500]);
    expect(device.stats).toMatchObject({ sessions: 2, failedSessions: 1 });
  });

  it('unenrolls with Alert 1226 and the server marks the device unenrolled', async () => {
    const device = await enrolled();
    expect((await device.checkIn()).ok).toBe(true);
    device.requestUnenroll();
    const report = await device.checkIn();
    expect(report.ok, report.error).toBe(true);
    expect(device.enrolled).toBe(false);
    expect((await server.storage.devices.getDevice(device.profile.deviceId))?.status).toBe('unenrolled');
  });

  it('carries out a server Unenroll: acknowledges it, then reports 1226 in its next session', async () => {
    const device = await enrolled();
    const providerId = device.account!.providerId;
    const exec = await enqueue(device.profile.deviceId, {
      verb: 'Exec',
      items: [
        { target: `./Vendor/MSFT/DMClient/Provider/${providerId}/Unenroll`, format: 'chr', data: providerId },
      ],
    });
    expect((await device.checkIn()).effects).toEqual(['unenroll']);
    expect(await stateOf(exec)).toEqual(['done', 200]);
    expect(device.enrolled).toBe(true);
    expect((await device.checkIn()).ok).toBe(true);
    expect(device.enrolled).toBe(false);
    expect((await server.storage.devices.getDevice(device.profile.deviceId))?.status).toBe('unenrolled');
  });

  it('drifts a value between sessions', async () => {
    const device = await enrolled({ faults: { drift: [{ path: CAMERA }] } });
    device.tree.set(CAMERA, { value: '1', format: 'int' });
    await device.checkIn();
    expect(device.tree.get(CAMERA)?.value).toBe('1');
    await device.checkIn();
    expect(device.tree.get(CAMERA)?.value).toBe('0');
  });

  it('authenticates with SyncML DIGEST alone (no client certificate), then by the 212 session', async () => {
    const bodies: string[] = [];
    const device = await enrolled({
      auth: 'digest',
      onExchange: (x) => bodies.push(x.request.body, x.response.body),
    });
    bodies.length = 0;
    const get = await enqueue(device.profile.deviceId, {
      verb: 'Get',
      items: [{ target: './DevDetail/SwV' }],
    });
    const first = await device.checkIn();
    expect(first.ok, first.error).toBe(true);
    expect(await stateOf(get)).toEqual(['done', 200]);
    expect(bodies[0]).toContain('<Type xmlns="syncml:metinf">syncml:auth-md5</Type>');
    expect(bodies[1]).toMatch(/<Cmd>SyncHdr<\/Cmd>.*<Data>21[2]<\/Data>/);
    expect(bodies[2]).not.toContain('<Cred>');
    // The next session uses the nonce the server handed out in the 212 Chal.
    expect((await device.checkIn()).ok).toBe(true);
  });

  it('hands its identity to another device object (pre-enrolled fleets)', async () => {
    const first = await enrolled();
    const twin = new VirtualDevice({
      profile: first.profile,
      catalog: defaultCatalog(),
      tls: { ca: server.tlsCertPem },
    });
    twin.adopt(first.identity!);
    const report = await twin.checkIn();
    expect(report.ok, report.error).toBe(true);
    expect(twin.stats.sessions).toBe(1);
    twin.close();
  });

  it('continues from a snapshot in another object (JSON round trip)', async () => {
    const device = await enrolled();
    device.tree.set(CAMERA, { value: '0', format: 'int' });
    expect((await device.checkIn()).sessionId).toBe('1');
    device.close();
    const snapshot = JSON.parse(JSON.stringify(device.snapshot()));
    const restored = VirtualDevice.restore(snapshot, {
      catalog: defaultCatalog(),
      tls: { ca: server.tlsCertPem },
    });
    expect(restored.profile.deviceId).toBe(device.profile.deviceId);
    expect(restored.tree.get(CAMERA)?.value).toBe('0');
    const report = await restored.checkIn();
    expect(report.ok, report.error).toBe(true);
    expect(report.sessionId).toBe('2');
    restored.close();
  });

  it('reports an MSI install accepted with 202 in its next session (1224 win32csp_install; no ContentURL: cannot connect)', async () => {
    const bodies: string[] = [];
    const device = await enrolled({ onExchange: (x) => bodies.push(x.request.body) });
    const msi =
      './Device/Vendor/MSFT/EnterpriseDesktopAppManagement/MSI/%7B11111111-2222-3333-4444-555555555555%7D/DownloadInstall';
    const exec = await enqueue(device.profile.deviceId, {
      verb: 'Exec',
      items: [{ target: msi, format: 'xml', data: '<MsiInstallJob/>' }],
    });
    await device.checkIn();
    expect(await stateOf(exec)).toEqual(['done', 202]);
    bodies.length = 0;
    expect((await device.checkIn()).ok).toBe(true);
    expect(bodies[0]).toContain(
      `<Alert><CmdID>4</CmdID><Data>1224</Data><Item><Source><LocURI>${msi}</LocURI></Source><Meta><Type xmlns="syncml:metinf">Reversed-Domain-Name:com.microsoft.mdm.win32csp_install</Type><Format xmlns="syncml:metinf">int</Format><Mark xmlns="syncml:metinf">informational</Mark></Meta><Data>-2147012867</Data></Item></Alert>`,
    );
  });
});
