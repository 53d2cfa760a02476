// Storage capability interfaces. Every interface is async; the stores are written once in shared
// SQL (`sql/`) and run on SQLite (`sqlite/`, the zero-config default) or PostgreSQL (`postgres/`,
// several server instances on one database). `Storage` is the aggregate the services are built from.
//
// Transactions are explicit: `storage.transaction(async (tx) => …)` hands the work a `Storage` whose
// every call runs inside that one transaction, on its connection; it commits when the work resolves
// and rolls back when it throws. Work inside a transaction does no network I/O and never calls the
// outer `storage` (that call would wait for the transaction it is part of).
import type { AdminAccountStore } from './admins.js';
import type { AppStore } from './apps.js';
import type { AuditLog } from './audit.js';
import type { CertificateStore } from './certificates.js';
import type { CheckInStore } from './checkins.js';
import type { CommandQueue } from './commands.js';
import type { ComplianceStore } from './compliance.js';
import type { DeviceSettingStore } from './device-settings.js';
import type { DeviceStore } from './devices.js';
import type { DmSessionStore } from './dm-sessions.js';
import type { DeviceEventStore } from './events.js';
import type { InventoryStore } from './inventory.js';
import type { PolicyStore } from './policies.js';
import type { PushStore } from './push.js';
import type { ScepStore } from './scep.js';
import type { SignInTokenStore } from './signin-tokens.js';
import type { LoginThrottleStore } from './throttle.js';
import type { TokenStore } from './tokens.js';
import type { UserStore } from './users.js';
import type { WebhookOutbox } from './webhooks.js';

export type StorageBackend = 'sqlite' | 'postgres';

export interface Stores {
  readonly users: UserStore;
  readonly devices: DeviceStore;
  readonly certificates: CertificateStore;
  readonly policies: PolicyStore;
  readonly deviceSettings: DeviceSettingStore;
  readonly compliance: ComplianceStore;
  readonly checkIns: CheckInStore;
  readonly tokens: TokenStore;
  readonly commands: CommandQueue;
  readonly dmSessions: DmSessionStore;
  readonly inventory: InventoryStore;
  readonly events: DeviceEventStore;
  readonly audit: AuditLog;
  readonly loginThrottle: LoginThrottleStore;
  readonly admins: AdminAccountStore;
  readonly apps: AppStore;
  readonly webhooks: WebhookOutbox;
  readonly push: PushStore;
  readonly signInTokens: SignInTokenStore;
  readonly scep: ScepStore;
}

export interface Storage extends Stores {
  readonly backend: StorageBackend;
  /**
   * Runs `work` in one transaction. Inside a transaction this opens a nested one (a savepoint):
   * its writes are undone alone when it throws.
   */
  transaction<T>(work: (tx: Storage) => Promise<T>): Promise<T>;
  /**
   * Inside a transaction: takes the fleet-wide lock `name` until the transaction ends, or returns
   * false at once when another server instance holds it (background jobs run once across all
   * instances). SQLite serves one server process, so there it is always true.
   */
  tryJobLock(name: string): Promise<boolean>;
  /** Is the database reachable, with every migration applied? (`/readyz`) */
  ready(): Promise<boolean>;
  close(): Promise<void>;
}
