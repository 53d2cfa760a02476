// Compliance at run time: queue the Gets for the facts the rules need (DeviceStatus, BitLocker,
// DevDetail; docs/protocol-notes.md#csps), store what the device reports, evaluate the rules that target
// the device and run the actions of rules that stay failing past their grace period.
import { randomUUID } from 'node:crypto';
import type { Logger } from '../../logger.js';
import type { DmCommand } from '../../shared/dm-command.js';
import type { DeviceComplianceRecord } from '../../storage/compliance.js';
import { COMPLIANCE_NOTICE_EVENT } from '../../webhooks/events.js';
import type { ActiveSet } from '../delivery/policy-set.js';
import { cannotBeVerified, type SettingRecord } from '../delivery/setting-state.js';
import type { CommandAnswer, CommandQueuePort, DeliveryStores } from '../delivery/settings.js';
import { deviceProfile, reportedValues } from '../delivery/settings.js';
import { indexGroups, isTargeted } from '../delivery/targeting.js';
import type { DeviceProfile } from '../language/groups.js';
import { type ComplianceRule, evaluateCompliance, FACT_PATHS, factPathsFor } from './rules.js';

export const FACT_TAG_PREFIX = 'fact:';
export const LOCK_PATH = './Vendor/MSFT/RemoteLock/Lock';

/** A device that became noncompliant, for log and webhook notifications. */
export interface ComplianceNotice {
  readonly deviceId: string;
  readonly state: DeviceComplianceRecord['state'];
  readonly rule: string;
  readonly reasons: readonly string[];
  readonly at: string;
}

export type WebhookSender = (url: string, notice: ComplianceNotice) => Promise<void>;

export interface ComplianceServiceOptions {
  readonly logger: Logger;
  readonly now?: () => Date;
  /** How often the facts are read again from each device. Default 1 h. */
  readonly factRefreshMs?: number;
  /** Sends `notify: {webhook}` notices itself instead of the webhook outbox (tests). */
  readonly sendWebhook?: WebhookSender;
}

/** POST the notice as JSON (no outbox at hand); failures are logged by the caller, never retried. */
export const postWebhook: WebhookSender = async (url, notice) => {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(notice),
    signal: AbortSignal.timeout(5000),
  });
  if (!res.ok) throw new Error(`webhook answered HTTP ${res.status}`);
};

export function rulesFor(set: ActiveSet, profile: DeviceProfile): ComplianceRule[] {
  const groups = indexGroups(set.assignments.groups);
  return set.compliance.filter((r) =>
    isTargeted(profile, { policy: r.name, include: r.include, exclude: r.exclude }, groups),
  );
}

/** Remediation policies due for a device (rules whose actions ran in its current failing run). */
export function remediationPolicies(set: ActiveSet, record: DeviceComplianceRecord | undefined): string[] {
  if (!record) return [];
  const done = new Set(record.actionsDone);
  return set.compliance
    .filter((r) => done.has(r.name))
    .flatMap((r) => r.actions.flatMap((a) => ('remediate' in a ? [a.remediate] : [])));
}

/** Every method works on the `stores` it is given (an exchange's transaction, or the storage). */
export interface ComplianceService {
  /** Queue fact Gets when they are due. */
  requestFacts(
    stores: DeliveryStores,
    set: ActiveSet,
    deviceId: string,
    queue: CommandQueuePort,
    profile?: DeviceProfile,
  ): Promise<number>;
  /**
   * Store a fact Get's outcome: `changed` when the value differs from the last one recorded,
   * `same`, or `none` when the outcome is not a fact (or only the Status before its Results).
   */
  recordFact(
    stores: DeliveryStores,
    outcome: CommandAnswer,
  ): Promise<'changed' | 'same' | 'none' | 'pending'>;
  /** Evaluate and store the device's compliance; runs due actions. */
  evaluate(
    stores: DeliveryStores,
    set: ActiveSet,
    deviceId: string,
    queue: CommandQueuePort,
    profile?: DeviceProfile,
  ): Promise<DeviceComplianceRecord | undefined>;
}

