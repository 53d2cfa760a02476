// Builds compiled setting plans the way the policy compiler does (Add first, Replace later,
// Get of the Policy CSP Result node, Delete), for tests that do not need the YAML front end.
import type { CatalogNode } from '../../src/catalog/types.js';
import type { CompiledPolicy, SettingPlan } from '../../src/policy/language/types.js';
import type { DmFormat } from '../../src/shared/dm-command.js';

export function plan(
  path: string,
  value: string,
  format: DmFormat = 'int',
  node: Partial<CatalogNode> = {},
): SettingPlan {
  const item = { target: path, format, type: 'text/plain', data: value };
  const verifyPath = path.replace('/Policy/Config/', '/Policy/Result/');
  const scope = path.startsWith('./User/') ? 'user' : 'device';
  return {
    path,
    scope,
    value,
    format,
    type: 'text/plain',
    node: {
      path,
      csp: 'Policy',
      scope,
      format,
      access: ['Add', 'Delete', 'Get', 'Replace'],
      source: 'Policy.xml',
      ...node,
    },
    apply: { first: { verb: 'Add', items: [item] }, update: { verb: 'Replace', items: [item] } },
    verifyPath,
    verify: { verb: 'Get', items: [{ target: verifyPath }] },
    remove:
      node.access && !node.access.includes('Delete')
        ? undefined
        : { verb: 'Delete', items: [{ target: path }] },
  };
}

export function policy(name: string, settings: SettingPlan[], atomic = false): CompiledPolicy {
  return { name, file: `${name}.yaml`, settings, atomic };
}

export const CAMERA = './Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera';
export const DEVLOCK = './Device/Vendor/MSFT/Policy/Config/DeviceLock/DevicePasswordEnabled';
export const USER_POLICY = './User/Vendor/MSFT/Policy/Config/Start/HideAppList';
