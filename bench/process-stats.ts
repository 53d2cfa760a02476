// What a measured child process (the MDM server, the SQLite floor) reports over IPC:
// { type: 'stats', reset? } → ServerStats; { type: 'stop' } → the caller's stop.
import { monitorEventLoopDelay } from 'node:perf_hooks';

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
  /** SQL statements run since the last reset (the MDM server), and the most frequent texts. */
  readonly statements?: number;
  readonly statementsBySql?: readonly { readonly sql: string; readonly count: number; readonly ms: number }[];
}

const mb = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;

/** Live heap after a full collection, when the process runs with --expose-gc (the bench does). */
function liveHeapMb(): number | undefined {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return undefined;
  gc();
  return mb(process.memoryUsage().heapUsed);
}

/** Answers stats requests (resetting the CPU, RSS and event-loop baselines on `reset`) and stop. */
export function answerStats(
  stop: () => void,
  extra: (reset: boolean) => Record<string, unknown> = () => ({}),
): void {
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
        ...extra(msg.reset === true),
      };
      if (msg.reset) {
        loop.reset();
        cpuBase = process.cpuUsage();
        peakRss = rss;
      }
      process.send?.(stats);
    } else if (msg.type === 'stop') stop();
  });
}
