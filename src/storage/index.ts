// Storage capability interfaces. Every interface is async so another backend (PostgreSQL) can
// implement it without touching callers; the SQLite backend lives in `sqlite/`. Each domain keeps
// its interface in its own module; `Storage` is the aggregate the services are built from.

import type { AuditLog } from './audit.js';
import type { CertificateStore } from './certificates.js';
import type { CommandQueue } from './commands.js';
import type { ComplianceStore } from './compliance.js';
import type { DeviceSettingStore } from './device-settings.js';
import type { DeviceStore } from './devices.js';
import type { DmSessionStore } from './dm-sessions.js';
import type { DeviceEventStore } from './events.js';
import type { InventoryStore } from './inventory.js';
import type { PolicyStore } from './policies.js';
import type { TokenStore } from './tokens.js';
import type { UserStore } from './users.js';

export interface Storage {
  readonly users: UserStore;
  readonly devices: DeviceStore;
  readonly certificates: CertificateStore;
  readonly policies: PolicyStore;
  readonly deviceSettings: DeviceSettingStore;
  readonly compliance: ComplianceStore;
  readonly tokens: TokenStore;
  readonly commands: CommandQueue;
  readonly dmSessions: DmSessionStore;
  readonly inventory: InventoryStore;
  readonly events: DeviceEventStore;
  readonly audit: AuditLog;
  /**
   * Runs `work` as one atomic unit: every storage write made inside it (through any store) commits
   * together, or none does if it throws. Storage calls from outside the unit wait until it ends.
   * Used for one OMA-DM exchange (session state, command outcomes and the hooks' writes).
   */
  unitOfWork<T>(work: () => Promise<T>): Promise<T>;
  close(): void;
}
