// Policy delivery and compliance as the server runs them: the session engine gets the hooks that
// deliver, verify and evaluate at every check-in, and the policy folder is stored (when valid and
// changed) once the database is reachable. Built by the composition root (src/main.ts).
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { defaultCatalog } from '../catalog/catalog.js';
import type { CatalogLookup } from '../catalog/types.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Storage } from '../storage/index.js';
import { loadPolicyFolderOnStart } from './delivery/apply-folder.js';
import { createPolicyHooks, type PolicyHooks, type PolicyHooksOptions } from './hooks.js';

export interface PolicyRuntime {
  /** Pass to the session engine (`AppDeps.dmHooks`). */
  readonly dmHooks: Pick<PolicyHooks, 'onCheckIn' | 'onCommandOutcome' | 'onExchangeEnd'>;
  readonly hooks: PolicyHooks;
  /** Stores the policy folder when it is valid and changed (server start). */
  loadFolder(): Promise<void>;
}

export function createPolicyRuntime(options: {
  config: Pick<Config, 'policyDir' | 'complianceRefreshMinutes'> &
    Partial<Pick<Config, 'publicUrl' | 'scepChallengeTtlMinutes'>>;
  /** The public URL once the listener is bound (port 0); default `config.publicUrl`. */
  publicUrl?: () => string;
  storage: Pick<Storage, 'policies' | 'apps'>;
  logger: Logger;
  catalog?: CatalogLookup;
  now?: () => Date;
  /** Server-side `{{variable}}` values per device (SCEP URL, CA thumbprint, issued certificates). */
  templateValues?: PolicyHooksOptions['templateValues'];
  /** Webhook events of setting and compliance changes. */
  events?: PolicyHooksOptions['events'];
}): PolicyRuntime {
  const { storage, logger } = options;
  const dir = resolve(options.config.policyDir);
  const hooks = createPolicyHooks({
    logger,
    factRefreshMs: options.config.complianceRefreshMinutes * 60_000,
    ...(options.publicUrl
      ? { publicUrl: options.publicUrl }
      : options.config.publicUrl
        ? { publicUrl: options.config.publicUrl }
        : {}),
    ...(options.now ? { now: options.now } : {}),
    ...(options.templateValues ? { templateValues: options.templateValues } : {}),
    ...(options.events ? { events: options.events } : {}),
    ...(options.config.scepChallengeTtlMinutes
      ? { scepChallengeTtlMinutes: options.config.scepChallengeTtlMinutes }
      : {}),
  });
  return {
    hooks,
    dmHooks: {
      onCheckIn: hooks.onCheckIn,
      onCommandOutcome: hooks.onCommandOutcome,
      onExchangeEnd: hooks.onExchangeEnd,
    },
    async loadFolder() {
      if (!existsSync(dir)) {
        logger.info({ policyDir: dir }, 'no policy folder; delivering the stored policies');
        return;
      }
      await loadPolicyFolderOnStart(
        storage.policies,
        dir,
        options.catalog ?? defaultCatalog(),
        logger,
        storage.apps,
      );
    },
  };
}
