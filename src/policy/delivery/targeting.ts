// Which policies reach a device: assignments name groups to include (or `all`) and groups to
// exclude; an exclusion always wins over an inclusion.
import { type DeviceProfile, type GroupDefinition, isMember } from '../language/groups.js';

/** The pseudo-group every device belongs to. */
export const ALL_DEVICES = 'all';

export interface Assignment {
  readonly policy: string;
  readonly include: readonly string[];
  readonly exclude?: readonly string[];
}

export type GroupIndex = ReadonlyMap<string, GroupDefinition>;

export function indexGroups(groups: readonly GroupDefinition[]): GroupIndex {
  return new Map(groups.map((g) => [g.name, g]));
}

/** Names of the groups the device belongs to, `all` first. */
export function groupsOf(device: DeviceProfile, groups: GroupIndex): string[] {
  const names = [ALL_DEVICES];
  for (const g of groups.values()) if (isMember(device, g)) names.push(g.name);
  return names;
}

function inGroup(device: DeviceProfile, name: string, groups: GroupIndex): boolean {
  if (name === ALL_DEVICES) return true;
  const group = groups.get(name);
  return group !== undefined && isMember(device, group);
}

export function isTargeted(device: DeviceProfile, assignment: Assignment, groups: GroupIndex): boolean {
  if (assignment.exclude?.some((g) => inGroup(device, g, groups))) return false;
  return assignment.include.some((g) => inGroup(device, g, groups));
}

/** Policy names assigned to the device, sorted (deterministic delivery order). */
export function targetedPolicies(
  device: DeviceProfile,
  assignments: readonly Assignment[],
  groups: GroupIndex,
): string[] {
  const names = new Set<string>();
  for (const a of assignments) if (isTargeted(device, a, groups)) names.add(a.policy);
  return [...names].sort();
}

/**
 * How many of `devices` are members of each named group (`all`: every one); a name with no
 * definition counts 0.
 */
export function groupSizes(
  names: readonly string[],
  groups: GroupIndex,
  devices: readonly DeviceProfile[],
): Map<string, number> {
  return new Map(names.map((n) => [n, devices.filter((d) => inGroup(d, n, groups)).length]));
}
