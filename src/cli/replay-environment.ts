// Servers to replay against. In-process (the default): a fresh server per fixture on 127.0.0.1 with
// a temporary database, its public URL set to the one the fixture was recorded with, so answers
// are comparable. Running: an existing server, reached over HTTPS, provisioned through the same
// database the CLI opens. Either way a fixture's identity is created the way a device gets one:
// a user is added, and for a SyncML fixture a virtual device with the fixture's DeviceID enrolls
// over MS-MDE2 to obtain the client certificate its requests are sent with.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../config.js';
import { addUser } from '../enrollment/users.js';
import { silentLogger } from '../logger.js';
import { startMdmServer } from '../main.js';
import type { Fixture } from '../replay/fixture.js';
import type { ReplayEnvironment } from '../replay/runner.js';
import { enroll } from '../simulator/enroll.js';
import { makeProfile } from '../simulator/profile.js';
import { httpTransport, type TlsOptions, type Transport } from '../simulator/transport.js';
import type { Storage } from '../storage/index.js';

/** What provisioning needs of the server's storage. */
export type ReplayStorage = Pick<Storage, 'users' | 'commands'>;

/** Public URL used when a fixture does not name the server it was recorded against. */
export const DEFAULT_REPLAY_PUBLIC_URL = 'https://mdm.replay.test';

/** Sends every request to `base`, whatever host the URL names (the server's public URL may not resolve here). */
function pinnedTransport(inner: Transport, base: string): Transport {
  return {
    send(request, options) {
      const url = new URL(request.url);
      return inner.send({ ...request, url: `${base}${url.pathname}${url.search}` }, options);
    },
    close: () => inner.close(),
  };
}

async function prepareFixture(
  fixture: Fixture,
  url: string,
  tls: Pick<TlsOptions, 'ca' | 'insecure'>,
  storage: ReplayStorage,
): Promise<Transport> {
  const { identity, kind, setup } = fixture.manifest;
  const { users } = storage;
  if (identity.user) {
    try {
      await addUser(users, identity.user.email, identity.user.password);
    } catch (err) {
      if (!/already exists/.test((err as Error).message)) throw err;
    }
  }
  if (kind !== 'syncml') return httpTransport(tls);
  if (!identity.deviceId) throw new Error('a SyncML fixture needs identity.deviceId');
  const email = `replay-${randomBytes(4).toString('hex')}@replay.test`;
  const password = randomBytes(18).toString('base64url');
  await addUser(users, email, password);
  const enrollTransport = pinnedTransport(httpTransport(tls), url);
  try {
    const { account, key } = await enroll({
      server: url,
      email,
      password,
      profile: makeProfile(identity.deviceId, { deviceId: identity.deviceId }),
      transport: enrollTransport,
    });
    for (const command of setup?.commands ?? []) {
      await storage.commands.enqueue({
        deviceId: identity.deviceId,
        command,
        origin: 'admin',
        actor: 'replay',
      });
    }
    return httpTransport({ ...tls, cert: account.certPem, key: key.privateKeyPem });
  } finally {
    enrollTransport.close();
  }
}

/** A fresh in-process server for every fixture; certificates are generated once per run. */
export function inProcessEnvironment(): {
  forFixture(fixture: Fixture): Promise<ReplayEnvironment>;
  dispose(): void;
} {
  const root = mkdtempSync(join(tmpdir(), 'mdm-replay-'));
  const certsDir = join(root, 'certs');
  let count = 0;
  return {
    async forFixture(fixture) {
      const dataDir = join(root, `data-${++count}`);
      mkdirSync(dataDir, { recursive: true });
      const publicUrl = fixture.manifest.server ?? DEFAULT_REPLAY_PUBLIC_URL;
      const config = loadConfig({
        env: {},
        flags: { dataDir, certsDir, host: '127.0.0.1', port: 0, publicUrl, logLevel: 'silent' },
      });
      const server = await startMdmServer(config, { logger: silentLogger(), warn: false });
      const url = `https://127.0.0.1:${server.port}`;
      const tls = { ca: server.tls?.cert, insecure: !server.tls };
      return {
        url,
        publicUrl,
        prepare: (f) => prepareFixture(f, url, tls, server.storage),
        async close() {
          await server.close();
          rmSync(dataDir, { recursive: true, force: true });
        },
      };
    },
    dispose() {
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** A server that is already running; `storage` opens the same database. */
export function runningEnvironment(
  url: string,
  storage: ReplayStorage,
  tls: Pick<TlsOptions, 'ca' | 'insecure'>,
  publicUrl = url,
): ReplayEnvironment {
  const base = url.replace(/\/+$/, '');
  return {
    url: base,
    publicUrl,
    prepare: (fixture) => prepareFixture(fixture, base, tls, storage),
    async close() {},
  };
}
