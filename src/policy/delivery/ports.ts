// The ports policy delivery works through: the session engine's command queue, the answers it hands
// back, and the stores an exchange's transaction (or the storage outside one) offers.
import type { CommandOrigin, DmCommand, DmContainerVerb, DmItemVerb } from '../../shared/dm-command.js';
import type { AppStore } from '../../storage/apps.js';
import type { AuditLog } from '../../storage/audit.js';
import type { CheckInStore } from '../../storage/checkins.js';
import type { CommandQueue } from '../../storage/commands.js';
import type { ComplianceStore } from '../../storage/compliance.js';
import type { DeviceSettingStore } from '../../storage/device-settings.js';
import type { DeviceStore } from '../../storage/devices.js';
import type { InventoryStore } from '../../storage/inventory.js';
import type { PolicyStore } from '../../storage/policies.js';
import type { ScepStore } from '../../storage/scep.js';
import type { WebhookOutbox } from '../../storage/webhooks.js';

/** Options a queued command carries (the session engine's queue implements this port). */
export interface EnqueueOptions {
  readonly origin: CommandOrigin;
  /** Correlation string handed back with every outcome of the command. */
  readonly tag: string;
  /** Higher is sent first. */
  readonly priority?: number;
  /** ISO time after which the command is dropped unsent. */
  readonly expiresAt?: string;
}

export interface CommandQueuePort {
  enqueue(deviceId: string, command: DmCommand, options: EnqueueOptions): Promise<void>;
}

/** One answer of the device to a queued command node, as delivery judges it (`answerOf` in ../hooks.ts). */
export interface CommandAnswer {
  readonly deviceId: string;
  readonly origin: CommandOrigin;
  readonly tag?: string;
  readonly verb: DmItemVerb | DmContainerVerb;
  /** Item LocURI the status refers to (TargetRef), needed for commands inside an Atomic. */
  readonly target?: string;
  /** Device status code; null = the command expired or ran out of attempts unacknowledged. */
  readonly code: number | null;
  /** Results Data of a Get. */
  readonly data?: string;
}

/** What delivery reads and writes: an exchange's view of its transaction, or the storage outside one. */
export interface DeliveryStores {
  readonly policies: Pick<PolicyStore, 'currentRevision' | 'currentPolicySet'>;
  readonly deviceSettings: Pick<
    DeviceSettingStore,
    'listDeviceSettings' | 'getDeviceSetting' | 'saveDeviceSettings'
  >;
  readonly compliance: Pick<ComplianceStore, 'getFacts' | 'recordFacts' | 'getCompliance' | 'saveCompliance'>;
  readonly devices: Pick<DeviceStore, 'getDevice' | 'listDevices'>;
  readonly inventory: Pick<InventoryStore, 'list'>;
  readonly checkIns: Pick<CheckInStore, 'get'>;
  /** The session engine's queue: commands it gave up on (never acknowledged, expired). */
  readonly commands?: Pick<CommandQueue, 'listForDevice'>;
  /** App deployment records (src/policy/apps/delivery.ts); written straight through. */
  readonly apps?: Pick<AppStore, 'listDeviceApps' | 'saveDeviceApps'>;
  /** The webhook outbox: compliance `notify: {webhook}` notices, written with the change. */
  readonly webhooks?: Pick<WebhookOutbox, 'enqueue'>;
  /**
   * Certificate profile records, challenges and issued certificates
   * (src/policy/delivery/certificate-profiles.ts); written straight through.
   */
  readonly scep?: Pick<
    ScepStore,
    | 'listDeviceProfiles'
    | 'saveDeviceProfiles'
    | 'createChallenge'
    | 'listCertificates'
    | 'findCertificate'
    | 'revokeCertificate'
  >;
  /** The audit log (revocations on profile removal). */
  readonly audit?: Pick<AuditLog, 'record'>;
}
