// OMA-DM session persistence: what one HTTP exchange reads before the session machine runs, and
// everything it writes afterwards, in ONE transaction (design.md "A session is many HTTP
// exchanges"). Session state is an opaque JSON document owned by the session engine.
import type { EnqueueCommand, QueuedCommand, ResultItem, SentRef } from './commands.js';

export interface StoredSession {
  /** Storage row id of the session. */
  readonly rowId: number;
  readonly deviceId: string;
  /** Client SessionID. */
  readonly sessionId: string;
  /** The session engine's state document. */
  readonly state: string;
}

export interface ExchangeSnapshot {
  /** The device's active session, if any (any SessionID). */
  readonly active?: StoredSession;
  /** Nodes sent in `active`. */
  readonly sent: readonly SentRef[];
  /** Queued commands `sent` refers to. */
  readonly inFlight: readonly QueuedCommand[];
  /** Pending, unexpired commands in sending order (priority, then enqueue order). */
  readonly pending: readonly QueuedCommand[];
  /** Last time an inventory refresh was queued for the device (ISO-8601), if ever. */
  readonly lastInventoryAt?: string;
}

export interface DeviceEventInput {
  readonly alertCode: number;
  readonly type: string;
  readonly format?: string;
  readonly mark?: string;
  readonly source?: string;
  readonly data?: string;
}

export interface ExchangeCommit {
  readonly deviceId: string;
  readonly sessionId: string;
  /** ISO-8601 UTC of this exchange. */
  readonly at: string;
  /** The session row to update; undefined = this exchange starts a new session. */
  readonly sessionRowId?: number;
  /** Package 1: close the device's other active sessions first (their unanswered commands are re-queued). */
  readonly closeOthers: boolean;
  readonly state: string;
  readonly status: 'active' | 'closed';
  readonly endReason?: string;
  /** Commands answered by no Status when a session closes go back to pending until this many attempts. */
  readonly maxAttempts: number;
  /** New commands (inventory refresh, 418 retries, follow-ups from hooks); ids pre-assigned. */
  readonly enqueue: readonly (EnqueueCommand & { readonly id: string })[];
  readonly sent: readonly SentRef[];
  readonly statuses: readonly {
    readonly ref: SentRef;
    readonly code: number;
    readonly originalError?: string;
  }[];
  readonly results: readonly { readonly ref: SentRef; readonly items: readonly ResultItem[] }[];
  /** Last-known node values (DevInfo from package 1, Results of any Get). */
  readonly inventory: readonly ResultItem[];
  readonly events: readonly DeviceEventInput[];
  /** Commands the server could not send. */
  readonly rejected: readonly { readonly commandId: string; readonly reason: string }[];
  /**
   * The device unenrolled (generic alert 1226): end its live enrollment, revoke its certificates and
   * cancel everything still queued for it.
   */
  readonly unenrolled: boolean;
  /** DIGEST nonce sent in this reply's Chal: becomes the device's next expected nonce (protocol.md §7.4). */
  readonly nextServerNonce?: string;
  /**
   * The nonce this exchange's Cred verified against. The commit fails (writes nothing) when the device's
   * stored nonce is no longer this one: the same Cred was spent by a concurrent exchange elsewhere.
   */
  readonly spentServerNonce?: string;
  /** Set on package 1. */
  readonly checkIn?: { readonly loginStatus?: string; readonly inventoryQueued: boolean };
}

export interface DmSessionStore {
  /** Read what an exchange needs (no writes). `pendingLimit` bounds the queue read (default 200). */
  loadExchange(deviceId: string, at: string, pendingLimit?: number): Promise<ExchangeSnapshot>;
  /** Apply everything one exchange produced, atomically. */
  commitExchange(commit: ExchangeCommit): Promise<void>;
  /**
   * Delete closed sessions that ended before `endedBefore` (ISO-8601) with their sent-node rows, at
   * most `limit` sessions (one transaction). Active sessions are kept. Returns what was deleted.
   */
  pruneFinished(endedBefore: string, limit: number): Promise<PrunedSessions>;
}

export interface PrunedSessions {
  readonly sessions: number;
  /** `dm_sent` rows: one per command node sent in those sessions. */
  readonly sentNodes: number;
}