export function createComplianceService(options: ComplianceServiceOptions): ComplianceService {
  const { logger } = options;
  const now = options.now ?? (() => new Date());
  const refreshMs = options.factRefreshMs ?? 3_600_000;

  async function requestFacts(
    stores: DeliveryStores,
    set: ActiveSet,
    deviceId: string,
    queue: CommandQueuePort,
    known?: DeviceProfile,
  ): Promise<number> {
    if (set.compliance.length === 0) return 0;
    const profile = known ?? (await deviceProfile(stores, deviceId));
    if (!profile) return 0;
    const paths = factPathsFor(rulesFor(set, profile));
    if (paths.length === 0) return 0;
    const previous = await stores.compliance.getCompliance(deviceId);
    const at = now();
    const last = previous?.factsRequestedAt ? Date.parse(previous.factsRequestedAt) : 0;
    if (at.getTime() - last < refreshMs) return 0;
    // One Get per LocURI so every Status/Results maps to one node (docs/protocol-notes.md#csps).
    for (const path of paths) {
      const command: DmCommand = { verb: 'Get', items: [{ target: path }] };
      await queue.enqueue(deviceId, command, {
        origin: 'compliance',
        tag: FACT_TAG_PREFIX + path,
        priority: 40,
      });
    }
    await stores.compliance.saveCompliance({
      ...(previous ?? blank(deviceId, at)),
      factsRequestedAt: at.toISOString(),
    });
    return paths.length;
  }

  async function recordFact(
    stores: DeliveryStores,
    outcome: CommandAnswer,
  ): Promise<'changed' | 'same' | 'none' | 'pending'> {
    const path = factPathOf(outcome);
    if (!path) return 'none';
    const code = outcome.code ?? 0;
    const ok = code >= 200 && code < 300;
    if (ok && outcome.data === undefined) return 'pending'; // Status before its Results
    const value = ok ? (outcome.data ?? null) : null;
    const previous = (await stores.compliance.getFacts(outcome.deviceId)).find((f) => f.path === path);
    await stores.compliance.recordFacts(outcome.deviceId, [
      { path, value, statusCode: code, reportedAt: now().toISOString() },
    ]);
    return previous && previous.value === value ? 'same' : 'changed';
  }

  async function evaluate(
    stores: DeliveryStores,
    set: ActiveSet,
    deviceId: string,
    queue: CommandQueuePort,
    known?: DeviceProfile,
  ): Promise<DeviceComplianceRecord | undefined> {
    const profile = known ?? (await deviceProfile(stores, deviceId));
    if (!profile) return undefined;
    const at = now();
    const rules = rulesFor(set, profile);
    const values = await reportedValues(stores, deviceId);
    const settings = await stores.deviceSettings.listDeviceSettings(deviceId);
    const previous = await stores.compliance.getCompliance(deviceId);
    const result = evaluateCompliance(
      rules,
      {
        values,
        ...(profile.osVersion ? { osVersion: profile.osVersion } : {}),
        settings: settings.map((s) => ({
          path: s.path,
          policy: s.policy,
          state: s.state,
          unverifiable: cannotBeVerified(s as SettingRecord),
        })),
      },
      { failingSince: previous?.failingSince ?? null },
      at,
    );
    const done = result.failingSince ? new Set(previous?.actionsDone ?? []) : new Set<string>();
    for (const name of result.breachedRules) {
      if (done.has(name)) continue;
      done.add(name);
      await runActions(stores, queue, rules.find((r) => r.name === name)!, deviceId, result.reasons, at);
    }
    const record: DeviceComplianceRecord = {
      deviceId,
      state: result.state,
      reasons: result.reasons,
      failingSince: result.failingSince,
      graceEndsAt: result.graceEndsAt,
      actionsDone: [...done].sort(),
      evaluatedAt: at.toISOString(),
      factsRequestedAt: previous?.factsRequestedAt ?? null,
    };
    // Written when something changed, and at least once per refresh interval (evaluatedAt).
    const stale = !previous || at.getTime() - Date.parse(previous.evaluatedAt) >= refreshMs;
    if (stale || !sameOutcome(previous, record)) await stores.compliance.saveCompliance(record);
    if (previous?.state !== record.state) {
      logger.info(
        { deviceId, from: previous?.state ?? null, to: record.state, reasons: record.reasons },
        'compliance changed',
      );
    }
    return record;
  }

  async function runActions(
    stores: DeliveryStores,
    queue: CommandQueuePort,
    rule: ComplianceRule,
    deviceId: string,
    reasons: readonly string[],
    at: Date,
  ) {
    const notice: ComplianceNotice = {
      deviceId,
      state: 'noncompliant',
      rule: rule.name,
      reasons,
      at: at.toISOString(),
    };
    for (const action of rule.actions) {
      if ('notify' in action) {
        if (action.notify === 'log') logger.warn(notice, 'device is noncompliant');
        else await notify(stores, action.notify.webhook, notice);
      } else if ('lock' in action) {
        await queue.enqueue(
          deviceId,
          { verb: 'Exec', items: [{ target: LOCK_PATH }] },
          { origin: 'compliance', tag: `compliance:lock:${rule.name}`, priority: 90 },
        );
      }
      // `remediate` is applied by delivery: the policy is targeted while the rule stays breached.
    }
  }

  /**
   * A `notify: {webhook}` notice goes to the webhook outbox in the evaluation's transaction, so it is
   * retried and never lost (docs/api.md "Webhooks"); never sent during the device's session.
   */
  async function notify(stores: DeliveryStores, url: string, notice: ComplianceNotice): Promise<void> {
    const direct = options.sendWebhook ?? (stores.webhooks ? undefined : postWebhook);
    if (direct) {
      direct(url, notice).catch((err: Error) =>
        logger.error(
          { deviceId: notice.deviceId, rule: notice.rule, err: err.message },
          'compliance webhook failed',
        ),
      );
      return;
    }
    await stores.webhooks!.enqueue([
      {
        eventId: `msg_${randomUUID()}`,
        eventType: COMPLIANCE_NOTICE_EVENT,
        url,
        payload: JSON.stringify(notice),
        createdAt: notice.at,
      },
    ]);
  }

  return { requestFacts, recordFact, evaluate };
}

