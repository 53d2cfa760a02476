// Pre-loads the benchmark database: N enrolled devices in ONE transaction with prepared
// statements (devices, enrollments with DIGEST credentials, device certificates, the check-in and
// inventory history of a device that has been managed for a while, and a few policy commands
// queued per device), plus a pool of devices holding REAL certificates issued by the server's
// enrollment CA, which the load generator presents (bench/README.md explains the split).
import { createHash, generateKeyPairSync } from 'node:crypto';
import { DEFAULT_INVENTORY_NODES } from '../src/dm/inventory.js';
import type { DmCommand } from '../src/shared/dm-command.js';
import { openSqlite } from '../src/storage/sqlite/database.js';
import type { BenchDevice } from './checkin.js';
import { type IssuedPoolCertificate, type IssueRequest, issuePoolCertificates } from './issue-certs.js';

export interface PreloadOptions {
  /** SQLite file of the server under test (created and migrated if missing). */
  readonly file: string;
  /** Folder holding the server's enrollment CA (ca.crt, ca.key). */
  readonly certsDir: string;
  readonly devices: number;
  /** How many devices get a real certificate and are driven by the load generator. */
  readonly pool: number;
  readonly providerId: string;
  /** Policy commands queued per device. */
  readonly policyCommands: number;
  /** Share of devices whose daily inventory refresh is due (the others reported theirs an hour ago). */
  readonly inventoryDueShare: number;
  /** Issues the pool certificates (a child process in the benchmark; in-process by default). */
  readonly issue?: (request: IssueRequest) => Promise<IssuedPoolCertificate[]>;
}

export interface PreloadResult {
  /** The devices the load generator drives (real certificates), in a shuffled-but-stable order. */
  readonly pool: BenchDevice[];
  /** PKCS#8 PEM of the key every pool certificate was issued for (TLS mode presents it). */
  readonly poolKeyPem: string;
  /** Wall time of issuing the pool certificates (in parallel with the inserts when in a child). */
  readonly issueMs: number;
  readonly insertMs: number;
  readonly totalMs: number;
}

/** A Windows-style DeviceID (32 upper-case hex digits), stable per index. */
export function benchDeviceId(index: number): string {
  return createHash('sha1').update(`bench-device-${index}`).digest('hex').slice(0, 32).toUpperCase();
}

/** The policy settings queued per device (Policy CSP, docs/protocol-notes.md#policy-csp). */
export const BENCH_POLICY_COMMANDS: readonly { readonly tag: string; readonly command: DmCommand }[] = [
  ['DeviceLock/DevicePasswordEnabled', '0'],
  ['DeviceLock/MinDevicePasswordLength', '8'],
  ['Experience/AllowCortana', '0'],
  ['Update/ActiveHoursStart', '8'],
  ['Defender/AllowRealtimeMonitoring', '1'],
].map(([setting, value]) => ({
  tag: `bench/${setting}`,
  command: {
    verb: 'Replace',
    items: [{ target: `./Device/Vendor/MSFT/Policy/Config/${setting}`, format: 'int', data: value }],
  } satisfies DmCommand,
}));

/** Indexes of the pool devices, spread across the whole fleet. */
export function poolIndexes(devices: number, pool: number): number[] {
  const n = Math.min(pool, devices);
  return Array.from({ length: n }, (_, k) => Math.floor((k * devices) / n));
}

/** Whether the device with digest `h` is due its inventory refresh (a `share` of all devices, at random). */
const inventoryDue = (h: string, share: number) => Number.parseInt(h.slice(120, 128), 16) / 2 ** 32 < share;

/** A value for each of DEFAULT_INVENTORY_NODES, in its order. */
const INVENTORY_VALUES = [
  '10.0.22631.4037',
  'Contoso',
  '1.21.0',
  '1.0',
  'DESKTOP-BENCH',
  'Windows 11 Enterprise',
  'PF3ABCDE',
  'true',
  '4',
  '1',
  '1',
  '2.0, 0, 1.59',
  '0',
  '0',
];

