// The server records every session it serves (captureDir) as replayable fixtures, with secrets
// redacted; the captured fixtures replay clean.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { defaultCatalog } from '../../src/catalog/catalog.js';
import { replayInProcess } from '../../src/cli/replay.js';
import { readFixture, writeManifest } from '../../src/replay/fixture.js';
import { formatReplay } from '../../src/replay/runner.js';
import { VirtualDevice } from '../../src/simulator/device.js';
import { makeProfile } from '../../src/simulator/profile.js';
import { startTestServer, type TestServer } from '../support/server.js';

const PASSWORD = 'Capture-pass-1';

describe('server-side session capture', () => {
  let server: TestServer;
  let captureDir: string;
  beforeAll(async () => {
    captureDir = mkdtempSync(join(tmpdir(), 'mdm-capture-'));
    server = await startTestServer({ captureDir });
    await server.addUser('capture@example.com', PASSWORD);
  });
  afterAll(async () => {
    await server?.close();
    rmSync(captureDir, { recursive: true, force: true });
  });

  it('writes one fixture per enrollment and per device run of SyncML sessions, without secrets', async () => {
    const device = new VirtualDevice({
      profile: makeProfile('capture-1'),
      catalog: defaultCatalog(),
      tls: { ca: server.tlsCertPem },
    });
    await device.enroll(server.url, 'capture@example.com', PASSWORD);
    await server.storage.commands.enqueue({
      deviceId: device.profile.deviceId,
      command: { verb: 'Get', items: [{ target: './DevDetail/SwV' }] },
      origin: 'admin',
    });
    expect((await device.checkIn()).ok).toBe(true);
    expect((await device.checkIn()).ok).toBe(true);
    device.close();
    // The recorder writes when the server finishes each response, which may be just after the
    // device has read it.
    await vi.waitFor(() => {
      const run = readdirSync(captureDir).find((f) => f.includes('-syncml-'));
      expect(run && readFixture(join(captureDir, run)).exchanges.at(-1)?.request.body).toContain(
        '<SessionID>2</SessionID>',
      );
    });

    const folders = readdirSync(captureDir).sort();
    const enrollment = folders.filter((f) => f.includes('-enrollment-'));
    const sessions = folders.filter((f) => f.includes('-syncml-'));
    expect(enrollment).toHaveLength(1);
    expect(sessions).toHaveLength(1);
    const enroll = readFixture(join(captureDir, enrollment[0]!));
    expect(enroll.manifest).toMatchObject({
      kind: 'enrollment',
      origin: 'server-capture',
      server: server.url,
    });
    expect(enroll.manifest.identity.user).toEqual({ email: 'capture@example.com', password: 'REDACTED' });
    expect(enroll.exchanges.map((x) => `${x.request.method} ${x.request.path}`)).toEqual([
      'GET /EnrollmentServer/Discovery.svc',
      'POST /EnrollmentServer/Discovery.svc',
      'POST /EnrollmentServer/Policy.svc',
      'POST /EnrollmentServer/Enrollment.svc',
    ]);
    const session = readFixture(join(captureDir, sessions[0]!));
    expect(session.manifest.identity.deviceId).toBe(device.profile.deviceId);
    expect(session.exchanges[0]!.request.body).toContain('<SessionID>1</SessionID><MsgID>1</MsgID>');
    expect(session.exchanges.at(-1)!.request.body).toContain('<SessionID>2</SessionID>');

    const everything = folders
      .flatMap((f) =>
        readdirSync(join(captureDir, f)).map((n) => readFileSync(join(captureDir, f, n), 'utf8')),
      )
      .join('\n');
    expect(everything).not.toContain(PASSWORD);
    expect(everything).not.toContain('PRIVATE KEY');
    const rst = enroll.exchanges[3]!.response.body;
    const doc = Buffer.from(
      /DeviceEnrollmentProvisionDoc"[^>]*>([^<]+)</.exec(rst)![1]!,
      'base64',
    ).toString();
    expect(doc).toContain('<parm name="AAUTHSECRET" value="REDACTED"');
    expect(doc).not.toMatch(/AAUTHSECRET" value="(?!REDACTED)/);

    // What the server recorded replays on a fresh server; the command an admin queued is not part
    // of the requests, so the replay differs until the manifest lists it under setup.commands.
    const [without] = await replayInProcess([session]);
    expect(without!.ok).toBe(false);
    expect(formatReplay(without!)).toMatch(/- +<LocURI>\.\/DevDetail\/SwV<\/LocURI>/);
    const manifest = {
      ...session.manifest,
      setup: { commands: [{ verb: 'Get' as const, items: [{ target: './DevDetail/SwV' }] }] },
    };
    writeManifest(session.dir, manifest);
    const results = await replayInProcess(folders.map((f) => readFixture(join(captureDir, f))));
    for (const r of results) expect(r.ok, formatReplay(r)).toBe(true);
  });
});
