// Command-line options of `npm run bench -- [--devices N] [--seconds S] [--concurrency C] [--json FILE]`.
import { parseArgs } from 'node:util';

export interface BenchOptions {
  /** Enrolled devices pre-loaded into the database. */
  readonly devices: number;
  /** Measured seconds of each check-in run. */
  readonly seconds: number;
  /** Concurrent sessions. */
  readonly concurrency: number;
  /** Where to write the JSON (the SVG goes next to it); default bench/results/bench-<time>.json. */
  readonly json?: string;
  /** Devices with real certificates that the load generator drives. */
  readonly pool: number;
  /** Unmeasured seconds before each measured window. */
  readonly warmup: number;
  /** Measured seconds of the enrollment run. */
  readonly enrollSeconds: number;
  readonly enrollConcurrency: number;
  /** Policy commands queued per pre-loaded device. */
  readonly policyCommands: number;
  /** Share of devices whose daily inventory refresh is due (0–1). */
  readonly inventoryShare: number;
  /** Which modes to run. */
  readonly modes: readonly ('proxy' | 'tls')[];
  /** Write a V8 CPU profile of the server (proxy mode) into the results folder. */
  readonly profile: boolean;
  /** Keep the temporary data folder (database, certificates) for inspection. */
  readonly keep: boolean;
  /** Report the server's SQL statements per session by statement text. */
  readonly countStatements: boolean;
  /** `postgres`: also run the proxy-mode check-ins on a throwaway PostgreSQL (bench/postgres.ts). */
  readonly storage: 'sqlite' | 'postgres';
  /** Server processes on the PostgreSQL database, behind a round-robin TCP balancer. */
  readonly instances: number;
}

export const USAGE = `Usage: npm run bench -- [options]
  --devices N            enrolled devices pre-loaded (default 100000)
  --seconds S            measured seconds per check-in run (default 15)
  --concurrency C        concurrent sessions (default 50)
  --json FILE            JSON result file (default bench/results/bench-<time>.json; the SVG goes next to it)
  --pool P               devices with real certificates driven by the load generator (default min(N, 24000);
                         three quarters for the proxy run, the rest for the TLS run)
  --warmup S             unmeasured warm-up seconds before each run (default 2, 0.5 when --seconds < 5)
  --enroll-seconds S     measured seconds of the enrollment run (default min(S, 8); 0 skips it)
  --enroll-concurrency C concurrent enrollments (default 8)
  --policy-commands K    policy commands queued per device (default 3, at most 5)
  --inventory-share F    share of devices due their daily inventory refresh, 0–1 (default 0.25)
  --modes LIST           proxy,tls (default both)
  --profile              write a CPU profile of the server (proxy mode) to the results folder
  --keep                 keep the temporary database and certificates
  --count-statements     list the server's SQL statements per session by statement text (proxy mode)
  --storage postgres     also run the proxy-mode check-ins on a throwaway PostgreSQL copy of the database
                         (needs the PostgreSQL server binaries) and print them beside SQLite's
  --instances N          server processes on PostgreSQL, behind a round-robin TCP balancer (default 1)
Quick CI smoke: npm run bench -- --devices 200 --seconds 2`;

function positive(name: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number ≥ ${min}, not ${value}`);
  return n;
}

function storageOption(value: string | undefined): 'sqlite' | 'postgres' {
  if (value === undefined || value === 'sqlite') return 'sqlite';
  if (value === 'postgres') return 'postgres';
  throw new Error(`--storage: unknown storage ${value} (sqlite, postgres)`);
}

export function parseBenchOptions(argv: readonly string[]): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      devices: { type: 'string' },
      seconds: { type: 'string' },
      concurrency: { type: 'string' },
      json: { type: 'string' },
      pool: { type: 'string' },
      warmup: { type: 'string' },
      'enroll-seconds': { type: 'string' },
      'enroll-concurrency': { type: 'string' },
      'policy-commands': { type: 'string' },
      'inventory-share': { type: 'string' },
      modes: { type: 'string' },
      profile: { type: 'boolean' },
      keep: { type: 'boolean' },
      'count-statements': { type: 'boolean' },
      storage: { type: 'string' },
      instances: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const devices = Math.floor(positive('devices', values.devices, 100_000));
  const seconds = positive('seconds', values.seconds, 15, 0.5);
  const modes = (values.modes ?? 'proxy,tls').split(',').map((m) => m.trim());
  for (const m of modes)
    if (m !== 'proxy' && m !== 'tls') throw new Error(`--modes: unknown mode ${m} (proxy, tls)`);
  return {
    devices,
    seconds,
    concurrency: Math.floor(positive('concurrency', values.concurrency, 50)),
    json: values.json,
    pool: Math.min(devices, Math.floor(positive('pool', values.pool, 24_000))),
    warmup: positive('warmup', values.warmup, seconds < 5 ? 0.5 : 2, 0),
    enrollSeconds: positive('enroll-seconds', values['enroll-seconds'], Math.min(seconds, 8), 0),
    enrollConcurrency: Math.floor(positive('enroll-concurrency', values['enroll-concurrency'], 8)),
    policyCommands: Math.min(5, Math.floor(positive('policy-commands', values['policy-commands'], 3, 0))),
    inventoryShare: Math.min(1, positive('inventory-share', values['inventory-share'], 0.25, 0)),
    modes: modes as ('proxy' | 'tls')[],
    profile: values.profile ?? false,
    keep: values.keep ?? false,
    countStatements: values['count-statements'] ?? false,
    storage: storageOption(values.storage),
    instances: Math.floor(positive('instances', values.instances, 1)),
  };
}
