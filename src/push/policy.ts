// A new policy revision wakes the devices it changes something for: a device whose targeted
// policies (by name and content) or the set's conflict resolutions differ between the two sets.
import { enrolledDeviceProfiles } from '../policy/delivery/apply-folder.js';
import { type ActiveSet, readActiveSet } from '../policy/delivery/policy-set.js';
import type { DeliveryStores } from '../policy/delivery/settings.js';
import { indexGroups, targetedPolicies } from '../policy/delivery/targeting.js';
import { policyHash } from '../policy/language/folder.js';
import type { DeviceProfile } from '../policy/language/groups.js';
import type { PushService } from './service.js';

function targetedVersions(set: ActiveSet, device: DeviceProfile): string {
  const groups = indexGroups(set.assignments.groups);
  return targetedPolicies(device, set.assignments.assignments, groups)
    .map((name) => {
      const policy = set.policies.get(name);
      return `${name}@${policy ? policyHash(policy) : '-'}`;
    })
    .join('\n');
}

export function devicesAffected(
  before: ActiveSet,
  after: ActiveSet,
  devices: readonly DeviceProfile[],
): string[] {
  const resolutionsChanged =
    JSON.stringify(before.assignments.resolutions) !== JSON.stringify(after.assignments.resolutions);
  return devices
    .filter((d) => {
      const a = targetedVersions(before, d);
      const b = targetedVersions(after, d);
      return a !== b || (resolutionsChanged && b !== '');
    })
    .map((d) => d.id);
}

/**
 * Call with the set in force before a policy apply: when the apply created a revision, pushes to
 * every enrolled device it affects. Returns those device ids.
 */
export async function pushPolicyRevision(
  push: Pick<PushService, 'enabled' | 'notifyChanged'>,
  stores: DeliveryStores,
  before: ActiveSet,
): Promise<string[]> {
  if (!push.enabled) return [];
  const after = await readActiveSet(stores.policies);
  if (after.revision === before.revision) return [];
  const ids = devicesAffected(before, after, await enrolledDeviceProfiles(stores));
  await push.notifyChanged(ids, `policy revision ${after.revision}`);
  return ids;
}
