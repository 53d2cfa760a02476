// What the session engine calls (wired in the composition root, src/main.ts): at every check-in
// and for every Status/Results of a queued command (the `DmHooks` contract of
// src/shared/dm-hooks.ts, which the engine and policy both import). The hooks return what they
// want queued; the engine commits it with the exchange and sends it in the same session.
//
// Transaction boundary: every read and write goes through `ctx.tx`, the exchange's transaction, so
// the hooks' own records (setting states, compliance facts and records, outcome counters) commit
// together with the session state and the commands they queue, or are rolled back with them. Webhook
// notifications are sent without waiting and are not undone. As a safety net (a command that expired
// or was cancelled), a setting left `pending`/`sent`/`applied`/`removing` with no command that could
// answer for it has its command queued again at the next check-in (`resendOrphans`).
import type { Logger } from '../logger.js';
import type { CommandOutcome, DmHooks, FollowUpCommand, HookContext } from '../shared/dm-hooks.js';
import type { CommandQueue } from '../storage/commands.js';
import type { Storage } from '../storage/index.js';
import type { EventSink } from '../webhooks/events.js';
import { createAppDelivery, parseAppTag } from './apps/delivery.js';
import {
  type ComplianceService,
  createComplianceService,
  remediationPolicies,
  type WebhookSender,
} from './compliance/service.js';
import { createCertificateDelivery, parseCertificateTag } from './delivery/certificate-profiles.js';
import { type EmitEvent, type ExchangeView, exchangeView } from './delivery/exchange-view.js';
import type { ActiveSet } from './delivery/policy-set.js';
import {
  type CommandAnswer,
  type CommandQueuePort,
  createDeliveryService,
  type DeliveryOptions,
  type DeliveryService,
  type DeliveryStores,
  deviceProfile,
} from './delivery/settings.js';
import { indexGroups, targetedPolicies } from './delivery/targeting.js';
import type { DeviceProfile } from './language/groups.js';

/** The exchange's transaction as policy uses it: with the webhook outbox when it has one (every real exchange). */
export type PolicyTx = DeliveryStores & { readonly webhooks?: Storage['webhooks'] };

/** The session engine's hooks (src/shared/dm-hooks.ts), all implemented, and what the CLI drives. */
export interface PolicyHooks extends Required<DmHooks<PolicyTx>> {
  /** Evaluate and reconcile every enrolled device, queueing through `queue` (after `mdm policy apply`, on start). */
  reconcileAll(stores: DeliveryStores, queue: CommandQueuePort): Promise<number>;
  readonly delivery: DeliveryService;
  readonly compliance: ComplianceService;
}

export interface PolicyHooksOptions {
  readonly logger: Logger;
  readonly now?: () => Date;
  /** Server-side `{{variable}}` values per device (DeliveryOptions.templateValues). */
  readonly templateValues?: DeliveryOptions['templateValues'];
  readonly factRefreshMs?: number;
  readonly sendWebhook?: WebhookSender;
  /** Base of the download URLs of hosted app packages (`MDM_PUBLIC_URL`). */
  readonly publicUrl?: string | (() => string);
  /** Webhook events of setting and compliance changes, written with each exchange's changes. */
  readonly events?: EventSink;
  /** Lifetime of the SCEP challenge sent with a certificate profile (default 60 minutes). */
  readonly scepChallengeTtlMinutes?: number;
}

/** Queue port that collects what is queued, for the session engine to commit. */
export function collectingQueue(into: FollowUpCommand[]): CommandQueuePort {
  return {
    async enqueue(_deviceId, command, options) {
      into.push({ command, ...options });
    },
  };
}

/** Queue port over the stored command queue (CLI, server start). */
export function storedQueue(queue: Pick<CommandQueue, 'enqueue'>): CommandQueuePort {
  return {
    async enqueue(deviceId, command, options) {
      await queue.enqueue({ deviceId, command, ...options });
    },
  };
}

/** One engine outcome as delivery judges it: Results imply success; the first item carries the value. */
export function answerOf(o: CommandOutcome): CommandAnswer {
  const hasResults = o.results.length > 0;
  const code = o.statusCode ?? (hasResults ? 200 : null);
  return {
    deviceId: o.deviceId,
    origin: o.origin,
    ...(o.tag !== undefined ? { tag: o.tag } : {}),
    verb: o.verb,
    ...(o.targets[0] !== undefined ? { target: o.targets[0] } : {}),
    code,
    ...(hasResults ? { data: o.results[0]?.data ?? '' } : {}),
  };
}

/** What one exchange gathered: its view of the records, and work deferred to the exchange's end. */
interface ExchangeWork {
  readonly view: ExchangeView;
  /** Devices whose compliance (and targeting) must be evaluated again. */
  readonly refresh: Set<string>;
  /** Devices whose compliance must be evaluated again (a setting changed state). */
  readonly evaluate: Set<string>;
}

