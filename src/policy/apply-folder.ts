// `mdm policy apply` and the server start share this: load and validate the whole folder, plan
// the changes per group against the stored set, and (unless a dry run) store the new versions.
// Nothing is stored when any file has an error.
import type { CatalogLookup } from '../catalog/types.js';
import type { Logger } from '../logger.js';
import type { PolicyChange, PolicyStore } from '../storage/policies.js';
import { formatIssue } from './errors.js';
import { folderIsValid, loadPolicyFolder, type PolicyFolder } from './folder.js';
import { activeSetOf, type GroupPlan, planChanges, readActiveSet, storeFolder } from './policy-set.js';

export interface ApplyFolderResult {
  readonly folder: PolicyFolder;
  readonly valid: boolean;
  readonly plan: readonly GroupPlan[];
  /** Set when the folder was stored (not a dry run, valid). */
  readonly stored?: {
    readonly revision: number;
    readonly created: boolean;
    readonly changes: readonly PolicyChange[];
  };
}

export async function applyPolicyFolder(
  store: PolicyStore,
  dir: string,
  options: { catalog: CatalogLookup; dryRun?: boolean; now?: Date },
): Promise<ApplyFolderResult> {
  const folder = await loadPolicyFolder(dir, { catalog: options.catalog });
  const valid = folderIsValid(folder);
  if (!valid) return { folder, valid, plan: [] };
  const current = await readActiveSet(store);
  const plan = planChanges(current, activeSetOf(folder));
  if (options.dryRun) return { folder, valid, plan };
  const stored = await storeFolder(store, folder, plan, options.now ?? new Date());
  return { folder, valid, plan, stored };
}

/** On server start: store the folder when it is valid and changed; otherwise keep the stored set. */
export async function loadPolicyFolderOnStart(
  store: PolicyStore,
  dir: string,
  catalog: CatalogLookup,
  logger: Logger,
): Promise<ApplyFolderResult | undefined> {
  const result = await applyPolicyFolder(store, dir, { catalog });
  if (!result.valid) {
    const missing = result.folder.issues.length === 1 && result.folder.issues[0]!.code === 'file-read';
    if (missing) logger.info({ policyDir: dir }, 'no policy folder; keeping the stored policies');
    else {
      logger.error(
        { policyDir: dir, issues: result.folder.issues.map(formatIssue) },
        'policy folder has errors; keeping the stored policies',
      );
    }
    return result;
  }
  if (result.stored?.created) {
    logger.info(
      { policyDir: dir, revision: result.stored.revision, changes: result.stored.changes },
      'policies stored',
    );
  }
  return result;
}
