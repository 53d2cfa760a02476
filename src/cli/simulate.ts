// `mdm simulate`: enroll a fleet of virtual Windows devices against a running server and check each
// in M times; prints a summary (enrolled, sessions, commands by status, errors).
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { defaultCatalog } from '../catalog/catalog.js';
import { STATUS_TEXT } from '../codec/syncml/codes.js';
import { type Config, publicBase, publicHost } from '../config.js';
import { addUser } from '../enrollment/users.js';
import { createCaptureRecorder, deviceRecorder } from '../replay/capture.js';
import { CLIENT_KINDS, type ClientKind } from '../simulator/client.js';
import type { DeviceSnapshot } from '../simulator/device.js';
import type { FaultPlan } from '../simulator/faults.js';
import { formatFleetSummary, runFleet } from '../simulator/fleet.js';
import type { TlsOptions } from '../simulator/transport.js';
import { CliError, runAction, withContext } from './context.js';
import { printHuman } from './output.js';

interface SimulateFlags {
  devices: string;
  checkins: string;
  concurrency?: string;
  server?: string;
  user?: string;
  password?: string;
  ca?: string;
  insecure?: boolean;
  seed?: string;
  shareKey?: boolean;
  record?: string;
  state?: string;
  json?: boolean;
  failPath: string[];
  delay?: string;
  dropEvery?: string;
  drift: string[];
  unenroll?: boolean;
  client?: string;
}

const collect = (value: string, previous: string[]) => [...previous, value];

const positive = (name: string, value: string | undefined, fallback: number): number => {
  const n = value === undefined ? fallback : Number(value);
  if (!Number.isInteger(n) || n < 0) throw new CliError(`--${name} must be a whole number, got ${value}`, 2);
  return n;
};

/** Server certificate trust: --insecure, --ca, the development TLS certificate, else the system CAs. */
export function serverTrust(
  config: Config,
  flags: { ca?: string; insecure?: boolean },
): Pick<TlsOptions, 'ca' | 'insecure'> {
  if (flags.insecure) return { insecure: true };
  if (flags.ca) return { ca: readFileSync(flags.ca, 'utf8') };
  const devCert = join(config.certsDir, 'tls.crt');
  return existsSync(devCert) && !config.tlsCert ? { ca: readFileSync(devCert, 'utf8') } : {};
}

