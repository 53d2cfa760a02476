// `mdm policy apply` and the server start share this: load and validate the whole folder, plan
// the changes per group against the stored set, and (unless a dry run) store the new versions.
// Nothing is stored when any file has an error.
import type { CatalogLookup } from '../../catalog/types.js';
import type { Logger } from '../../logger.js';
import type { AppStore } from '../../storage/apps.js';
import type { PolicyChange, PolicyStore } from '../../storage/policies.js';
import { storeHostedFiles } from '../apps/hosting.js';
import { formatIssue } from '../language/errors.js';
import type { FileSource } from '../language/file-source.js';
import { folderIsValid, loadPolicyFolder, type PolicyFolder } from '../language/folder.js';
import type { DeviceProfile } from '../language/groups.js';
import {
  activeSetOf,
  type GroupPlan,
  planChanges,
  readActiveSet,
  storeFolder,
  withGroupSizes,
} from './policy-set.js';
import { type DeliveryStores, deviceProfile } from './settings.js';

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

export interface ApplyFolderOptions {
  readonly catalog: CatalogLookup;
  readonly dryRun?: boolean;
  readonly now?: Date;
  /** The enrolled devices as targeting sees them: the plan then shows how many each group has. */
  readonly devices?: readonly DeviceProfile[];
  /** Where the local app packages the policies reference are stored (required when there are any). */
  readonly content?: Pick<AppStore, 'putContent' | 'hasContent'>;
  /** Where the folder's files are (default: the disk at `dir`); a bundle's files for the admin API. */
  readonly source?: FileSource;
}

export async function applyPolicyFolder(
  store: PolicyStore,
  dir: string,
  options: ApplyFolderOptions,
): Promise<ApplyFolderResult> {
  const folder = await loadPolicyFolder(dir, {
    catalog: options.catalog,
    ...(options.source && { source: options.source }),
  });
  const valid = folderIsValid(folder);
  if (!valid) return { folder, valid, plan: [] };
  const current = await readActiveSet(store);
  const next = activeSetOf(folder);
  const changes = planChanges(current, next);
  const plan = options.devices ? withGroupSizes(changes, current, next, options.devices) : changes;
  if (options.dryRun) return { folder, valid, plan };
  const hosted = folder.hosted ?? [];
  if (hosted.length > 0) {
    if (!options.content)
      throw new Error('the policy folder has app packages but no content store was given');
    const source = options.source;
    await storeHostedFiles(
      options.content,
      hosted,
      options.now ?? new Date(),
      ...(source ? [(path: string) => source.read(path)] : []),
    );
  }
  const stored = await storeFolder(store, folder, plan, options.now ?? new Date());
  return { folder, valid, plan, stored };
}

/** Every enrolled device as targeting sees it (enrollment record, reported facts, last check-in). */
export async function enrolledDeviceProfiles(stores: DeliveryStores): Promise<DeviceProfile[]> {
  const profiles: DeviceProfile[] = [];
  for (const d of await stores.devices.listDevices({ status: 'enrolled' })) {
    const profile = await deviceProfile(stores, d.deviceId);
    if (profile) profiles.push(profile);
  }
  return profiles;
}

/** On server start: store the folder when it is valid and changed; otherwise keep the stored set. */
export async function loadPolicyFolderOnStart(
  store: PolicyStore,
  dir: string,
  catalog: CatalogLookup,
  logger: Logger,
  content?: Pick<AppStore, 'putContent' | 'hasContent'>,
): Promise<ApplyFolderResult | undefined> {
  const result = await applyPolicyFolder(store, dir, { catalog, ...(content ? { content } : {}) });
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
  const warnings = result.folder.issues.filter((i) => i.severity === 'warning');
  if (warnings.length > 0) {
    logger.warn({ policyDir: dir, issues: warnings.map(formatIssue) }, 'policy folder has warnings');
  }
  if (result.stored?.created) {
    logger.info(
      { policyDir: dir, revision: result.stored.revision, changes: result.stored.changes },
      'policies stored',
    );
  }
  return result;
}
