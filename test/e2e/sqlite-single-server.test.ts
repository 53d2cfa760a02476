// One server process per SQLite database: a second server on the same data folder is refused
// (it would serve the same devices without any coordination), while `mdm` commands keep working
// beside the running server; once the first server stops, another may start.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/index.js';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/logger.js';
import { startMdmServer } from '../../src/main.js';
import { captureCli } from '../support/cli.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe('SQLite: one server process per database', () => {
  let server: TestServer;
  afterAll(async () => server?.close());

  it('refuses a second server on the same database, lets the CLI work, and frees the database on stop', async () => {
    server = await startTestServer();
    const second = () =>
      startMdmServer(
        loadConfig({
          env: {},
          flags: { dataDir: server.dataDir, certsDir: server.certsDir, host: '127.0.0.1', port: 0 },
        }),
        { logger: silentLogger(), warn: false },
      );
    await expect(second()).rejects.toThrow(/another server process is serving .*mdm\.sqlite.*PostgreSQL/);

    const config = join(server.dataDir, '..', 'mdm.yaml');
    writeFileSync(config, server.configYaml());
    const add = await captureCli(() =>
      main(['node', 'mdm', '--config', config, 'users', 'add', 'ann@contoso.com', '--password', 'pw-1']),
    );
    expect(add).toMatchObject({ code: 0, out: 'added ann@contoso.com\n' });
    expect(await server.storage.users.getUser('ann@contoso.com')).toBeDefined();

    await server.close({ keepFiles: true });
    const next = await second();
    expect(await next.storage.users.getUser('ann@contoso.com')).toBeDefined();
    await next.close();
  });
});
