/**
 * Re-records the simulator fixtures under `fixtures/simulator-*`: a virtual device enrolls with the
 * real server and runs sessions that exercise every command type and the device-side behaviours
 * (rollback, 202, 404/405/415/418/500, large objects, unenrollment). Run with
 * `npx tsx test/replay/record-simulator-fixtures.ts`, then check `npm test` (test/replay) passes.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { defaultCatalog } from '../../src/catalog/catalog.js';
import { type FixtureManifestInput, FixtureWriter } from '../../src/replay/fixture.js';
import { REDACTED, redactBody, redactHeaders } from '../../src/replay/redact.js';
import type { DmCommand } from '../../src/shared/dm-command.js';
import { VirtualDevice, type VirtualDeviceOptions } from '../../src/simulator/device.js';
import { makeProfile } from '../../src/simulator/profile.js';
import { startTestServer, type TestServer } from '../support/server.js';

const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures');
const USER = 'simulator@example.com';
const PASSWORD = 'Simulator-pass-1';

const CAMERA = './Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera';
const ALL_COMMANDS: DmCommand[] = [
  { verb: 'Get', items: [{ target: './DevDetail/SwV' }, { target: './DevDetail/Ext/Microsoft/OSPlatform' }] },
  { verb: 'Get', items: [{ target: './Vendor/MSFT/Nope/Missing' }] },
  { verb: 'Add', items: [{ target: CAMERA, format: 'int', data: '0' }] },
  { verb: 'Add', items: [{ target: CAMERA, format: 'int', data: '0' }] },
  { verb: 'Replace', items: [{ target: CAMERA, format: 'chr', data: '1' }] },
  { verb: 'Replace', items: [{ target: './DevDetail/SwV', format: 'chr', data: '10.0.1' }] },
  {
    verb: 'Replace',
    items: [
      {
        target: './Vendor/MSFT/Personalization/DesktopImageUrl',
        format: 'chr',
        data: 'https://example.com/a.jpg',
      },
    ],
  },
  {
    verb: 'Replace',
    items: [{ target: './Device/Vendor/MSFT/Policy/Config/Browser/AllowCookies', format: 'int', data: '9' }],
  },
  { verb: 'Delete', items: [{ target: CAMERA }] },
  { verb: 'Exec', items: [{ target: './Device/Vendor/MSFT/Reboot/RebootNow', format: 'null' }] },
  {
    verb: 'Atomic',
    commands: [
      {
        verb: 'Add',
        items: [
          {
            target: './Device/Vendor/MSFT/Policy/Config/DeviceLock/DevicePasswordEnabled',
            format: 'int',
            data: '0',
          },
        ],
      },
      { verb: 'Replace', items: [{ target: './DevDetail/SwV', format: 'chr', data: 'x' }] },
    ],
  },
  {
    verb: 'Atomic',
    commands: [
      {
        verb: 'Add',
        items: [
          {
            target: './Device/Vendor/MSFT/Policy/Config/DeviceLock/AllowIdleReturnWithoutPassword',
            format: 'int',
            data: '1',
          },
        ],
      },
    ],
  },
  {
    verb: 'Sequence',
    commands: [
      { verb: 'Get', items: [{ target: './DevInfo/DevId' }] },
      { verb: 'Exec', items: [{ target: './DevDetail/SwV' }] },
      { verb: 'Get', items: [{ target: './DevInfo/Man' }] },
    ],
  },
  {
    verb: 'Replace',
    items: [{ target: './Vendor/MSFT/Policy/Config/Failing/Path', format: 'int', data: '1' }],
  },
];

interface Recording {
  readonly name: string;
  readonly description: string;
  readonly kind: 'syncml' | 'enrollment';
  readonly device: Partial<VirtualDeviceOptions>;
  readonly setup?: DmCommand[];
  /** Runs the device (already enrolled unless kind is enrollment). */
  run(device: VirtualDevice, server: TestServer): Promise<void>;
}

