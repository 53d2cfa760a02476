// How a setting's commands are tagged in the session engine's queue (`setting:<kind>:<path>`, or
// `setting-atomic:<policy>` for an Atomic) and queued (docs/protocol-notes.md#atomic).
import type { DmCommand } from '../../shared/dm-command.js';
import type { CompiledPolicy } from '../language/types.js';
import type { CommandQueuePort } from './ports.js';
import type { CommandKind, SettingCommand } from './setting-state.js';

const TAG_PREFIX = 'setting';
export const ATOMIC_PREFIX = 'setting-atomic';
export const POLICY_PRIORITY = 50;

/** `setting:<kind>:<path>`; inside an Atomic `setting-atomic:<policy>` (items matched by target). */
export function settingTag(kind: CommandKind, path: string): string {
  return `${TAG_PREFIX}:${kind}:${path}`;
}

export function parseSettingTag(
  tag: string | undefined,
  target?: string,
): { kind: CommandKind; path: string } | undefined {
  if (!tag) return undefined;
  if (tag.startsWith(`${ATOMIC_PREFIX}:`)) return target ? { kind: 'apply', path: target } : undefined;
  const m = /^setting:(apply|verify|remove):(.+)$/s.exec(tag);
  return m ? { kind: m[1] as CommandKind, path: m[2]! } : undefined;
}

/**
 * Queues a device's setting commands; apply commands of an atomic policy go out together in one
 * Atomic (docs/protocol-notes.md#atomic).
 */
export async function sendSettingCommands(
  queue: CommandQueuePort,
  deviceId: string,
  commands: readonly { path: string; queued: SettingCommand }[],
  atomicPolicies: ReadonlyMap<string, CompiledPolicy>,
  priority: number,
): Promise<void> {
  const atomic = new Map<string, DmCommand[]>();
  for (const { path, queued } of commands) {
    const policy = queued.kind === 'apply' ? atomicPolicies.get(path) : undefined;
    if (policy) {
      atomic.set(policy.name, [...(atomic.get(policy.name) ?? []), queued.command]);
      continue;
    }
    await queue.enqueue(deviceId, queued.command, {
      origin: 'policy',
      tag: settingTag(queued.kind, path),
      priority,
    });
  }
  for (const [name, list] of atomic) {
    const command: DmCommand = list.length === 1 ? list[0]! : { verb: 'Atomic', commands: list };
    const tag = list.length === 1 ? settingTag('apply', itemTarget(list[0]!)) : `${ATOMIC_PREFIX}:${name}`;
    await queue.enqueue(deviceId, command, { origin: 'policy', tag, priority });
  }
}

/** The LocURI of a command's first item ('' for a container). */
export function itemTarget(command: DmCommand): string {
  return 'items' in command ? (command.items[0]?.target ?? '') : '';
}