export function createPolicyHooks(options: PolicyHooksOptions): PolicyHooks {
  const delivery = createDeliveryService(options);
  const compliance = createComplianceService(options);
  const apps = createAppDelivery({
    logger: options.logger,
    publicUrl: options.publicUrl ?? 'https://localhost:8443',
    ...(options.now ? { now: options.now } : {}),
  });
  const certificates = createCertificateDelivery({
    logger: options.logger,
    ...(options.now ? { now: options.now } : {}),
    ...(options.templateValues ? { templateValues: options.templateValues } : {}),
    ...(options.scepChallengeTtlMinutes ? { challengeTtlMinutes: options.scepChallengeTtlMinutes } : {}),
  });
  const events = options.events;
  const eventsOf = (ctx: HookContext<PolicyTx>): EmitEvent | undefined => {
    const webhooks = ctx.tx.webhooks;
    if (!events || !webhooks) return undefined;
    if (!events.wants('setting.state_changed') && !events.wants('compliance.changed')) return undefined;
    return (type, data) => events.emit({ webhooks }, type, data, ctx.at);
  };
  // Keyed by the engine's context object: one per exchange, dropped with it.
  const exchanges = new WeakMap<HookContext<PolicyTx>, ExchangeWork>();

  function work(ctx: HookContext<PolicyTx>): ExchangeWork {
    let w = exchanges.get(ctx);
    if (!w) {
      w = {
        view: exchangeView(ctx.tx, ctx.policyRevision, eventsOf(ctx)),
        refresh: new Set(),
        evaluate: new Set(),
      };
      exchanges.set(ctx, w);
    }
    return w;
  }

  async function refresh(
    stores: DeliveryStores,
    deviceId: string,
    queue: CommandQueuePort,
    profile?: DeviceProfile,
    poll = false,
  ) {
    const set = await delivery.activeSet(stores);
    const known = profile ?? (await deviceProfile(stores, deviceId));
    const record = await compliance.evaluate(stores, set, deviceId, queue, known);
    const extra = remediationPolicies(set, record);
    await delivery.reconcileDevice(stores, deviceId, queue, extra, known);
    if ((stores.apps || stores.scep) && set.revision > 0) {
      const names = known
        ? [
            ...new Set([
              ...targetedPolicies(known, set.assignments.assignments, indexGroups(set.assignments.groups)),
              ...extra,
            ]),
          ]
        : [];
      if (stores.apps) await apps.reconcileDevice(stores, set, deviceId, names, known, queue, poll);
      await certificates.reconcileDevice(stores, set, deviceId, names, known, queue, poll);
    }
  }

  return {
    delivery,
    compliance,
    async onCheckIn(checkIn, ctx) {
      const { view } = work(ctx);
      // Nothing assigned, no rule, and nothing delivered to remove: nothing to do (the common case
      // of a fleet without policies costs one read).
      const current = await delivery.activeSet(view);
      if (isEmpty(current)) {
        if ((await view.deviceSettings.listDeviceSettings(checkIn.deviceId)).length === 0) {
          // Apps and certificate profiles to remove can only exist once a policy set was applied.
          if (current.revision === 0) return [];
          const apps = view.apps ? await view.apps.listDeviceApps(checkIn.deviceId) : [];
          const profiles = view.scep ? await view.scep.listDeviceProfiles(checkIn.deviceId) : [];
          if (apps.length === 0 && profiles.every((p) => p.state === 'revoked')) return [];
        }
      }
      const followUps: FollowUpCommand[] = [];
      const queue = collectingQueue(followUps);
      await delivery.syncWithQueue(view, checkIn.deviceId, queue);
      const profile = await deviceProfile(view, checkIn.deviceId, checkIn.loginStatus ?? 'none');
      await compliance.requestFacts(view, await delivery.activeSet(view), checkIn.deviceId, queue, profile);
      await refresh(view, checkIn.deviceId, queue, profile, true);
      return followUps;
    },
    async onCommandOutcome(engineOutcome, ctx) {
      const w = work(ctx);
      // Without policies and rules only a policy command's answer matters (a setting being removed).
      if (engineOutcome.origin !== 'policy' && isEmpty(await delivery.activeSet(w.view))) return [];
      const followUps: FollowUpCommand[] = [];
      const outcome = answerOf(engineOutcome);
      const queue = collectingQueue(followUps);
      if (outcome.origin === 'policy' && parseAppTag(outcome.tag)) {
        await apps.onCommandOutcome(w.view, await delivery.activeSet(w.view), outcome, queue);
        return followUps;
      }
      if (outcome.origin === 'policy' && parseCertificateTag(outcome.tag)) {
        const set = await delivery.activeSet(w.view);
        // A newly installed certificate: settings naming its thumbprint are filled again.
        if (await certificates.onCommandOutcome(w.view, set, outcome, queue)) w.refresh.add(outcome.deviceId);
        return followUps;
      }
      const fact = await compliance.recordFact(w.view, outcome);
      if (fact !== 'none') {
        // Re-evaluate (and re-target: remediation, OS version groups) only when a fact changed, once.
        if (fact === 'changed') w.refresh.add(outcome.deviceId);
        return followUps;
      }
      if (outcome.origin !== 'policy') return followUps;
      await delivery.onCommandOutcome(w.view, outcome, queue);
      if ((await delivery.activeSet(w.view)).compliance.length > 0) w.evaluate.add(outcome.deviceId);
      return followUps;
    },
    async onExchangeEnd(ctx) {
      const w = exchanges.get(ctx);
      if (!w) return [];
      const followUps: FollowUpCommand[] = [];
      const queue = collectingQueue(followUps);
      for (const deviceId of w.refresh) await refresh(w.view, deviceId, queue);
      for (const deviceId of w.evaluate) {
        if (!w.refresh.has(deviceId))
          await compliance.evaluate(w.view, await delivery.activeSet(w.view), deviceId, queue);
      }
      await w.view.flush();
      exchanges.delete(ctx);
      return followUps;
    },
    async reconcileAll(stores, queue) {
      const devices = await stores.devices.listDevices({ status: 'enrolled' });
      for (const device of devices) await refresh(stores, device.deviceId, queue);
      return devices.length;
    },
  };
}

const isEmpty = (set: ActiveSet) => set.policies.size === 0 && set.compliance.length === 0;
