// Child process: the MDM server under test, started through the same composition root as
// `npm start` (src/main.ts), so RSS, CPU and `--cpu-prof` profiles belong to the server alone.
// Parent → child (IPC): { type: 'stats', reset?: boolean } | { type: 'stop' }.
// Child → parent: { type: 'ready', url, protocol, tlsCertPem } | { type: 'stats', … } | { type: 'error', message }.
import { loadConfig } from '../src/config.js';
import { addUser } from '../src/enrollment/users.js';
import { createLogger } from '../src/logger.js';
import { startMdmServer } from '../src/main.js';
import { countStatementsBySql, statementStats } from '../src/storage/sql/client.js';
import { isEntryPoint } from './process.js';
import { answerStats } from './process-stats.js';

export type { ServerStats } from './process-stats.js';

export interface ServerProcessInput {
  /** Settings as CLI flags would give them (camelCase). */
  readonly flags: Record<string, unknown>;
  /** Enrollment users to create (sign-in page and OnPremise). */
  readonly users: readonly { readonly upn: string; readonly password: string }[];
  /** Count statements per SQL text (`--count-statements`). */
  readonly countStatementsBySql?: boolean;
}

/** Entry of the server child process (IPC protocol above). */
export async function runServerProcess(): Promise<void> {
  const input = JSON.parse(process.env.BENCH_SERVER_INPUT ?? '{}') as ServerProcessInput;
  const config = loadConfig({ env: {}, flags: input.flags });
  const server = await startMdmServer(config, {
    // Warnings and errors only (to the log file the parent gives this process as stdout).
    logger: createLogger(config.logLevel),
    warn: false,
    publicUrlForPort: (port, protocol) => `${protocol}://127.0.0.1:${port}`,
  });
  for (const u of input.users) {
    // The TLS-mode server reopens the proxy-mode database: its users already exist.
    if (!(await server.storage.users.getUser(u.upn))) await addUser(server.storage.users, u.upn, u.password);
  }

  if (input.countStatementsBySql) countStatementsBySql();
  let statementBase = statementStats.statements;
  answerStats(
    () =>
      server.close().then(
        () => process.exit(0),
        () => process.exit(1),
      ),
    (reset) => {
      const statements = statementStats.statements - statementBase;
      const bySql =
        statementStats.bySql &&
        [...statementStats.bySql]
          .map(([sql, { count, ms }]) => ({ sql, count, ms: Math.round(ms * 10) / 10 }))
          .sort((a, b) => b.ms - a.ms)
          .slice(0, 40);
      if (reset) {
        statementBase = statementStats.statements;
        statementStats.bySql?.clear();
      }
      return { statements, ...(bySql && { statementsBySql: bySql }) };
    },
  );
  process.send?.({
    type: 'ready',
    url: server.url,
    protocol: server.url.startsWith('https') ? 'https' : 'http',
    tlsCertPem: server.tls?.cert,
  });
}

export function startChild(): void {
  runServerProcess().catch((err: unknown) => {
    process.send?.({ type: 'error', message: err instanceof Error ? err.stack : String(err) });
    process.exit(1);
  });
}

if (isEntryPoint(import.meta.url)) startChild();