export async function preloadDatabase(options: PreloadOptions): Promise<PreloadResult> {
  const started = performance.now();
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const indexes = poolIndexes(options.devices, options.pool);
  const deviceIds = indexes.map(benchDeviceId);
  // Devices outside the pool store a real-sized certificate too: a real certificate's DER under
  // their own serial and thumbprint (never presented for them).
  const [template] = issuePoolCertificates({
    certsDir: options.certsDir,
    publicKeyPem,
    deviceIds: [benchDeviceId(-1)],
  });
  const templateDer = Buffer.from(template!.der, 'base64');
  const issueStart = performance.now();
  let issueMs = 0;
  const issuing = (options.issue ?? (async (r: IssueRequest) => issuePoolCertificates(r)))({
    certsDir: options.certsDir,
    publicKeyPem,
    deviceIds,
  }).then((certs) => {
    issueMs = performance.now() - issueStart;
    return certs;
  });

  const insertStart = performance.now();
  const handle = openSqlite({ file: options.file, checkpointIntervalMs: 0 });
  const db = handle.writer;
  // Bulk-load settings for this connection only: a cache that holds the random-key indexes, no fsync
  // until the load is done (the server's own connection keeps WAL + synchronous=NORMAL).
  db.pragma('cache_size = -524288');
  db.pragma('synchronous = OFF');
  const insertDevice = db.prepare(`INSERT INTO devices (device_id, hw_dev_id, name, os_edition, os_version,
      device_type, locale, macs, created_at, updated_at) VALUES (?, ?, ?, '72', '10.0.22631.4037',
      'CIMClient_Windows', 'en-US', ?, ?, ?)`);
  const insertEnrollment = db.prepare(`INSERT INTO enrollments (enrollment_id, device_id, user_upn,
      enrollment_type, auth_policy, provider_id, status, enrolled_at, appsrv_name, appsrv_secret, appsrv_nonce,
      client_secret, client_nonce) VALUES (?, ?, ?, 'Full', 'Federated', ?, 'active', ?, ?, ?, ?, ?, ?)`);
  const insertCertificate =
    db.prepare(`INSERT INTO certificates (serial, thumbprint, device_id, enrollment_id,
      status, not_before, not_after, issued_at, der) VALUES (?, ?, ?, ?, 'active', ?, ?, ?, ?)`);
  const insertCommand = db.prepare(`INSERT INTO dm_commands (command_id, device_id, origin, tag, priority,
      payload, state, created_at) VALUES (?, ?, 'policy', ?, 0, ?, 'pending', ?)`);
  const insertCheckIn = db.prepare(`INSERT INTO dm_checkins (device_id, last_checkin_at, last_inventory_at,
      login_status, sessions) VALUES (?, ?, ?, 'user', 1)`);
  const insertInventory =
    db.prepare(`INSERT INTO dm_inventory (device_id, loc_uri, value, format, type, reported_at)
      VALUES (?, ?, ?, 'chr', 'text/plain', ?)`);
  const at = new Date().toISOString();
  const anHourAgo = new Date(Date.now() - 3_600_000).toISOString();
  const policies = BENCH_POLICY_COMMANDS.slice(0, options.policyCommands).map((p) => ({
    tag: p.tag,
    payload: JSON.stringify(p.command),
  }));
  const uuid = (h: string, suffix: string) =>
    `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32 - suffix.length)}${suffix}`;
  const b64 = (h: string) => Buffer.from(h, 'hex').toString('base64');

  db.transaction(() => {
    for (let i = 0; i < options.devices; i++) {
      const deviceId = benchDeviceId(i);
      // One digest per device supplies every other random-looking value.
      const h = createHash('sha512').update(`bench-${i}`).digest('hex');
      const enrollmentId = uuid(h, '');
      const mac = h.slice(96, 108).toUpperCase();
      insertDevice.run(
        deviceId,
        h.slice(32, 96).toUpperCase(),
        `DESKTOP-${mac.slice(0, 7)}`,
        JSON.stringify([mac]),
        at,
        at,
      );
      insertEnrollment.run(
        enrollmentId,
        deviceId,
        `user${i % 5000}@bench.example`,
        options.providerId,
        at,
        deviceId,
        h.slice(64, 96),
        b64(h.slice(96, 128)),
        h.slice(32, 64),
        b64(h.slice(0, 32)),
      );
      insertCertificate.run(
        `7F${h.slice(2, 32)}`.toUpperCase(),
        h.slice(88, 128).toUpperCase(),
        deviceId,
        enrollmentId,
        template!.notBefore,
        template!.notAfter,
        at,
        templateDer,
      );
      policies.forEach((p, k) => {
        insertCommand.run(uuid(h.slice(40), k.toString(16)), deviceId, p.tag, p.payload, at);
      });
      if (!inventoryDue(h, options.inventoryDueShare)) {
        insertCheckIn.run(deviceId, anHourAgo, anHourAgo);
        DEFAULT_INVENTORY_NODES.forEach((node, k) => {
          insertInventory.run(deviceId, node, INVENTORY_VALUES[k] ?? 'x', anHourAgo);
        });
      }
    }
  })();
  const insertMs = performance.now() - insertStart;

  const issued = await issuing;
  const setCertificate = db.prepare(
    'UPDATE certificates SET serial = ?, thumbprint = ?, der = ?, not_before = ?, not_after = ? WHERE device_id = ?',
  );
  db.transaction(() => {
    for (const c of issued) {
      setCertificate.run(
        c.serial,
        c.thumbprint,
        Buffer.from(c.der, 'base64'),
        c.notBefore,
        c.notAfter,
        c.deviceId,
      );
    }
  })();
  handle.close();

  // Stable shuffle, so consecutive sessions do not walk the database in key order.
  const pool: BenchDevice[] = issued
    .map((c) => ({ deviceId: c.deviceId, certHeader: c.der, certPem: c.pem }))
    .sort((a, b) => (a.deviceId < b.deviceId ? -1 : 1));
  return {
    pool,
    poolKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    issueMs,
    insertMs,
    totalMs: performance.now() - started,
  };
}
