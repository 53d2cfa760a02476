// Turning queued commands into SyncML commands for one server message: CmdID allocation (unique
// within the message, nested commands included; docs/protocol-notes.md#server-replies), the MaxMsgSize budget
// (docs/protocol-notes.md#syncml-messages) and large-object chunking of a single item (docs/protocol-notes.md#large-objects).
import { encodeCommand } from '../codec/syncml/encode.js';
import type { SyncMlCommand, SyncMlItem } from '../codec/syncml/types.js';
import type { DmCommand, DmItem } from '../shared/dm-command.js';
import type { SentRef } from './types.js';

/** Hands out CmdIDs for one message. */
export class CmdIdCounter {
  constructor(private next = 1) {}
  take(): number {
    return this.next++;
  }
  peek(): number {
    return this.next;
  }
}

function toItem(verb: string, item: DmItem): SyncMlItem {
  if (verb === 'Get' || verb === 'Delete') return { target: item.target };
  const meta =
    item.format !== undefined || item.type !== undefined
      ? {
          ...(item.format !== undefined && { format: item.format }),
          ...(item.type !== undefined && { type: item.type }),
        }
      : undefined;
  return { target: item.target, ...(meta && { meta }), ...(item.data !== undefined && { data: item.data }) };
}

/** Build the SyncML form of a queued command, recording a SentRef for every node. */
export function buildCommand(
  command: DmCommand,
  commandId: string,
  msgId: number,
  ids: CmdIdCounter,
  refs: SentRef[],
  path = '',
): SyncMlCommand {
  const cmdId = ids.take();
  if ('commands' in command) {
    refs.push({ msgId, cmdId, commandId, path, verb: command.verb, targets: [] });
    const children = command.commands.map((child, i) =>
      buildCommand(child, commandId, msgId, ids, refs, path === '' ? String(i) : `${path}.${i}`),
    );
    return { kind: command.verb, cmdId, commands: children };
  }
  refs.push({
    msgId,
    cmdId,
    commandId,
    path,
    verb: command.verb,
    targets: command.items.map((i) => i.target),
  });
  return { kind: command.verb, cmdId, items: command.items.map((i) => toItem(command.verb, i)) };
}

export function byteLength(s: string): number {
  return Buffer.byteLength(s);
}

/** A command that can be sent as a large object: one item carrying data (docs/protocol-notes.md#large-objects). */
export function isChunkable(
  command: DmCommand,
): command is { verb: 'Add' | 'Replace' | 'Exec'; items: DmItem[] } {
  return (
    !('commands' in command) &&
    command.verb !== 'Get' &&
    command.verb !== 'Delete' &&
    command.items.length === 1 &&
    command.items[0]!.data !== undefined &&
    command.items[0]!.data.length > 0
  );
}

const ESCAPED_BYTES: Record<string, number> = { '&': 5, '<': 4, '>': 4, '"': 6, "'": 6 };

/** Index just past the longest slice of `data` from `offset` whose escaped UTF-8 form fits `room` bytes. */
export function chunkEnd(data: string, offset: number, room: number): number {
  let used = 0;
  let i = offset;
  while (i < data.length) {
    const code = data.charCodeAt(i);
    const ch = data[i]!;
    let width: number;
    let step = 1;
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < data.length) {
      width = 4;
      step = 2;
    } else width = ESCAPED_BYTES[ch] ?? (code < 0x80 ? 1 : code < 0x800 ? 2 : 3);
    if (used + width > room) break;
    used += width;
    i += step;
  }
  return i;
}

/** One chunk of a large single-item command; Meta Size on the first chunk, MoreData on all but the last. */
export function buildChunk(
  command: { verb: 'Add' | 'Replace' | 'Exec'; items: readonly DmItem[] },
  cmdId: number,
  offset: number,
  end: number,
): SyncMlCommand {
  const item = command.items[0]!;
  const data = item.data!;
  const last = end >= data.length;
  const meta = {
    ...(item.format !== undefined && { format: item.format }),
    ...(item.type !== undefined && { type: item.type }),
    ...(offset === 0 && { size: Buffer.byteLength(data) }),
  };
  return {
    kind: command.verb,
    cmdId,
    items: [
      {
        target: item.target,
        ...(Object.keys(meta).length > 0 && { meta }),
        data: data.slice(offset, end),
        ...(!last && { moreData: true }),
      },
    ],
  };
}

/** Encoded size of a chunk command without its data (the frame the data must fit in). */
export function chunkFrameSize(
  command: { verb: 'Add' | 'Replace' | 'Exec'; items: readonly DmItem[] },
  cmdId: number,
): number {
  return byteLength(encodeCommand(buildChunk(command, cmdId, 0, 0)));
}
