// Child process: one MDM server instance started through the composition root (src/main.ts), for
// the tests that run several instances on one database. Input: MDM_TEST_INSTANCE (JSON config
// flags). IPC: child → parent { type: 'ready', url, port, tlsCertPem } | { type: 'error', message };
// parent → child { type: 'enqueue', id, request } (queueAdminCommand in this process, answered
// { type: 'enqueued', id, commandId }) | { type: 'stop' }.

import { loadConfig } from '../../src/config.js';
import { type AdminCommandRequest, queueAdminCommand } from '../../src/dm/admin.js';
import { createLogger } from '../../src/logger.js';
import { startMdmServer } from '../../src/main.js';

async function run(): Promise<void> {
  const flags = JSON.parse(process.env.MDM_TEST_INSTANCE ?? '{}') as Record<string, unknown>;
  const config = loadConfig({ env: {}, flags });
  const server = await startMdmServer(config, {
    logger: createLogger(config.logLevel),
    warn: false,
    ...(flags.publicUrl ? {} : { publicUrlForPort: (port, protocol) => `${protocol}://127.0.0.1:${port}` }),
  });
  process.on('message', (msg: { type: string; id?: number; request?: AdminCommandRequest }) => {
    if (msg.type === 'stop') {
      server.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    } else if (msg.type === 'enqueue' && msg.request) {
      queueAdminCommand(server.storage, msg.request).then(
        (commandId) => process.send?.({ type: 'enqueued', id: msg.id, commandId }),
        (err: Error) => process.send?.({ type: 'enqueued', id: msg.id, error: err.message }),
      );
    }
  });
  process.send?.({ type: 'ready', url: server.url, port: server.port, tlsCertPem: server.tls?.cert });
}

run().catch((err: unknown) => {
  process.send?.({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  process.exit(1);
});
