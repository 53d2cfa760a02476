// Device groups for targeting: explicit members (device IDs, users) and attribute rules (OS
// edition, OS version range, model). Pure functions over a device profile.

/** What targeting knows about a device (from enrollment, DevInfo/DevDetail and the last check-in). */
export interface DeviceProfile {
  readonly id: string;
  /** Enrolled user (UPN), when the enrollment carried one. */
  readonly user?: string;
  /** OS edition: a product-type id (`4`, `48`) or a name (`Enterprise`, `Pro`). */
  readonly edition?: string;
  /** OS version `Major.Minor.Build.QFE` (DevDetail/SwV, docs/protocol-notes.md#csps). */
  readonly osVersion?: string;
  /** Model (DevInfo/Mod). */
  readonly model?: string;
  /** Computer name (DevDetail/Ext/Microsoft/DNSComputerName), for `{{device.name}}`. */
  readonly name?: string;
  /** SMBIOS serial number (DevDetail/Ext/Microsoft/SMBIOSSerialNumber), for `{{device.serial}}`. */
  readonly serial?: string;
  /** True when the last check-in reported LoginStatus `user` (docs/protocol-notes.md#user-scope). */
  readonly userLoggedOn?: boolean;
}

/** All fields present must match (AND); list fields match when any entry matches (OR). */
export interface GroupRule {
  readonly editions?: readonly string[];
  readonly osVersion?: { readonly min?: string; readonly max?: string };
  /** Model patterns; `*` matches any run of characters, case-insensitive. */
  readonly models?: readonly string[];
  readonly users?: readonly string[];
}

/** A device is a member when it is listed, its user is listed, or any rule matches. */
export interface GroupDefinition {
  readonly name: string;
  readonly devices?: readonly string[];
  readonly users?: readonly string[];
  readonly rules?: readonly GroupRule[];
}

/** Windows product-type ids (GetProductInfo), the values DDF `EditionAllowList` uses. */
export const EDITION_IDS = {
  home: '101',
  core: '101',
  pro: '48',
  professional: '48',
  enterprise: '4',
  education: '121',
  proeducation: '164',
  professionaleducation: '164',
  proworkstation: '161',
  professionalworkstation: '161',
  enterprises: '125',
  ltsc: '125',
  iotenterprise: '188',
} as const satisfies Record<string, string>;

/** Product-type id for an edition written as an id, a name, or `Windows 11 Enterprise`. */
export function editionId(edition: string): string | undefined {
  const t = edition.trim();
  if (/^\d+$/.test(t)) return String(Number(t));
  if (/^0x[0-9a-f]+$/i.test(t)) return String(Number.parseInt(t, 16));
  const key = t
    .toLowerCase()
    .replace(/^windows\s*(10|11)?\s*/, '')
    .replace(/[\s_-]+/g, '');
  return (EDITION_IDS as Record<string, string>)[key];
}

export function editionMatches(deviceEdition: string | undefined, wanted: readonly string[]): boolean {
  if (!deviceEdition) return false;
  const id = editionId(deviceEdition);
  return wanted.some((w) => {
    const wid = editionId(w);
    return wid !== undefined ? wid === id : w.toLowerCase() === deviceEdition.toLowerCase();
  });
}

/** Compare dotted versions numerically (`10.0.9` < `10.0.19041`); missing parts count as 0. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map((p) => Number.parseInt(p, 10) || 0);
  const pb = b.split('.').map((p) => Number.parseInt(p, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

export function versionInRange(
  version: string | undefined,
  range: { readonly min?: string; readonly max?: string },
): boolean {
  if (!version) return false;
  if (range.min && compareVersions(version, range.min) < 0) return false;
  if (range.max && compareVersions(version, range.max) > 0) return false;
  return true;
}

export function globMatches(pattern: string, value: string | undefined): boolean {
  if (value === undefined) return false;
  const re = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${re}$`, 'i').test(value);
}

const sameUser = (a: string, b: string | undefined) => b !== undefined && a.toLowerCase() === b.toLowerCase();

export function ruleMatches(device: DeviceProfile, rule: GroupRule): boolean {
  if (rule.editions && !editionMatches(device.edition, rule.editions)) return false;
  if (rule.osVersion && !versionInRange(device.osVersion, rule.osVersion)) return false;
  if (rule.models && !rule.models.some((m) => globMatches(m, device.model))) return false;
  if (rule.users && !rule.users.some((u) => sameUser(u, device.user))) return false;
  return true;
}

export function isMember(device: DeviceProfile, group: GroupDefinition): boolean {
  if (group.devices?.includes(device.id)) return true;
  if (group.users?.some((u) => sameUser(u, device.user))) return true;
  return group.rules?.some((r) => ruleMatches(device, r)) ?? false;
}
