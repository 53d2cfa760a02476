// Settings that cannot apply to a device are `not_applicable`, not failures: the OS is older than
// the node's minimum build, the edition is not in the node's allow list (DDF MSFT:Applicability),
// or the node is user-scoped and nobody is logged on (docs/protocol-notes.md#user-scope).
import { compareVersions, type DeviceProfile, editionId } from '../language/groups.js';
import type { SettingPlan } from '../language/types.js';

/** Why the setting does not apply to the device, or undefined when it does (or cannot be known). */
export function notApplicableReason(device: DeviceProfile, plan: SettingPlan): string | undefined {
  const app = plan.node.applicability;
  if (app?.minOsBuild && device.osVersion && compareVersions(device.osVersion, app.minOsBuild) < 0) {
    return `requires OS build ${app.minOsBuild} or later; device runs ${device.osVersion}`;
  }
  if (app?.editions && app.editions.length > 0 && device.edition) {
    const id = editionId(device.edition);
    const allowed = app.editions.map((e) => editionId(e) ?? e);
    if (id !== undefined && !allowed.includes(id)) {
      return `not available on edition ${device.edition} (allowed: ${app.editions.join(', ')})`;
    }
  }
  if (plan.scope === 'user' && device.userLoggedOn !== true) {
    return 'user-scoped setting and no user is logged on';
  }
  return undefined;
}
