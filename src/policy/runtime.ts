// Policy delivery and compliance as the server runs them: the policy folder is loaded (and stored
// when valid and changed) at start, and the session engine gets the hooks that deliver, verify and
// evaluate at every check-in. Built by the composition root (src/main.ts).
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { defaultCatalog } from '../catalog/catalog.js';
import type { CatalogLookup } from '../catalog/types.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Storage } from '../storage/index.js';
import { loadPolicyFolderOnStart } from './apply-folder.js';
import { createPolicyHooks, type PolicyHooks } from './hooks.js';

export interface PolicyRuntime {
  /** Pass to the session engine (`AppDeps.dmHooks`). */
  readonly dmHooks: Pick<PolicyHooks, 'onCheckIn' | 'onCommandOutcome'>;
  readonly hooks: PolicyHooks;
}

export async function createPolicyRuntime(options: {
  config: Pick<Config, 'policyDir' | 'complianceRefreshMinutes'>;
  storage: Storage;
  logger: Logger;
  catalog?: CatalogLookup;
  now?: () => Date;
}): Promise<PolicyRuntime> {
  const { storage, logger } = options;
  const dir = resolve(options.config.policyDir);
  if (existsSync(dir)) {
    await loadPolicyFolderOnStart(storage.policies, dir, options.catalog ?? defaultCatalog(), logger);
  } else {
    logger.info({ policyDir: dir }, 'no policy folder; delivering the stored policies');
  }
  const hooks = createPolicyHooks({
    stores: storage,
    logger,
    factRefreshMs: options.config.complianceRefreshMinutes * 60_000,
    ...(options.now ? { now: options.now } : {}),
  });
  return { hooks, dmHooks: { onCheckIn: hooks.onCheckIn, onCommandOutcome: hooks.onCommandOutcome } };
}
