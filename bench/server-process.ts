// Child process: the MDM server under test, started through the same composition root as
// `npm start` (src/main.ts), so RSS, CPU and `--cpu-prof` profiles belong to the server alone.
// Parent → child (IPC): { type: 'stats', reset?: boolean } | { type: 'stop' }.
// Child → parent: { type: 'ready', url, protocol, tlsCertPem } | { type: 'stats', … } | { type: 'error', message }.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { loadConfig } from '../src/config.js';
import { addUser } from '../src/enrollment/users.js';
import { createLogger } from '../src/logger.js';
import { startMdmServer } from '../src/main.js';
import { isEntryPoint } from './process.js';

export interface ServerProcessInput {
  /** Settings as CLI flags would give them (camelCase). */
  readonly flags: Record<string, unknown>;
  /** Enrollment users to create (sign-in page and OnPremise). */
  readonly users: readonly { readonly upn: string; readonly password: string }[];
}

export interface ServerStats {
  readonly type: 'stats';
  readonly rssMb: number;
  readonly peakRssMb: number;
  readonly heapUsedMb: number;
  /** Heap still reachable after a full garbage collection (what the server really retains). */
  readonly heapLiveMb?: number;
  /** CPU time (user + system) since the last reset, milliseconds. */
  readonly cpuMs: number;
  /** Event-loop delay since the last reset (ms): what a checkpoint or a long sync call would show. */
  readonly loopDelayP99Ms: number;
  readonly loopDelayMaxMs: number;
}

const mb = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;

/** Live heap after a full collection, when the process runs with --expose-gc (the bench does). */
function liveHeapMb(): number | undefined {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return undefined;
  gc();
  return mb(process.memoryUsage().heapUsed);
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

  let peakRss = process.memoryUsage.rss();
  setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
  }, 100).unref();
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  let cpuBase = process.cpuUsage();

  process.on('message', (msg: { type: string; reset?: boolean }) => {
    if (msg.type === 'stats') {
      const rss = process.memoryUsage.rss();
      peakRss = Math.max(peakRss, rss);
      const cpu = process.cpuUsage(cpuBase);
      const stats: ServerStats = {
        type: 'stats',
        rssMb: mb(rss),
        peakRssMb: mb(peakRss),
        heapUsedMb: mb(process.memoryUsage().heapUsed),
        heapLiveMb: liveHeapMb(),
        cpuMs: Math.round((cpu.user + cpu.system) / 1000),
        loopDelayP99Ms: Math.round(loop.percentile(99) / 1e4) / 100,
        loopDelayMaxMs: Math.round(loop.max / 1e4) / 100,
      };
      if (msg.reset) {
        loop.reset();
        cpuBase = process.cpuUsage();
        peakRss = rss;
      }
      process.send?.(stats);
    } else if (msg.type === 'stop') {
      server.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    }
  });
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
