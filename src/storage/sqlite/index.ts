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
import { createSqliteUserStore } from './users.js';

export function openSqliteStorage(options: OpenOptions): Storage {
  const handle = openSqlite(options);
  return {
    users: createSqliteUserStore(handle.db),
    devices: createSqliteDeviceStore(handle.db),
    certificates: createSqliteCertificateStore(handle.db),
    policies: createSqlitePolicyStore(handle.db),
    deviceSettings: createSqliteDeviceSettingStore(handle.db),
    compliance: createSqliteComplianceStore(handle.db),
    tokens: createSqliteTokenStore(handle.db),
    commands: createSqliteCommandQueue(handle.db),
    dmSessions: createSqliteDmSessionStore(handle.db),
    inventory: createSqliteInventoryStore(handle.db),
    events: createSqliteDeviceEventStore(handle.db),
    audit: createSqliteAuditLog(handle.db),
    close: () => handle.close(),
  };
}
