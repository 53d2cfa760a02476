// Every store over one executor: the backend's autocommit executor for the `Storage` itself, or a
// transaction's executor for the `tx` handed to `Storage.transaction` work.
import type { Storage, Stores } from '../index.js';
import { sqlAdminAccountStore } from './admins.js';
import { sqlAppStore } from './apps.js';
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
import { sqlPushStore } from './push.js';
import { sqlScepStore } from './scep.js';
import { sqlSignInTokenStore } from './signin-tokens.js';
import { sqlLoginThrottleStore } from './throttle.js';
import { sqlTokenStore } from './tokens.js';
import { sqlUserStore } from './users.js';
import { sqlWebhookOutbox } from './webhooks.js';

const FACTORIES: { readonly [K in keyof Stores]: (db: SqlExecutor) => Stores[K] } = {
  users: sqlUserStore,
  devices: sqlDeviceStore,
  certificates: sqlCertificateStore,
  policies: sqlPolicyStore,
  deviceSettings: sqlDeviceSettingStore,
  compliance: sqlComplianceStore,
  checkIns: sqlCheckInStore,
  tokens: sqlTokenStore,
  commands: sqlCommandQueue,
  dmSessions: sqlDmSessionStore,
  inventory: sqlInventoryStore,
  events: sqlDeviceEventStore,
  audit: sqlAuditLog,
  loginThrottle: sqlLoginThrottleStore,
  admins: sqlAdminAccountStore,
  apps: sqlAppStore,
  webhooks: sqlWebhookOutbox,
  push: sqlPushStore,
  signInTokens: sqlSignInTokenStore,
  scep: sqlScepStore,
};

/**
 * Adds every store over `db` to `target`, each built on first use (an exchange's transaction
 * touches a few of them; building every one of them for each is wasted work on the hot path).
 */
export function withSqlStores(target: Omit<Storage, keyof Stores>, db: SqlExecutor): Storage {
  for (const key of Object.keys(FACTORIES) as (keyof Stores)[]) {
    Object.defineProperty(target, key, {
      enumerable: true,
      configurable: true,
      get() {
        const store = FACTORIES[key](db);
        Object.defineProperty(target, key, { value: store, enumerable: true });
        return store;
      },
    });
  }
  return target as Storage;
}
