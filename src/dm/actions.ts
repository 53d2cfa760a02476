// Device actions and admin commands as queued DM commands (docs/protocol-notes.md#csps, #generic-alerts), and the
// LocURI rules a command must follow before it is queued (docs/protocol-notes.md#meta-format-and-locuri).
import type { DmCommand, DmFormat } from '../shared/dm-command.js';

export const DEVICE_ACTIONS = {
  /** RemoteLock CSP (§10.6): lock the screen; 405 when no PIN is set. */
  lock: { description: 'lock the screen (RemoteLock/Lock)' },
  /** RemoteWipe CSP (§10.5): reset the PC, removing everything. */
  wipe: { description: 'reset the device, removing all data (RemoteWipe/doWipe)' },
  /** Reboot CSP (§10.7): reboot after the session. */
  reboot: { description: 'reboot after the session (Reboot/RebootNow)' },
  /** DMClient CSP (§8.4): the device removes its MDM enrollment. */
  unenroll: { description: 'remove the MDM enrollment from the device (DMClient/Provider/{id}/Unenroll)' },
} as const;
export type DeviceAction = keyof typeof DEVICE_ACTIONS;

/** Device actions go before other queued work. */
export const ACTION_PRIORITY = 50;

export function deviceActionCommand(action: DeviceAction, providerId: string): DmCommand {
  switch (action) {
    case 'lock':
      return { verb: 'Exec', items: [{ target: './Vendor/MSFT/RemoteLock/Lock' }] };
    case 'wipe':
      return {
        verb: 'Exec',
        items: [{ target: './Device/Vendor/MSFT/RemoteWipe/doWipe', format: 'chr', data: '' }],
      };
    case 'reboot':
      return {
        verb: 'Exec',
        items: [{ target: './Device/Vendor/MSFT/Reboot/RebootNow', format: 'null', data: '' }],
      };
    case 'unenroll':
      return {
        verb: 'Exec',
        items: [
          {
            target: `./Vendor/MSFT/DMClient/Provider/${encodeURIComponent(providerId)}/Unenroll`,
            format: 'chr',
            data: providerId,
          },
        ],
      };
  }
}

/** Why a LocURI cannot be sent, or undefined when it is fine (docs/protocol-notes.md#meta-format-and-locuri). */
export function locUriProblem(uri: string): string | undefined {
  if (!uri.startsWith('./')) return 'a LocURI starts with ./ (e.g. ./DevDetail/SwV)';
  const segments = uri.slice(2).split('/');
  if (segments.some((s) => s === '')) return 'a LocURI has no empty segments (no // or trailing /)';
  if (segments.some((s) => s === '*' || s === '.' || s === '..'))
    return 'a LocURI segment cannot be *, . or ..';
  if (/\s/.test(uri)) return 'URL-encode spaces and other special characters (%20)';
  return undefined;
}

/**
 * Why a command cannot be sent as built, or undefined (Windows limits, docs/protocol-notes.md#atomic):
 * no Get and no nested Atomic inside an Atomic; Exec carries exactly one item; every LocURI valid.
 */
export function commandProblem(command: DmCommand, insideAtomic = false): string | undefined {
  if ('commands' in command) {
    if (command.commands.length === 0) return `${command.verb} needs at least one command`;
    if (insideAtomic && command.verb === 'Atomic') return 'Atomic cannot be nested';
    for (const child of command.commands) {
      const problem = commandProblem(child, insideAtomic || command.verb === 'Atomic');
      if (problem) return problem;
    }
    return undefined;
  }
  if (insideAtomic && command.verb === 'Get') return 'Get is not allowed inside Atomic';
  if (command.items.length === 0) return `${command.verb} needs at least one item`;
  if (command.verb === 'Exec' && command.items.length !== 1) return 'Exec carries exactly one item';
  for (const item of command.items) {
    const problem = locUriProblem(item.target);
    if (problem) return `${item.target}: ${problem}`;
  }
  return undefined;
}

export interface ItemCommandRequest {
  readonly verb: 'Get' | 'Add' | 'Replace' | 'Delete' | 'Exec';
  readonly target: string;
  readonly value?: string;
  readonly format?: DmFormat;
  readonly type?: string;
}

export function itemCommand(r: ItemCommandRequest): DmCommand {
  if (r.verb === 'Get' || r.verb === 'Delete') return { verb: r.verb, items: [{ target: r.target }] };
  return {
    verb: r.verb,
    items: [
      {
        target: r.target,
        ...(r.format !== undefined && { format: r.format }),
        ...(r.type !== undefined && { type: r.type }),
        ...(r.value !== undefined && { data: r.value }),
      },
    ],
  };
}
