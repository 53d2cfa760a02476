// What the session engine calls (wired in the composition root, src/main.ts): at every check-in
// and for every Status/Results of a queued command (`DmHooks` in src/dm/hooks.ts, matched
// structurally so policy code never imports the session engine). Whatever the hooks queue is
// committed with the exchange and sent in the same session.
//
// Transaction boundary: the session engine runs each exchange in one storage unit of work
// (`Storage.unitOfWork`), so the hooks' own records (setting states, compliance facts and records,
// check-in and outcome counters) commit in the same SQLite transaction as the session state and
// the commands they queue, or are rolled back with them when the exchange fails. Webhook
// notifications are sent without waiting and are not undone. As a safety net (a command that
// expired or was cancelled), a setting left `pending`/`sent`/`applied`/`removing` with no command
// that could answer for it has its command queued again at the next check-in (`resendOrphans`).
import type { Logger } from '../logger.js';
import type { CommandOrigin, DmCommand } from '../shared/dm-command.js';
import type { CommandQueue } from '../storage/commands.js';
import {
  type ComplianceService,
  createComplianceService,
  remediationPolicies,
  type WebhookSender,
} from './compliance-service.js';
import {
  type CommandOutcome,
  type CommandQueuePort,
  createDeliveryService,
  type DeliveryService,
  type DeliveryStores,
  deviceProfile,
} from './delivery.js';
import type { DeviceProfile } from './groups.js';

/** The session engine's check-in (src/dm/hooks.ts `CheckIn`). */
export interface CheckInInfo {
  readonly deviceId: string;
  /** LoginStatus alert value of this session (`user`, `others`, `none`). */
  readonly loginStatus?: string;
}

/** The session engine's per-node answer (src/dm/hooks.ts `CommandOutcome`). */
export interface EngineOutcome {
  readonly deviceId: string;
  readonly origin: CommandOrigin;
  readonly tag?: string;
  readonly verb: string;
  readonly targets: readonly string[];
  readonly statusCode?: number;
  readonly results: readonly { readonly data?: string }[];
}

/** The session engine's hook context: enqueue within the exchange's transaction. */
export interface EngineContext {
  enqueue(command: {
    command: DmCommand;
    origin: CommandOrigin;
    tag?: string;
    priority?: number;
    expiresAt?: string;
  }): string;
}

export interface PolicyHooks {
  onCheckIn(checkIn: CheckInInfo, ctx: EngineContext): Promise<void>;
  onCommandOutcome(outcome: EngineOutcome, ctx: EngineContext): Promise<void>;
  /** Evaluate and reconcile every enrolled device, queueing through `queue` (after `mdm policy apply`, on start). */
  reconcileAll(queue: CommandQueuePort): Promise<number>;
  readonly delivery: DeliveryService;
  readonly compliance: ComplianceService;
}

export interface PolicyHooksOptions {
  readonly stores: DeliveryStores;
  readonly logger: Logger;
  readonly now?: () => Date;
  readonly factRefreshMs?: number;
  readonly sendWebhook?: WebhookSender;
}

const outcomeClass = (code: number | null) =>
  code === null ? 'none' : code < 300 ? '2xx' : code < 500 ? '4xx' : '5xx';

/** Queue port over the session engine's in-exchange context. */
export function contextQueue(ctx: EngineContext): CommandQueuePort {
  return {
    async enqueue(_deviceId, command, options) {
      ctx.enqueue({ command, ...options });
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

/** One engine answer as delivery sees it: Results imply success; the first item carries the value. */
export function toOutcome(o: EngineOutcome): CommandOutcome {
  const hasResults = o.results.length > 0;
  const code = o.statusCode ?? (hasResults ? 200 : null);
  return {
    deviceId: o.deviceId,
    origin: o.origin,
    ...(o.tag !== undefined ? { tag: o.tag } : {}),
    verb: o.verb as CommandOutcome['verb'],
    ...(o.targets[0] !== undefined ? { target: o.targets[0] } : {}),
    code,
    ...(hasResults ? { data: o.results[0]?.data ?? '' } : {}),
  };
}

export function createPolicyHooks(options: PolicyHooksOptions): PolicyHooks {
  const { stores } = options;
  const now = options.now ?? (() => new Date());
  const delivery = createDeliveryService(options);
  const compliance = createComplianceService(options);

  async function refresh(deviceId: string, queue: CommandQueuePort, profile?: DeviceProfile) {
    const set = await delivery.activeSet();
    const known = profile ?? (await deviceProfile(stores, deviceId));
    const record = await compliance.evaluate(set, deviceId, queue, known);
    await delivery.reconcileDevice(deviceId, queue, remediationPolicies(set, record), known);
  }

  return {
    delivery,
    compliance,
    async onCheckIn(checkIn, ctx) {
      const queue = contextQueue(ctx);
      await stores.compliance.recordCheckin(
        checkIn.deviceId,
        now().toISOString(),
        checkIn.loginStatus === 'user',
      );
      await delivery.syncWithQueue(checkIn.deviceId, queue);
      const profile = await deviceProfile(stores, checkIn.deviceId);
      await compliance.requestFacts(await delivery.activeSet(), checkIn.deviceId, queue, profile);
      await refresh(checkIn.deviceId, queue, profile);
    },
    async onCommandOutcome(engineOutcome, ctx) {
      const outcome = toOutcome(engineOutcome);
      const queue = contextQueue(ctx);
      if (engineOutcome.statusCode !== undefined && outcome.origin !== 'inventory') {
        await stores.compliance.countOutcome(outcome.origin, outcome.verb, outcomeClass(outcome.code));
      }
      const fact = await compliance.recordFact(outcome);
      if (fact !== 'none') {
        // Re-evaluate (and re-target: remediation, OS version groups) only when a fact changed.
        if (fact === 'changed') await refresh(outcome.deviceId, queue);
        return;
      }
      if (outcome.origin !== 'policy') return;
      await delivery.onCommandOutcome(outcome, queue);
      const set = await delivery.activeSet();
      if (set.compliance.length > 0) await compliance.evaluate(set, outcome.deviceId, queue);
    },
    async reconcileAll(queue) {
      const devices = await stores.devices.listDevices({ status: 'enrolled' });
      for (const device of devices) await refresh(device.deviceId, queue);
      return devices.length;
    },
  };
}
