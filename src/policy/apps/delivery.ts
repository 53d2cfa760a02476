// Delivery of applications (docs/apps.md), like that of settings: at each check-in the device's
// wanted apps are computed from the policies assigned to it; each app's record moves through
// pending → installing → installed | failed, and removing → removed when unassigned; conflicting
// versions of one app are a `conflict`, apps the device cannot take are `not_applicable`. The
// device installs after the session (it answers the Exec with 202); at later check-ins the
// server reads the CSP's Status, LastError, LastErrorDesc and installed version (commands.ts). A
// failed installation is retried with bounded exponential backoff (`verification.maxFailureRetries`,
// `failureRetryDelay` doubling, at most a day). An installed app is read again after
// `verification.appInterval` (default `verification.interval`); when the device reports it missing or
// at another version it goes back to delivery and is re-installed, at most
// `verification.maxDriftRetries` times.
import type { Logger } from '../../logger.js';
import type { AppStore, DeviceAppRecord } from '../../storage/apps.js';
import type { CommandQueue } from '../../storage/commands.js';
import type { ActiveSet } from '../delivery/policy-set.js';
import type { CommandAnswer, CommandQueuePort } from '../delivery/settings.js';
import { appRecheckIntervalMs } from '../language/assignment.js';
import { compareVersions, type DeviceProfile } from '../language/groups.js';
import {
  compareVersion,
  installCommands,
  inventoryVersion,
  removeCommand,
  statusCommands,
  statusNodeOf,
} from './commands.js';
import type { AppPlan } from './types.js';

export type AppRecord = DeviceAppRecord<AppPlan>;

export interface AppDeliveryStores {
  readonly apps?: Pick<AppStore, 'listDeviceApps' | 'saveDeviceApps'>;
  /** The session engine's queue, to notice app commands it gave up on (expired, never answered). */
  readonly commands?: Pick<CommandQueue, 'listForDevice'>;
}

export interface AppDeliveryOptions {
  readonly logger: Logger;
  /** Base of the content URLs of hosted packages (`MDM_PUBLIC_URL`; a function when known only once listening). */
  readonly publicUrl: string | (() => string);
  readonly now?: () => Date;
  readonly priority?: number;
}

const TAG = 'app';
type AppOp = 'install' | 'status' | 'verify' | 'remove' | 'remove-old';
const MAX_BACKOFF_MS = 24 * 3600_000;
/** EnterpriseDesktopAppManagement is available from Windows 10 1511 (build 10586). */
const MSI_MIN_BUILD = '10.0.10586';

/** MSI Status values (EnterpriseDesktopAppManagement CSP). */
export const MSI_STATUS = {
  initialized: 10,
  downloading: 20,
  downloadRetry: 25,
  downloadFailed: 30,
  downloaded: 40,
  pendingUserSession: 48,
  enforcing: 50,
  enforcementRetry: 55,
  enforcementFailed: 60,
  completed: 70,
} as const;
/** AppInstallation Status values (EnterpriseModernAppManagement CSP). */
export const MSIX_STATUS = { notStarted: 0, inProgress: 1, failed: 2, installed: 3 } as const;

export function appTag(op: AppOp, key: string): string {
  return `${TAG}:${op}:${key}`;
}

export function parseAppTag(tag: string | undefined): { op: AppOp; key: string } | undefined {
  const m = tag ? /^app:(install|status|verify|remove|remove-old):(.+)$/s.exec(tag) : null;
  return m ? { op: m[1] as AppOp, key: m[2]! } : undefined;
}

export interface AppDelivery {
  /** Brings the device's apps in line with its policies; `poll` reads the status of installing apps. */
  reconcileDevice(
    stores: AppDeliveryStores,
    set: ActiveSet,
    deviceId: string,
    policyNames: readonly string[],
    profile: DeviceProfile | undefined,
    queue: CommandQueuePort,
    poll: boolean,
  ): Promise<number>;
  /** True when the outcome was an app command's (and was handled). */
  onCommandOutcome(
    stores: AppDeliveryStores,
    set: ActiveSet,
    outcome: CommandAnswer,
    queue: CommandQueuePort,
  ): Promise<boolean>;
}

