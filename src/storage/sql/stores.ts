// Every store over one executor: the backend's autocommit executor for the `Storage` itself, or a
// transaction's executor for the `tx` handed to `Storage.transaction` work.
import type { Stores } from '../index.js';
import { sqlAuditLog } from './audit.js';
import { sqlCertificateStore } from './certificates.js';
import type { SqlExecutor } from './client.js';
import { sqlCommandQueue } from './commands.js';
import { sqlComplianceStore } from './compliance.js';
import { sqlDeviceSettingStore } from './device-settings.js';
import { sqlDeviceStore } from './devices.js';
import { sqlDmSessionStore } from './dm-sessions.js';
import { sqlCheckInStore, sqlDeviceEventStore, sqlInventoryStore } from './inventory.js';
import { sqlPolicyStore } from './policies.js';
import { sqlLoginThrottleStore } from './throttle.js';
import { sqlTokenStore } from './tokens.js';
import { sqlUserStore } from './users.js';

export function sqlStores(db: SqlExecutor): Stores {
  return {
    users: sqlUserStore(db),
    devices: sqlDeviceStore(db),
    certificates: sqlCertificateStore(db),
    policies: sqlPolicyStore(db),
    deviceSettings: sqlDeviceSettingStore(db),
    compliance: sqlComplianceStore(db),
    checkIns: sqlCheckInStore(db),
    tokens: sqlTokenStore(db),
    commands: sqlCommandQueue(db),
    dmSessions: sqlDmSessionStore(db),
    inventory: sqlInventoryStore(db),
    events: sqlDeviceEventStore(db),
    audit: sqlAuditLog(db),
    loginThrottle: sqlLoginThrottleStore(db),
  };
}
