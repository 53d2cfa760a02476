// A fleet of virtual devices against one server: each device enrolls, then checks in M times;
// up to C devices work at the same time. Used by `mdm simulate` and by load benchmarks.
import type { CatalogLookup } from '../catalog/types.js';
import type { ClientKind } from './client.js';
import type { DeviceKey } from './csr.js';
import { generateDeviceKey } from './csr.js';
import { type DeviceSnapshot, type ExchangeListener, VirtualDevice } from './device.js';
import type { FaultPlan } from './faults.js';
import { makeProfile } from './profile.js';
import type { TlsOptions } from './transport.js';

export interface FleetOptions {
  /** Server base URL (discovery is at `/EnrollmentServer/Discovery.svc`). */
  readonly server: string;
  readonly devices: number;
  readonly checkins: number;
  readonly concurrency: number;
  readonly email: string;
  readonly password: string;
  readonly catalog: CatalogLookup;
  readonly tls?: Pick<TlsOptions, 'ca' | 'insecure'>;
  readonly faults?: FaultPlan;
  /** Which DM client the devices behave like (client.ts); default `windows`. */
  readonly client?: ClientKind;
  /** Prefix of the profile seeds (device i uses `${seed}-${i}`), for reproducible fleets. */
  readonly seed?: string;
  /** One RSA key for the whole fleet instead of one per device (load tests only). */
  readonly shareKey?: boolean;
  /** After its check-ins each device removes the account: one more session with Alert 1226. */
  readonly unenrollAtEnd?: boolean;
  readonly onProgress?: (event: FleetProgress) => void;
  readonly onExchange?: (deviceIndex: number) => ExchangeListener | undefined;
  /** Devices to continue (by index) instead of creating and enrolling new ones. */
  readonly restore?: readonly (DeviceSnapshot | undefined)[];
  /** Called with each device when it has finished (e.g. to save `device.snapshot()`). */
  readonly onDeviceDone?: (deviceIndex: number, device: VirtualDevice) => void;
}

export interface FleetProgress {
  readonly kind: 'enrolled' | 'enroll-failed' | 'session';
  readonly device: number;
  readonly ok: boolean;
}

export interface FleetSummary {
  readonly devices: number;
  readonly enrolled: number;
  readonly sessions: number;
  readonly failedSessions: number;
  readonly messages: number;
  /** Command outcomes reported by the devices, by status code. */
  readonly commandsByStatus: Readonly<Record<string, number>>;
  /** Error message → occurrences (enrollment and sessions). */
  readonly errors: Readonly<Record<string, number>>;
  readonly durationMs: number;
}

export async function runFleet(options: FleetOptions): Promise<FleetSummary> {
  const started = Date.now();
  const errors: Record<string, number> = {};
  const byStatus: Record<string, number> = {};
  const note = (message: string) => {
    errors[message] = (errors[message] ?? 0) + 1;
  };
  let enrolled = 0;
  let sessions = 0;
  let failedSessions = 0;
  let messages = 0;
  const sharedKey: Promise<DeviceKey> | undefined = options.shareKey ? generateDeviceKey() : undefined;

  const runDevice = async (index: number) => {
    const deviceOptions = {
      catalog: options.catalog,
      tls: options.tls,
      faults: options.faults,
      ...(options.client !== undefined && { client: options.client }),
      onExchange: options.onExchange?.(index),
    };
    const saved = options.restore?.[index];
    const device = saved
      ? VirtualDevice.restore(saved, deviceOptions)
      : new VirtualDevice({ ...deviceOptions, profile: makeProfile(`${options.seed ?? 'fleet'}-${index}`) });
    try {
      // A device restored with its enrollment goes straight to its check-ins.
      if (!device.enrolled)
        await device.enroll(
          options.server,
          options.email,
          options.password,
          sharedKey ? await sharedKey : undefined,
        );
      enrolled++;
      options.onProgress?.({ kind: 'enrolled', device: index, ok: true });
    } catch (err) {
      note(`enroll: ${(err as Error).message}`);
      options.onProgress?.({ kind: 'enroll-failed', device: index, ok: false });
      return;
    }
    try {
      const sessions = options.checkins + (options.unenrollAtEnd ? 1 : 0);
      for (let i = 0; i < sessions && device.enrolled; i++) {
        if (options.unenrollAtEnd && i === options.checkins) device.requestUnenroll();
        const report = await device.checkIn();
        if (!report.ok) note(`session: ${report.error}`);
        options.onProgress?.({ kind: 'session', device: index, ok: report.ok });
      }
    } finally {
      device.close();
      options.onDeviceDone?.(index, device);
      sessions += device.stats.sessions;
      failedSessions += device.stats.failedSessions;
      messages += device.stats.messages;
      for (const [code, count] of Object.entries(device.stats.byStatus))
        byStatus[code] = (byStatus[code] ?? 0) + count;
    }
  };

  let next = 0;
  const worker = async () => {
    while (next < options.devices) await runDevice(next++);
  };
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(options.concurrency, options.devices)) }, worker),
  );
  return {
    devices: options.devices,
    enrolled,
    sessions,
    failedSessions,
    messages,
    commandsByStatus: byStatus,
    errors,
    durationMs: Date.now() - started,
  };
}

/** Human-readable summary lines (the CLI prints them). */
export function formatFleetSummary(
  s: FleetSummary,
  statusText: Readonly<Record<number, string>> = {},
): string {
  const lines = [
    `devices:   ${s.devices} (${s.enrolled} enrolled)`,
    `sessions:  ${s.sessions} (${s.failedSessions} failed), ${s.messages} messages in ${(s.durationMs / 1000).toFixed(1)} s`,
  ];
  const codes = Object.keys(s.commandsByStatus).sort();
  lines.push(codes.length === 0 ? 'commands:  none' : 'commands by status:');
  for (const code of codes) {
    const text = statusText[Number(code)];
    lines.push(`  ${code}${text ? ` ${text}` : ''}: ${s.commandsByStatus[code]}`);
  }
  const errs = Object.entries(s.errors).sort((a, b) => b[1] - a[1]);
  lines.push(errs.length === 0 ? 'errors:    none' : 'errors:');
  for (const [message, count] of errs) lines.push(`  ${count}× ${message}`);
  return lines.join('\n');
}
