// The documented example folder stays valid and means what the README says.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { defaultCatalog } from '../../src/catalog/catalog.js';
import { activeSetOf, EMPTY_SET, formatPlan, planChanges } from '../../src/policy/delivery/policy-set.js';
import { loadPolicyFolder } from '../../src/policy/language/folder.js';

describe('examples/policy-folder', () => {
  it('validates and plans per group', async () => {
    const dir = fileURLToPath(new URL('../../examples/policy-folder', import.meta.url));
    const folder = await loadPolicyFolder(dir, { catalog: defaultCatalog() });
    expect(folder.issues).toEqual([]);
    expect(folder.policies.map((p) => p.name)).toEqual(['camera-off', 'screen-lock', 'start-menu']);
    expect(folder.compliance.map((r) => [r.name, r.gracePeriod])).toEqual([
      ['baseline', 72 * 3_600_000],
      ['kiosk-settings', 0],
    ]);
    const plan = formatPlan(planChanges(EMPTY_SET, activeSetOf(folder)));
    expect(plan).toContain(
      'group kiosks:\n  + ./Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera = 0 (camera-off)',
    );
    expect(plan).toContain(
      'group all:\n  + ./User/Vendor/MSFT/Policy/Config/Start/HideAppList = 1 (start-menu)',
    );
  });
});