function sameOutcome(a: DeviceComplianceRecord, b: DeviceComplianceRecord): boolean {
  return (
    a.state === b.state &&
    a.failingSince === b.failingSince &&
    a.graceEndsAt === b.graceEndsAt &&
    a.reasons.join('\n') === b.reasons.join('\n') &&
    a.actionsDone.join('\n') === b.actionsDone.join('\n')
  );
}

const KNOWN_FACTS: ReadonlySet<string> = new Set(Object.values(FACT_PATHS));

/** The node a fact outcome reports: our own fact Gets, and inventory Gets of known fact nodes. */
function factPathOf(outcome: CommandAnswer): string | undefined {
  if (outcome.tag?.startsWith(FACT_TAG_PREFIX)) return outcome.tag.slice(FACT_TAG_PREFIX.length);
  if (
    outcome.origin === 'inventory' &&
    outcome.verb === 'Get' &&
    outcome.target &&
    KNOWN_FACTS.has(outcome.target)
  ) {
    return outcome.target;
  }
  return undefined;
}

function blank(deviceId: string, at: Date): DeviceComplianceRecord {
  return {
    deviceId,
    state: 'unknown',
    reasons: [],
    failingSince: null,
    graceEndsAt: null,
    actionsDone: [],
    evaluatedAt: at.toISOString(),
    factsRequestedAt: null,
  };
}
