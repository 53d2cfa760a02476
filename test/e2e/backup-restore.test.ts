// Backup and restore: `mdm backup` while devices check in, then `mdm restore` into a fresh data
// folder (SQLite) and into an empty PostgreSQL database; the same devices go on with their
// certificates and DIGEST credentials, and a command queued before the backup is delivered after
// it. A wrong passphrase and a truncated archive are refused with nothing written.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openArchive } from '../../src/backup/archive.js';
import { defaultCatalog } from '../../src/catalog/catalog.js';
import { main } from '../../src/cli/index.js';
import { VirtualDevice } from '../../src/simulator/device.js';
import { makeProfile } from '../../src/simulator/profile.js';
import { postgresAvailable, postgresTestUrl } from '../support/backends.js';
import { captureCli } from '../support/cli.js';
import { INSTALL_HINT } from '../support/postgres.js';
import { startTestServer, type TestServer } from '../support/server.js';

const USER = 'backup@contoso.com';
const PASSWORD = 'Backup-pass-1';
const PASSPHRASE = 'correct horse battery staple';

describe('backup and restore', () => {
  let server: TestServer | undefined;
  let devices: VirtualDevice[] = [];
  let root: string;
  let archive: string;
  let passFile: string;
  let port: number;
  let tlsCertPem: string | undefined;
  let queued: string;

  const mdm = (config: string, ...args: string[]) =>
    captureCli(() => main(['node', 'mdm', '--config', config, ...args]));

  /** A config file for a fresh deployment in `dir` (or on `databaseUrl`). */
  const freshConfig = (dir: string, databaseUrl?: string) => {
    const file = join(dir, 'mdm.yaml');
    writeFileSync(
      file,
      `dataDir: ${join(dir, 'data')}\ncertsDir: ${join(dir, 'certs')}\n${databaseUrl ? `databaseUrl: ${databaseUrl}\n` : ''}`,
    );
    return file;
  };

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'mdm-backup-test-'));
    passFile = join(root, 'passphrase');
    writeFileSync(passFile, `${PASSPHRASE}\n`, { mode: 0o600 });
    archive = join(root, 'mdm.backup');
    server = await startTestServer({ inventoryNodes: ['./DevDetail/SwV'] });
    port = server.config.port;
    tlsCertPem = server.tlsCertPem;
    await server.addUser(USER, PASSWORD);
    devices = (['certificate', 'digest', 'certificate'] as const).map(
      (auth, i) =>
        new VirtualDevice({
          profile: makeProfile(`backup-${i}`),
          catalog: defaultCatalog(),
          tls: { ca: tlsCertPem },
          auth,
        }),
    );
    for (const d of devices) {
      await d.enroll(server.url, USER, PASSWORD);
      expect((await d.checkIn()).ok).toBe(true);
    }
    queued = await server.storage.commands.enqueue({
      deviceId: devices[1]!.profile.deviceId,
      command: { verb: 'Get', items: [{ target: './DevDetail/OEM' }] },
      origin: 'admin',
    });
  });
  afterAll(async () => {
    for (const d of devices) d.close();
    await server?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('backs up while the fleet checks in', async () => {
    const config = join(root, 'live.yaml');
    writeFileSync(config, server!.configYaml());
    let checking = true;
    let sessions = 0;
    const fleet = Promise.all(
      [devices[0]!, devices[2]!].map(async (d) => {
        while (checking) {
          expect((await d.checkIn()).ok).toBe(true);
          sessions++;
        }
      }),
    );
    const refused = await captureCli(() => main(['node', 'mdm', '--config', config, 'backup', archive]));
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/passphrase is required/);
    expect(existsSync(archive)).toBe(false);

    const run = await mdm(config, 'backup', archive, '--passphrase-file', passFile);
    checking = false;
    await fleet;
    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    expect(sessions).toBeGreaterThan(0);
    for (const name of [
      'database.sqlite',
      'certs/ca.crt',
      'certs/ca.key',
      'certs/tls.crt',
      'certs/tls.key',
    ]) {
      expect(run.out).toMatch(new RegExp(`^${name.replace('.', '\\.')}\\t\\d+\\tsha256:[0-9a-f]{64}$`, 'm'));
    }
    expect(run.out).toMatch(/^data\/token-secret\t64\t/m);
    expect(run.out).toMatch(/AES-256-GCM/);
    // Encrypted: no PEM header or SQLite magic anywhere in the file.
    const bytes = readFileSync(archive);
    expect(bytes.includes('PRIVATE KEY')).toBe(false);
    expect(bytes.includes('SQLite format 3')).toBe(false);
    const opened = await openArchive(bytes, PASSPHRASE);
    expect(opened.manifest.source).toMatchObject({ backend: 'sqlite' });
    expect(opened.members.get('certs/ca.key')!.data.toString()).toContain('PRIVATE KEY');
    // Audited on the source.
    const [entry] = await server!.storage.audit.list({ limit: 1 });
    expect(entry).toMatchObject({ action: 'backup.create', details: { file: archive } });
    // A second backup onto the same file needs --force.
    const again = await mdm(config, 'backup', archive, '--passphrase-file', passFile);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/exists; pass --force/);
  });

  it('refuses a wrong passphrase and a truncated archive, writing nothing', async () => {
    const dir = mkdtempSync(join(root, 'refused-'));
    const config = freshConfig(dir);
    const wrong = join(dir, 'wrong');
    writeFileSync(wrong, 'not the right passphrase\n');
    const bad = await mdm(config, 'restore', archive, '--passphrase-file', wrong);
    expect(bad.code).toBe(1);
    expect(bad.err).toBe('wrong passphrase for this backup archive\n');

    const bytes = readFileSync(archive);
    const cut = join(dir, 'cut.backup');
    for (const length of [4, 200, bytes.length - 1, Math.floor(bytes.length / 2)]) {
      writeFileSync(cut, bytes.subarray(0, length));
      const truncated = await mdm(config, 'restore', cut, '--passphrase-file', passFile);
      expect(truncated.code).toBe(1);
      expect(truncated.err).toMatch(/truncated/);
    }
    // A flipped byte in the ciphertext: the GCM tag does not match.
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 40]! ^= 0x01;
    writeFileSync(cut, flipped);
    const damaged = await mdm(config, 'restore', cut, '--passphrase-file', passFile);
    expect(damaged.err).toMatch(/damaged/);
    expect(readdirSync(dir).sort()).toEqual(['cut.backup', 'mdm.yaml', 'wrong']);
  });

  it('restores into a fresh folder; the same devices continue, the queued command is delivered', async () => {
    await server!.close();
    server = undefined;
    const dir = mkdtempSync(join(root, 'sqlite-'));
    const config = freshConfig(dir);
    const run = await mdm(config, 'restore', archive, '--passphrase-file', passFile);
    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/^certs\/ca\.key\t-> .*certs\/ca\.key$/m);
    expect(run.out).toContain('every checksum verified');

    // Once restored, the folder is no longer empty.
    const refused = await mdm(config, 'restore', archive, '--passphrase-file', passFile);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/refusing to overwrite[\s\S]*holds data/);
    const forced = await mdm(config, 'restore', archive, '--passphrase-file', passFile, '--force');
    expect(forced.code).toBe(0);

    server = await startTestServer(
      { port, inventoryNodes: ['./DevDetail/SwV'] },
      { dataDir: join(dir, 'data'), certsDir: join(dir, 'certs') },
    );
    expect(server.tlsCertPem).toBe(tlsCertPem);
    for (const d of devices) {
      const report = await d.checkIn();
      expect(report.ok).toBe(true);
      if (d === devices[1]) expect(report.outcomes.map((o) => o.targetRef)).toContain('./DevDetail/OEM');
    }
    expect(await server.storage.commands.get(queued)).toMatchObject({ state: 'done', statusCode: 200 });
    const actions = (await server.storage.audit.list({ limit: 5 })).map((e) => e.action);
    expect(actions).toContain('backup.restore');
    await server.close();
    server = undefined;
  });

  it.skipIf(!postgresAvailable())(
    `restores a SQLite backup into PostgreSQL${postgresAvailable() ? '' : ` (${INSTALL_HINT})`}`,
    async () => {
      const dir = mkdtempSync(join(root, 'pg-'));
      const url = await postgresTestUrl();
      const config = freshConfig(dir, url);
      const run = await mdm(config, 'restore', archive, '--passphrase-file', passFile);
      expect(run.err).toBe('');
      expect(run.code).toBe(0);
      expect(run.out).toMatch(/^database\.sqlite\t-> PostgreSQL$/m);
      server = await startTestServer(
        { port, databaseUrl: url, inventoryNodes: ['./DevDetail/SwV'] },
        { dataDir: join(dir, 'data'), certsDir: join(dir, 'certs') },
      );
      expect(server.storage.backend).toBe('postgres');
      for (const d of devices) expect((await d.checkIn()).ok).toBe(true);
      expect((await server.storage.checkIns.get(devices[0]!.profile.deviceId))?.sessions).toBeGreaterThan(2);

      // A backup of the PostgreSQL deployment restores into SQLite.
      const pgArchive = join(root, 'pg.backup');
      const backup = await mdm(config, 'backup', pgArchive, '--passphrase-file', passFile);
      expect(backup.err).toBe('');
      const opened = await openArchive(readFileSync(pgArchive), PASSPHRASE);
      expect(opened.manifest.source).toMatchObject({ backend: 'postgres' });
      await server.close();
      server = undefined;
      const back = mkdtempSync(join(root, 'back-'));
      const restored = await mdm(freshConfig(back), 'restore', pgArchive, '--passphrase-file', passFile);
      expect(restored.err).toBe('');
      server = await startTestServer(
        { port, inventoryNodes: ['./DevDetail/SwV'] },
        { dataDir: join(back, 'data'), certsDir: join(back, 'certs') },
      );
      for (const d of devices) expect((await d.checkIn()).ok).toBe(true);
    },
  );
});
