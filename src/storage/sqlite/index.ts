// The SQLite implementation of `Storage`.
import type { Storage } from '../index.js';
import { createSqliteAuditLog } from './audit.js';
import { createSqliteCertificateStore } from './certificates.js';
import { createSqliteCommandQueue } from './commands.js';
import { createSqliteComplianceStore } from './compliance.js';
import { type OpenOptions, openSqlite } from './database.js';
import { createSqliteDeviceSettingStore } from './device-settings.js';
import { createSqliteDeviceStore } from './devices.js';
import { createSqliteDmSessionStore } from './dm-sessions.js';
import { createSqliteDeviceEventStore, createSqliteInventoryStore } from './inventory.js';
import { createSqlitePolicyStore } from './policies.js';
import { createSqliteTokenStore } from './tokens.js';
import { createUnitOfWorkGate } from './unit-of-work.js';
import { createSqliteUserStore } from './users.js';

export function openSqliteStorage(options: OpenOptions): Storage {
  const handle = openSqlite(options);
  const gate = createUnitOfWorkGate(handle.db);
  return {
    users: gate.guard(createSqliteUserStore(handle.db)),
    devices: gate.guard(createSqliteDeviceStore(handle.db)),
    certificates: gate.guard(createSqliteCertificateStore(handle.db)),
    policies: gate.guard(createSqlitePolicyStore(handle.db)),
    deviceSettings: gate.guard(createSqliteDeviceSettingStore(handle.db)),
    compliance: gate.guard(createSqliteComplianceStore(handle.db)),
    tokens: gate.guard(createSqliteTokenStore(handle.db)),
    commands: gate.guard(createSqliteCommandQueue(handle.db)),
    dmSessions: gate.guard(createSqliteDmSessionStore(handle.db)),
    inventory: gate.guard(createSqliteInventoryStore(handle.db)),
    events: gate.guard(createSqliteDeviceEventStore(handle.db)),
    audit: gate.guard(createSqliteAuditLog(handle.db)),
    unitOfWork: (work) => gate.unitOfWork(work),
    close: () => handle.close(),
  };
}