export function registerSimulate(program: Command): void {
  program
    .command('simulate')
    .description('enroll and check in a fleet of virtual Windows devices against a running server')
    .requiredOption('--devices <n>', 'number of devices')
    .requiredOption('--checkins <m>', 'OMA-DM sessions per device after enrollment')
    .option('--concurrency <c>', 'devices working at the same time (default 10)')
    .option('--server <url>', 'server base URL (default: the configured publicUrl)')
    .option('--user <upn>', 'enrollment user (default: a simulator user added to the database)')
    .option('--password <password>', 'password of --user')
    .option(
      '--ca <file>',
      'PEM the server TLS certificate must chain to (default: the development certificate in certsDir, else the system CAs)',
    )
    .option('--insecure', 'accept any server TLS certificate')
    .option('--seed <text>', 'seed for device identities (same seed, same devices)')
    .option('--share-key', 'one RSA key for every device (faster enrollment for load tests)')
    .option('--record <dir>', 'record every session as a replayable fixture under <dir>')
    .option(
      '--state <file>',
      'keep the devices (certificates, keys, DM trees) in this JSON file: later runs check in again without enrolling',
    )
    .option('--fail-path <LocURI>', 'devices answer 500 for this node (repeatable)', collect, [])
    .option('--delay <ms>', 'devices wait this long before each message after the first')
    .option('--drop-every <n>', 'drop the connection after package 1 in every n-th session of a device')
    .option('--drift <LocURI>', 'devices change this value between sessions (repeatable)', collect, [])
    .option('--unenroll', 'after its check-ins each device removes the account (Alert 1226)')
    .option(
      '--client <kind>',
      `DM client to behave like: ${CLIENT_KINDS.join(', ')} (strict-omadm: a plain OMA-DM 1.2 client shaped like libdmclient; default windows)`,
    )
    .option('--json', 'print the summary as JSON')
    .action((flags: SimulateFlags, command: Command) =>
      runAction(() =>
        withContext(command, async ({ config, storage }) => {
          const devices = positive('devices', flags.devices, 1);
          const checkins = positive('checkins', flags.checkins, 1);
          const concurrency = Math.max(1, positive('concurrency', flags.concurrency, 10));
          const server = (flags.server ?? publicBase(config)).replace(/\/+$/, '');
          let email = flags.user;
          let password = flags.password;
          if (email && !password) throw new CliError('--user needs --password', 2);
          if (!email) {
            email = `simulator-${randomBytes(4).toString('hex')}@${publicHost(config)}`;
            password = randomBytes(18).toString('base64url');
            await addUser(storage.users, email, password);
          }
          const client = flags.client ?? 'windows';
          if (!(CLIENT_KINDS as readonly string[]).includes(client)) {
            throw new CliError(`--client must be one of ${CLIENT_KINDS.join(', ')}, got ${client}`, 2);
          }
          const tls = serverTrust(config, flags);
          const dropEvery = flags.dropEvery === undefined ? 0 : positive('drop-every', flags.dropEvery, 0);
          const faults: FaultPlan = {
            failPaths: flags.failPath,
            delayMs: flags.delay === undefined ? undefined : positive('delay', flags.delay, 0),
            drift: flags.drift.map((path) => ({ path })),
            ...(dropEvery > 0 && { dropAtMessage: 2, dropInSession: (n: number) => n % dropEvery === 0 }),
          };

          const bar =
            process.stderr.isTTY && devices * (checkins + 1) > 1
              ? new SingleBar({
                  format: 'simulate [{bar}] {value}/{total} steps | eta {eta_formatted}',
                  etaBuffer: 50,
                })
              : undefined;
          const steps = devices * (checkins + (flags.unenroll ? 2 : 1));
          bar?.start(steps, 0);
          const capture = flags.record
            ? createCaptureRecorder({
                dir: flags.record,
                server,
                origin: 'simulator',
                onError: (e) => printHuman(e.message, process.stderr),
              })
            : undefined;
          const restore = flags.state ? readState(flags.state) : [];
          const saved: (DeviceSnapshot | undefined)[] = [...restore];
          const summary = await runFleet({
            server,
            devices,
            checkins,
            concurrency,
            email,
            password: password!,
            catalog: defaultCatalog(),
            tls,
            seed: flags.seed,
            shareKey: flags.shareKey,
            client: client as ClientKind,
            faults,
            unenrollAtEnd: flags.unenroll,
            onProgress: (e) => bar?.increment(e.kind === 'enroll-failed' ? steps / devices : 1),
            onExchange: capture ? (i) => deviceRecorder(capture, `device-${i}`) : undefined,
            restore,
            onDeviceDone: (i, device) => {
              saved[i] = device.snapshot();
            },
          });
          // The file holds the devices' private keys: readable by the owner only.
          if (flags.state) writeFileSync(flags.state, `${JSON.stringify(saved)}\n`, { mode: 0o600 });
          bar?.stop();
          if (flags.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
          else printHuman(formatFleetSummary(summary, STATUS_TEXT));
          if (summary.enrolled < devices || summary.failedSessions > 0) process.exitCode = 1;
        }),
      ),
    );
}

function readState(file: string): (DeviceSnapshot | undefined)[] {
  if (!existsSync(file)) return [];
  try {
    const data: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (!Array.isArray(data)) throw new Error('expected a JSON array of devices');
    return data as (DeviceSnapshot | undefined)[];
  } catch (err) {
    throw new CliError(`--state ${file}: ${(err as Error).message}`, 2);
  }
}
