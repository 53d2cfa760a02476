// Moving a deployment from SQLite to PostgreSQL: `mdm db copy --to postgres://…` copies every row,
// verified per table, and the same devices go on checking in with their existing certificates,
// queued commands and policy state; every `mdm` command works on the PostgreSQL configuration.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultCatalog } from '../../src/catalog/catalog.js';
import { main } from '../../src/cli/index.js';
import { VirtualDevice } from '../../src/simulator/device.js';
import { makeProfile } from '../../src/simulator/profile.js';
import { postgresAvailable, postgresTestUrl } from '../support/backends.js';
import { captureCli } from '../support/cli.js';
import { INSTALL_HINT } from '../support/postgres.js';
import { startTestServer, type TestServer } from '../support/server.js';

const USER = 'move@contoso.com';
const PASSWORD = 'Move-pass-1';

describe.skipIf(!postgresAvailable())(
  `SQLite to PostgreSQL${postgresAvailable() ? '' : ` (${INSTALL_HINT})`}`,
  () => {
    let server: TestServer;
    let device: VirtualDevice;
    let target: string;

    beforeAll(async () => {
      server = await startTestServer({ inventoryNodes: ['./DevDetail/SwV'] });
      await server.addUser(USER, PASSWORD);
      device = new VirtualDevice({
        profile: makeProfile('move-1'),
        catalog: defaultCatalog(),
        tls: { ca: server.tlsCertPem },
      });
      await device.enroll(server.url, USER, PASSWORD);
      expect((await device.checkIn()).ok).toBe(true);
      target = await postgresTestUrl();
    });
    afterAll(async () => {
      device?.close();
      await server?.close();
    });

    const mdm = (config: string, ...args: string[]) =>
      captureCli(() => main(['node', 'mdm', '--config', config, ...args]));

    it('copies every table into an empty database, then the server on PostgreSQL serves the same device', async () => {
      // A command queued on SQLite, delivered after the move.
      const queued = await server.storage.commands.enqueue({
        deviceId: device.profile.deviceId,
        command: { verb: 'Get', items: [{ target: './DevDetail/OEM' }] },
        origin: 'admin',
      });
      const sqliteConfig = join(server.dataDir, '..', 'sqlite.yaml');
      writeFileSync(sqliteConfig, server.configYaml());
      const { port } = server.config;
      const certsDir = server.certsDir;
      const dataDir = server.dataDir;
      await server.close({ keepFiles: true });

      const copy = await mdm(sqliteConfig, 'db', 'copy', '--to', target);
      expect(copy.err).toBe('');
      expect(copy.code).toBe(0);
      expect(copy.out).toMatch(/^table\trows$/m);
      expect(copy.out).toMatch(/^devices\t1$/m);
      expect(copy.out).toMatch(/^certificates\t1$/m);
      expect(copy.out).toMatch(/^dm_commands\t\d+$/m);
      expect(copy.out).toContain('row counts verified');
      // Into a database that is no longer empty: refused, nothing written.
      const again = await mdm(sqliteConfig, 'db', 'copy', '--to', target);
      expect(again.code).toBe(1);
      expect(again.err).toMatch(/not empty/);

      // The same folders and port, now on PostgreSQL.
      server = await startTestServer(
        { databaseUrl: target, port, inventoryNodes: ['./DevDetail/SwV'] },
        { dataDir, certsDir },
      );
      expect(server.storage.backend).toBe('postgres');
      const report = await device.checkIn();
      expect(report.ok).toBe(true);
      expect(report.outcomes.map((o) => o.targetRef)).toContain('./DevDetail/OEM');
      expect(await server.storage.commands.get(queued)).toMatchObject({ state: 'done', statusCode: 200 });
      expect((await server.storage.checkIns.get(device.profile.deviceId))?.sessions).toBe(2);

      // The CLI on the PostgreSQL configuration.
      const pgConfig = join(dataDir, '..', 'postgres.yaml');
      writeFileSync(pgConfig, server.configYaml());
      expect((await mdm(pgConfig, 'users', 'list')).out).toContain(USER);
      expect((await mdm(pgConfig, 'devices', 'list')).out).toContain(device.profile.deviceId);
      const migrate = await mdm(pgConfig, 'db', 'migrate');
      expect(migrate.out).toMatch(/PostgreSQL 127\.0\.0\.1:\d+\/t_\w+: 0 migration\(s\) applied/);
      const refused = await mdm(pgConfig, 'db', 'copy', '--to', target);
      expect(refused.err).toMatch(/already PostgreSQL/);
    });
  },
);
