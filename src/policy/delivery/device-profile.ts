// The device as targeting and `{{variables}}` see it: its enrollment record, the values it
// reported, and the LoginStatus of its session.
import { userLoggedOn } from '../../storage/checkins.js';
import { FACT_PATHS } from '../compliance/rules.js';
import type { DeviceProfile } from '../language/groups.js';
import type { TemplateContext } from '../language/templates.js';
import type { DeliveryStores } from './ports.js';

/**
 * The last value the device reported per node: the session engine's inventory, overlaid with
 * the facts delivery/compliance recorded themselves (newer wins; an error status clears it).
 */
export async function reportedValues(stores: DeliveryStores, deviceId: string): Promise<Map<string, string>> {
  const values = new Map<string, { value: string | null; at: string }>();
  for (const e of await stores.inventory.list(deviceId))
    values.set(e.locUri, { value: e.value, at: e.reportedAt });
  for (const f of await stores.compliance.getFacts(deviceId)) {
    const prev = values.get(f.path);
    if (!prev || prev.at <= f.reportedAt) values.set(f.path, { value: f.value, at: f.reportedAt });
  }
  const out = new Map<string, string>();
  for (const [path, v] of values) if (v.value !== null) out.set(path, v.value);
  return out;
}

/**
 * Server-side values of `{{variables}}` for a device, read through `stores` (the exchange's
 * transaction) when given.
 */
export type TemplateValues = (
  profile: DeviceProfile,
  stores?: Pick<DeliveryStores, 'scep'>,
) => Promise<Partial<TemplateContext>>;

/** Every `{{variable}}` value of one device: its profile's, and the server's (`templateValues`). */
export async function templateContextOf(
  profile: DeviceProfile,
  templateValues: TemplateValues | undefined,
  stores?: Pick<DeliveryStores, 'scep'>,
): Promise<TemplateContext> {
  const server = templateValues ? await templateValues(profile, stores) : {};
  return {
    ...server,
    device: {
      id: profile.id,
      ...(profile.name ? { name: profile.name } : {}),
      ...(profile.serial ? { serial: profile.serial } : {}),
    },
    ...(profile.user ? { user: { upn: profile.user } } : {}),
  };
}

/** DevDetail nodes behind `{{device.name}}` and `{{device.serial}}` (DevDetail CSP). */
const DEVICE_NAME_PATH = './DevDetail/Ext/Microsoft/DNSComputerName';
const DEVICE_SERIAL_PATH = './DevDetail/Ext/Microsoft/SMBIOSSerialNumber';

/**
 * The device as targeting sees it: enrollment record, reported inventory facts, and the LoginStatus
 * of the current session (`loginStatus`, at check-in) or else of its last one.
 */
export async function deviceProfile(
  stores: DeliveryStores,
  deviceId: string,
  loginStatus?: string,
): Promise<DeviceProfile | undefined> {
  const device = await stores.devices.getDevice(deviceId);
  if (!device) return undefined;
  const facts = await reportedValues(stores, deviceId);
  const checkin = loginStatus !== undefined ? { loginStatus } : await stores.checkIns.get(deviceId);
  const opt = <K extends string>(k: K, v: string | null | undefined) => (v ? { [k]: v } : {});
  return {
    id: deviceId,
    ...opt('user', device.userUpn),
    ...opt('edition', facts.get(FACT_PATHS.osEdition) ?? device.osEdition),
    ...opt('osVersion', facts.get(FACT_PATHS.osVersion) ?? device.osVersion),
    ...opt('model', facts.get(FACT_PATHS.model) ?? device.deviceType),
    ...opt('name', facts.get(DEVICE_NAME_PATH)),
    ...opt('serial', facts.get(DEVICE_SERIAL_PATH)),
    userLoggedOn: userLoggedOn(checkin),
  };
}