const RECORDINGS: Recording[] = [
  {
    name: 'simulator-enrollment',
    description:
      'The virtual device enrolls (OnPremise): discovery probe, Discover, GetPolicies, RST with its own key.',
    kind: 'enrollment',
    device: {},
    run: async (device, server) => {
      await device.enroll(server.url, USER, PASSWORD);
    },
  },
  {
    name: 'simulator-all-commands',
    description:
      'First session after enrollment with every command type queued: Get (200 + Results, 404), Add (200, 418), Replace (415 wrong format, 405 read-only, 202 asynchronous node, 400 bad value, 500 injected fault), Delete, Exec, Atomic rolled back (507/216) and committed, Sequence stopped at a failure (215).',
    kind: 'syncml',
    device: { faults: { failPaths: ['./Vendor/MSFT/Policy/Config/Failing/Path'] } },
    setup: ALL_COMMANDS,
    run: async (device) => {
      await device.checkIn();
    },
  },
  {
    name: 'simulator-large-object',
    description:
      'The server reads a value larger than the device MaxMsgSize: the device announces MaxMsgSize 4096 and sends the Results in chunks (MoreData, Meta Size), the server asks for each next message with Alert 1222.',
    kind: 'syncml',
    device: {
      maxMsgSize: 4096,
      announceMaxMsgSize: true,
      profile: makeProfile('simulator-large-object', {
        nodes: { './DevDetail/Ext/DeviceHardwareData': 'A'.repeat(9000) },
      }),
    },
    setup: [{ verb: 'Get', items: [{ target: './DevDetail/Ext/DeviceHardwareData' }] }],
    run: async (device) => {
      await device.checkIn();
    },
  },
  {
    name: 'simulator-server-unenroll',
    description:
      'Server-initiated unenrollment: Exec DMClient/Provider/{ProviderID}/Unenroll in session 1, then the device reports Alert 1226 in session 2 and forgets its enrollment.',
    kind: 'syncml',
    device: {},
    setup: [
      {
        verb: 'Exec',
        items: [
          {
            target: './Vendor/MSFT/DMClient/Provider/OpenWindowsMDM/Unenroll',
            format: 'chr',
            data: 'OpenWindowsMDM',
          },
        ],
      },
    ],
    run: async (device) => {
      await device.checkIn();
      await device.checkIn();
    },
  },
];

async function record(server: TestServer, r: Recording): Promise<void> {
  const dir = join(FIXTURES, r.name);
  rmSync(dir, { recursive: true, force: true });
  let writer: FixtureWriter | undefined;
  const device = new VirtualDevice({
    profile: makeProfile(r.name),
    catalog: defaultCatalog(),
    tls: { ca: server.tlsCertPem },
    ...r.device,
    onExchange: ({ request, response }) => {
      const url = new URL(request.url);
      writer?.append({
        request: {
          method: request.method,
          path: `${url.pathname}${url.search}`,
          headers: redactHeaders(request.headers),
          body: redactBody(request.body),
        },
        response: {
          status: response.status,
          headers: redactHeaders(response.headers),
          body: redactBody(response.body),
        },
      });
    },
  });
  const header: Omit<FixtureManifestInput, 'format' | 'exchanges'> = {
    name: r.name,
    description: r.description,
    kind: r.kind,
    origin: 'simulator',
    source: 'Recorded with test/replay/record-simulator-fixtures.ts (virtual Windows device, src/simulator).',
    server: server.url,
    identity:
      r.kind === 'enrollment'
        ? { user: { email: USER, password: REDACTED }, deviceId: device.profile.deviceId }
        : { deviceId: device.profile.deviceId },
    ...(r.setup ? { setup: { commands: r.setup } } : {}),
  };
  if (r.kind === 'syncml') {
    await device.enroll(server.url, USER, PASSWORD);
    for (const command of r.setup ?? []) {
      await server.storage.commands.enqueue({
        deviceId: device.profile.deviceId,
        command,
        origin: 'admin',
        actor: 'replay',
      });
    }
  }
  writer = new FixtureWriter(dir, header);
  await r.run(device, server);
  device.close();
  process.stdout.write(
    `recorded ${r.name}: ${writer.size} exchanges, device stats ${JSON.stringify(device.stats)}\n`,
  );
}

const only = process.argv.slice(2);
for (const r of RECORDINGS.filter((x) => only.length === 0 || only.includes(x.name))) {
  // A fresh server per fixture, as replay uses.
  const server = await startTestServer();
  try {
    await server.addUser(USER, PASSWORD);
    await record(server, r);
  } finally {
    await server.close();
  }
}
