// `mdm serve`: run the server (same as `npm start`), with optional flags over the configuration.
import type { Command } from 'commander';
import { startMdmServer } from '../main.js';
import { configFor } from './context.js';

interface ServeFlags {
  port?: string;
  host?: string;
  publicUrl?: string;
  dataDir?: string;
  certsDir?: string;
  logLevel?: string;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the MDM server (HTTPS on MDM_PORT, default 8443)')
    .option('--port <port>', 'listen port (MDM_PORT)')
    .option('--host <address>', 'listen address (MDM_HOST)')
    .option('--public-url <url>', 'URL devices reach the server at (MDM_PUBLIC_URL)')
    .option('--data-dir <dir>', 'database folder (MDM_DATA_DIR)')
    .option('--certs-dir <dir>', 'development certificates folder (MDM_CERTS_DIR)')
    .option('--log-level <level>', 'log level (MDM_LOG_LEVEL)')
    .action(async (flags: ServeFlags, command: Command) => {
      const config = configFor(command, { ...flags });
      const server = await startMdmServer(config);
      await new Promise<void>((resolve) => {
        const stop = () => {
          server.close({ graceful: true }).then(resolve, resolve);
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
