// The start of an exchange: the one snapshot read of the device (`tx.dmSessions.loadExchange`, which
// also locks the device on PostgreSQL) and which session the message belongs to: a package 1 opens a
// new one (MS-MDM 2.2.1; docs/protocol-notes.md#package-1), any other message continues the active
// session, or a superseded one that is still live, or none (docs/architecture.md#oma-dm-exchange-module-by-module).
import type { SyncMlMessage } from '../codec/syncml/types.js';
import type { QueuedCommand, SentRef } from '../storage/commands.js';
import type { ExchangeSnapshot } from '../storage/dm-sessions.js';
import type { Storage } from '../storage/index.js';
import { identityLookup, type PresentedIdentity } from './auth.js';
import { LARGE_OBJECT_NODE } from './inventory.js';
import { sessionAlert } from './machine.js';
import type { SessionState } from './types.js';

/**
 * The session row's document: the machine's state, the nodes sent in this session, and the
 * inventory reads the server itself added to this session (they are not queued commands: their
 * Results go straight to the inventory, and a session that ends before answering them leaves the
 * next refresh to the next due check-in).
 */
export interface StoredState {
  readonly machine: SessionState;
  readonly sent: readonly SentRef[];
  readonly inventory?: readonly QueuedCommand[];
}

/** One exchange in progress: the message, who sent it, and what was loaded for it. */
export interface Exchange {
  readonly tx: Storage;
  readonly msg: SyncMlMessage;
  readonly deviceId: string;
  readonly at: Date;
  readonly atIso: string;
  readonly snapshot: ExchangeSnapshot;
  /** The session alert of package 1, when this message opens a session. */
  readonly opening?: number;
  /** The stored state of the session this message continues. */
  readonly stored?: StoredState;
  /** Row of that session; set only when the message continues it. */
  readonly rowId?: number;
  /** The continued session was superseded by a newer one: record answers, send nothing new. */
  readonly superseded: boolean;
}

/** What loading needs from the service's configuration (built once per service). */
export interface LoadOptions {
  readonly now: () => Date;
  /** How long a superseded session counts as live (`LIVE_SESSION_MS` by default). */
  readonly liveMs: number;
  /** WNS push on: the `Push/PFN` node whose reported value the snapshot carries (push-nodes.ts). */
  readonly pushPfnNode?: string;
}

function parseStored(text: string): StoredState | undefined {
  try {
    const doc = JSON.parse(text) as Partial<StoredState>;
    return doc.machine && Array.isArray(doc.sent) ? (doc as StoredState) : undefined;
  } catch {
    return undefined;
  }
}

/** Load: the device's sessions and queue, and which session this message belongs to. */
export async function loadExchange(
  tx: Storage,
  msg: SyncMlMessage,
  deviceId: string,
  identity: PresentedIdentity,
  options: LoadOptions,
): Promise<Exchange> {
  const at = options.now();
  const { liveMs } = options;
  const lookup = identityLookup(identity);
  const snapshot = await tx.dmSessions.loadExchange(deviceId, msg.header.sessionId, {
    ...(lookup && { identity: lookup }),
    recentSince: new Date(at.getTime() - liveMs).toISOString(),
    inventoryNode: LARGE_OBJECT_NODE,
    ...(options.pushPfnNode !== undefined && { pushPfnNode: options.pushPfnNode }),
  });
  const opening = sessionAlert(msg);
  const base = { tx, msg, deviceId, at, atIso: at.toISOString(), snapshot, superseded: false };
  const row = snapshot.session;
  if (opening !== undefined || !row) return { ...base, ...(opening !== undefined && { opening }) };
  const stored = parseStored(row.state);
  if (stored?.machine.status !== 'active') return base;
  if (row.status === 'active') return { ...base, stored, rowId: row.rowId };
  // A late message of a session a newer package 1 superseded while it was still live.
  const live = at.getTime() - Date.parse(row.updatedAt) < liveMs;
  return live ? { ...base, stored, rowId: row.rowId, superseded: true } : base;
}