interface Wanted {
  readonly policy: string;
  readonly plan: AppPlan;
}

export function createAppDelivery(options: AppDeliveryOptions): AppDelivery {
  const now = options.now ?? (() => new Date());
  const priority = options.priority ?? 50;
  const { logger } = options;
  const publicUrl = () => (typeof options.publicUrl === 'function' ? options.publicUrl() : options.publicUrl);

  function fresh(deviceId: string, w: Wanted): AppRecord {
    return {
      deviceId,
      appKey: w.plan.key,
      kind: w.plan.kind,
      state: 'pending',
      policy: w.policy,
      name: w.plan.name,
      appId: w.plan.id,
      desiredVersion: w.plan.version,
      plan: w.plan,
      installedId: null,
      installedVersion: null,
      cspStatus: null,
      statusCode: null,
      lastError: null,
      lastErrorDesc: null,
      reason: null,
      attempts: 0,
      nextRetryAt: null,
      sentAt: null,
      installedAt: null,
      verifiedAt: null,
      nextCheckAt: null,
      reinstalls: 0,
      updatedAt: now().toISOString(),
    };
  }

  function nextCheck(set: ActiveSet, from: Date = now()): string {
    return new Date(from.getTime() + appRecheckIntervalMs(set.assignments)).toISOString();
  }

  /** An installed app is due for re-verification (records from before it existed: from installedAt). */
  function verifyDue(set: ActiveSet, r: AppRecord, at: Date): boolean {
    if (r.nextCheckAt) return Date.parse(r.nextCheckAt) <= at.getTime();
    const since = r.verifiedAt ?? r.installedAt;
    if (!since) return true;
    return Date.parse(since) + appRecheckIntervalMs(set.assignments) <= at.getTime();
  }

  async function enqueue(queue: CommandQueuePort, deviceId: string, op: AppOp, key: string, list: unknown[]) {
    for (const command of list as Parameters<CommandQueuePort['enqueue']>[1][])
      await queue.enqueue(deviceId, command, { origin: 'policy', tag: appTag(op, key), priority });
  }

  function retryAt(set: ActiveSet, attempts: number): string | null {
    const { maxFailureRetries, failureRetryDelayMs } = set.assignments.verification;
    if (attempts > maxFailureRetries) return null;
    const delay = Math.min(MAX_BACKOFF_MS, failureRetryDelayMs * 2 ** Math.max(0, attempts - 1));
    return new Date(now().getTime() + delay).toISOString();
  }

  function fail(set: ActiveSet, r: AppRecord, patch: Partial<AppRecord>, reason: string): AppRecord {
    const next = retryAt(set, r.attempts);
    const gaveUp =
      next === null ? ` (gave up after ${r.attempts} attempt${r.attempts === 1 ? '' : 's'})` : '';
    return {
      ...r,
      ...patch,
      state: 'failed',
      reason: `${reason}${gaveUp}`,
      nextRetryAt: next,
      updatedAt: now().toISOString(),
    };
  }

  function notApplicable(plan: AppPlan, profile: DeviceProfile): string | undefined {
    if (plan.kind === 'msi' && profile.osVersion && compareVersions(profile.osVersion, MSI_MIN_BUILD) < 0)
      return `MSI installation needs Windows ${MSI_MIN_BUILD} or later; device runs ${profile.osVersion}`;
    return undefined;
  }

  async function reconcileDevice(
    stores: AppDeliveryStores,
    set: ActiveSet,
    deviceId: string,
    policyNames: readonly string[],
    profile: DeviceProfile | undefined,
    queue: CommandQueuePort,
    poll: boolean,
  ): Promise<number> {
    if (!stores.apps) return 0;
    const wanted = new Map<string, Wanted[]>();
    if (profile) {
      for (const name of policyNames) {
        const policy = set.policies.get(name);
        for (const plan of policy?.apps ?? [])
          wanted.set(plan.key, [...(wanted.get(plan.key) ?? []), { policy: name, plan }]);
      }
    }
    const existing = new Map(
      (await stores.apps.listDeviceApps(deviceId)).map((r) => [r.appKey, r as AppRecord]),
    );
    if (wanted.size === 0 && existing.size === 0) return 0;
    const at = now();
    if (poll) await failLost(stores, set, deviceId, existing);
    const changed: AppRecord[] = [];
    let queued = 0;
    const send = async (op: AppOp, key: string, list: unknown[]) => {
      await enqueue(queue, deviceId, op, key, list);
      queued += list.length;
    };

    for (const [key, list] of wanted) {
      const record = existing.get(key);
      const versions = new Map(list.map((w) => [`${w.plan.id}@${w.plan.version}`, w]));
      const first = list[0]!;
      if (versions.size > 1) {
        const detail = list.map((w) => `${w.policy} wants ${w.plan.version} (${w.plan.id})`).join(', ');
        const reason = `conflict: ${detail}`;
        if (record?.state !== 'conflict' || record.reason !== reason) {
          changed.push({
            ...(record ?? fresh(deviceId, first)),
            state: 'conflict',
            reason,
            nextRetryAt: null,
            updatedAt: at.toISOString(),
          });
        }
        continue;
      }
      const na = profile ? notApplicable(first.plan, profile) : undefined;
      if (na) {
        if (record?.state !== 'not_applicable' || record.reason !== na)
          changed.push({
            ...(record ?? fresh(deviceId, first)),
            state: 'not_applicable',
            reason: na,
            updatedAt: at.toISOString(),
          });
        continue;
      }
      const same =
        record !== undefined &&
        record.appId === first.plan.id &&
        record.desiredVersion === first.plan.version &&
        record.policy !== null &&
        !['removing', 'removed', 'conflict', 'not_applicable'].includes(record.state);
      if (!same) {
        // New app, new version (upgrade), or assigned again after removal.
        const base = record ?? fresh(deviceId, first);
        const start: AppRecord = {
          ...fresh(deviceId, first),
          installedId: base.state === 'removed' ? null : base.installedId,
          installedVersion: base.state === 'removed' ? null : base.installedVersion,
          installedAt: base.installedAt,
          attempts: 1,
          sentAt: at.toISOString(),
          reason:
            record?.installedVersion && record.state === 'installed'
              ? `upgrade from ${record.installedVersion}`
              : null,
        };
        changed.push(start);
        await send('install', key, installCommands(first.plan, publicUrl()));
        continue;
      }
      if (record.state === 'failed' && record.nextRetryAt && Date.parse(record.nextRetryAt) <= at.getTime()) {
        changed.push({
          ...record,
          state: 'pending',
          attempts: record.attempts + 1,
          nextRetryAt: null,
          sentAt: at.toISOString(),
          updatedAt: at.toISOString(),
        });
        await send('install', key, installCommands(record.plan ?? first.plan, publicUrl()));
        continue;
      }
      if (poll && record.state === 'installing')
        await send('status', key, statusCommands(record.kind, record.appId));
      else if (poll && record.state === 'installed' && verifyDue(set, record, at)) {
        // Periodic re-verification: the answers decide (onCommandOutcome); until the next interval
        // nothing more is asked, also when they never come.
        changed.push({ ...record, nextCheckAt: nextCheck(set, at), updatedAt: at.toISOString() });
        await send('verify', key, statusCommands(record.kind, record.appId));
      }
    }

    for (const [key, record] of existing) {
      if (wanted.has(key)) continue;
      if (record.state === 'removed' || record.state === 'removing') continue;
      const neverInstalled = record.state === 'conflict' || record.state === 'not_applicable';
      if (neverInstalled && record.installedId === null) {
        changed.push({
          ...record,
          state: 'removed',
          policy: null,
          reason: 'unassigned',
          updatedAt: at.toISOString(),
        });
        continue;
      }
      if (record.state === 'failed' && record.policy === null) {
        // A failed removal: retried on the same backoff.
        if (!record.nextRetryAt || Date.parse(record.nextRetryAt) > at.getTime()) continue;
      }
      changed.push({
        ...record,
        state: 'removing',
        policy: null,
        attempts: record.policy === null ? record.attempts + 1 : 1,
        reason: 'unassigned',
        nextRetryAt: null,
        sentAt: at.toISOString(),
        updatedAt: at.toISOString(),
      });
      await send('remove', key, [removeCommand(record.kind, record.installedId ?? record.appId)]);
    }
    if (changed.length > 0) await stores.apps.saveDeviceApps(changed);
    if (queued > 0) logger.debug({ deviceId, commands: queued }, 'app commands queued');
    return queued;
  }

  /**
   * At check-in: an app still `pending` or `removing` with no command of its own left in the queue
   * lost its commands (they expired, or the engine gave up after `commandMaxAttempts` sessions
   * without an answer). It fails, and is retried on the usual backoff.
   */
  async function failLost(
    stores: AppDeliveryStores,
    set: ActiveSet,
    deviceId: string,
    records: Map<string, AppRecord>,
  ): Promise<void> {
    if (!stores.commands || !stores.apps) return;
    const waiting = [...records.values()].filter((r) => r.state === 'pending' || r.state === 'removing');
    if (waiting.length === 0) return;
    const open = await stores.commands.listForDevice(deviceId, { states: ['pending', 'sent'], limit: 1000 });
    const outstanding = new Set(open.flatMap((c) => (c.tag ? [parseAppTag(c.tag)?.key] : [])));
    const lost: AppRecord[] = [];
    for (const r of waiting) {
      if (outstanding.has(r.appKey)) continue;
      const what = r.state === 'pending' ? 'install' : 'uninstall';
      const failed = fail(set, r, { statusCode: null }, `${what} commands were never answered`);
      lost.push(failed);
      records.set(r.appKey, failed);
    }
    if (lost.length > 0) {
      await stores.apps.saveDeviceApps(lost);
      logger.warn({ deviceId, apps: lost.map((r) => r.appKey) }, 'app commands lost');
    }
  }

  async function onCommandOutcome(
    stores: AppDeliveryStores,
    set: ActiveSet,
    outcome: CommandAnswer,
    queue: CommandQueuePort,
  ): Promise<boolean> {
    const ref = parseAppTag(outcome.tag);
    if (!ref) return false;
    if (!stores.apps) return true;
    const record = (await stores.apps.listDeviceApps(outcome.deviceId)).find((r) => r.appKey === ref.key) as
      | AppRecord
      | undefined;
    if (!record) return true;
    if (ref.op === 'verify') {
      const checked = verify(set, record, outcome);
      if (checked !== record) {
        await stores.apps.saveDeviceApps([checked]);
        if (checked.state !== record.state) {
          logger.info(
            {
              deviceId: outcome.deviceId,
              app: ref.key,
              from: record.state,
              to: checked.state,
              reason: checked.reason,
            },
            'app state changed',
          );
        }
        if (checked.state === 'pending' && checked.plan)
          await enqueue(
            queue,
            outcome.deviceId,
            'install',
            ref.key,
            installCommands(checked.plan, publicUrl()),
          );
      }
      return true;
    }
    const next = advance(set, record, ref.op, outcome);
    if (next !== record) {
      await stores.apps.saveDeviceApps([next]);
      if (next.state !== record.state) {
        logger.info(
          {
            deviceId: outcome.deviceId,
            app: ref.key,
            from: record.state,
            to: next.state,
            code: outcome.code,
          },
          'app state changed',
        );
      }
      // After a major upgrade (a new ProductCode) the old product is removed once the new one is in.
      if (
        next.state === 'installed' &&
        record.state !== 'installed' &&
        record.installedId &&
        record.installedId !== next.appId
      ) {
        await enqueue(queue, outcome.deviceId, 'remove-old', ref.key, [
          removeCommand(record.kind, record.installedId),
        ]);
      }
    }
    return true;
  }

  function advance(set: ActiveSet, r: AppRecord, op: AppOp, o: CommandAnswer): AppRecord {
    const at = now().toISOString();
    const code = o.code;
    const ok = code !== null && code >= 200 && code < 300;
    if (op === 'remove-old') return r;
    if (op === 'install') {
      if (r.state !== 'pending' && r.state !== 'installing') return r;
      // An Add of an install node that already exists (418) is fine: the Exec follows.
      if (o.verb === 'Add') {
        if (ok || code === 418) return r;
        return fail(
          set,
          r,
          { statusCode: code },
          `install rejected: the device answered ${code ?? 'nothing'} to ${o.verb}`,
        );
      }
      if (!ok)
        return fail(
          set,
          r,
          { statusCode: code },
          `install rejected: the device answered ${code ?? 'nothing'} to ${o.verb}`,
        );
      return { ...r, state: 'installing', statusCode: code, reason: r.reason, updatedAt: at };
    }
    if (op === 'remove') {
      if (r.state !== 'removing') return r;
      if (ok || code === 404) {
        return {
          ...r,
          state: 'removed',
          statusCode: code,
          installedId: null,
          installedVersion: null,
          cspStatus: null,
          reason: code === 404 ? 'unassigned (not installed on the device)' : 'unassigned',
          updatedAt: at,
        };
      }
      return fail(set, r, { statusCode: code }, `uninstall failed: the device answered ${code ?? 'nothing'}`);
    }
    // status Gets
    const node = o.target ? statusNodeOf(o.target) : undefined;
    if (!node || r.state !== 'installing') {
      // Details that arrive after the Status decided (LastError of a failure, the version installed).
      if (node && (r.state === 'failed' || r.state === 'installed')) return details(r, node, o);
      return r;
    }
    if (node !== 'Status') return details(r, node, o);
    if (!ok) {
      if (code === 404)
        return fail(set, r, { statusCode: code }, 'the device has no installation job for this app');
      return r; // a transient error reading Status: asked again at the next check-in
    }
    const status = Number(o.data);
    if (!Number.isInteger(status))
      return { ...r, reason: `unexpected Status ${JSON.stringify(o.data ?? '')}`, updatedAt: at };
    const done = r.kind === 'msi' ? status === MSI_STATUS.completed : status === MSIX_STATUS.installed;
    const failed =
      r.kind === 'msi'
        ? status === MSI_STATUS.downloadFailed || status === MSI_STATUS.enforcementFailed
        : status === MSIX_STATUS.failed;
    if (done) {
      return {
        ...r,
        state: 'installed',
        cspStatus: status,
        statusCode: code,
        installedId: r.appId,
        installedVersion: r.desiredVersion,
        lastError: null,
        lastErrorDesc: null,
        reason: null,
        nextRetryAt: null,
        installedAt: at,
        verifiedAt: at,
        nextCheckAt: nextCheck(set),
        updatedAt: at,
      };
    }
    if (failed) {
      const what =
        r.kind === 'msi'
          ? status === MSI_STATUS.downloadFailed
            ? 'download failed'
            : 'installation failed'
          : 'installation failed';
      return fail(set, r, { cspStatus: status, statusCode: code }, `${what} (Status ${status})`);
    }
    return { ...r, cspStatus: status, statusCode: code, updatedAt: at };
  }

  function details(r: AppRecord, node: string, o: CommandAnswer): AppRecord {
    const ok = o.code !== null && o.code >= 200 && o.code < 300;
    const data = ok ? (o.data ?? '') : null;
    const at = now().toISOString();
    switch (node) {
      case 'LastError':
        return r.state === 'installed'
          ? r
          : { ...r, lastError: data && data !== '0' ? data : null, updatedAt: at };
      case 'LastErrorDesc':
        return r.state === 'installed' ? r : { ...r, lastErrorDesc: data || null, updatedAt: at };
      case 'Version':
      case 'inventory': {
        if (r.state !== 'installed') return r;
        const version = node === 'Version' ? data || null : data ? (inventoryVersion(data) ?? null) : null;
        if (version === null) return r;
        const mismatch = r.desiredVersion && compareVersion(version, r.desiredVersion) !== 0;
        return {
          ...r,
          installedVersion: version,
          reason: mismatch ? `device reports version ${version}, expected ${r.desiredVersion}` : null,
          updatedAt: at,
        };
      }
    }
    return r;
  }

  /**
   * A re-verification answer about an installed app. MSI: a Status or Version the device no
   * longer has (404) is a product gone, a Version other than the one delivered another version;
   * Status 70 and the expected Version confirm it. MSIX: the inventory node decides (the
   * AppInstallation job's Status outlives the package).
   */
  function verify(set: ActiveSet, r: AppRecord, o: CommandAnswer): AppRecord {
    if (r.state !== 'installed') return r;
    const node = o.target ? statusNodeOf(o.target) : undefined;
    const ok = o.code !== null && o.code >= 200 && o.code < 300;
    const at = now().toISOString();
    const decides = r.kind === 'msi' ? node === 'Status' || node === 'Version' : node === 'inventory';
    if (!node || !decides) return r;
    if (o.code === 404)
      return reinstall(set, r, `the device no longer has the app (${node} not found)`, null);
    if (!ok) return r; // a failed read: asked again after the next interval
    if (node === 'Status') {
      const status = Number(o.data);
      if (status === MSI_STATUS.completed) return { ...r, cspStatus: status, verifiedAt: at, updatedAt: at };
      return { ...r, cspStatus: Number.isInteger(status) ? status : r.cspStatus, updatedAt: at };
    }
    const version = node === 'Version' ? o.data || undefined : inventoryVersion(o.data ?? '');
    if (version === undefined)
      return node === 'inventory'
        ? reinstall(set, r, 'the device no longer has the app (no package in its inventory)', null)
        : r;
    if (r.desiredVersion && compareVersion(version, r.desiredVersion) !== 0)
      return reinstall(
        set,
        r,
        `the device reports version ${version}, expected ${r.desiredVersion}`,
        version,
      );
    return { ...r, installedVersion: version, reason: null, verifiedAt: at, updatedAt: at };
  }

  /** Back to delivery after the device lost the app or changed its version, at most maxDriftRetries times. */
  function reinstall(set: ActiveSet, r: AppRecord, why: string, reported: string | null): AppRecord {
    const at = now().toISOString();
    const gone = reported === null;
    const base: AppRecord = {
      ...r,
      installedId: gone ? null : r.installedId,
      installedVersion: reported,
      nextCheckAt: null,
      updatedAt: at,
    };
    const max = set.assignments.verification.maxDriftRetries;
    if (r.reinstalls >= max || !r.plan) {
      return {
        ...base,
        state: 'failed',
        nextRetryAt: null,
        reason: r.plan
          ? `${why}; not re-installed again after ${r.reinstalls} re-install${r.reinstalls === 1 ? '' : 's'}`
          : why,
      };
    }
    return {
      ...base,
      state: 'pending',
      attempts: 1,
      reinstalls: r.reinstalls + 1,
      nextRetryAt: null,
      cspStatus: null,
      statusCode: null,
      lastError: null,
      lastErrorDesc: null,
      sentAt: at,
      reason: `re-install: ${why}`,
    };
  }

  return { reconcileDevice, onCommandOutcome };
}
