// Renders compiled policy commands as the SyncML message a device would receive (`mdm policy
// compile --syncml`), converted exactly as the session engine converts queued commands
// (src/dm/outgoing.ts: CmdIDs from 1, nested commands included; docs/protocol-notes.md#server-replies).
import { encodeSyncMl, type ServerHeader } from '../codec/syncml/index.js';
import type { SyncMlCommand } from '../codec/syncml/types.js';
import { buildCommand, CmdIdCounter } from '../dm/outgoing.js';
import type { SentRef } from '../dm/types.js';
import type { DmCommand } from '../shared/dm-command.js';

export function toSyncMlCommands(
  commands: readonly DmCommand[],
  header?: Pick<ServerHeader, 'msgId'>,
): SyncMlCommand[] {
  const ids = new CmdIdCounter();
  const refs: SentRef[] = [];
  return commands.map((command, i) => buildCommand(command, `preview-${i}`, header?.msgId ?? 1, ids, refs));
}

/** One complete server message carrying `commands` (no Status: a preview, not a session reply). */
export function renderSyncMl(commands: readonly DmCommand[], header: ServerHeader): string {
  return encodeSyncMl({ header, commands: toSyncMlCommands(commands, header), final: true });
}
