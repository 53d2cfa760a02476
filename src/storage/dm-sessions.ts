// OMA-DM session persistence: what one HTTP exchange reads before the session machine runs, and the
// rows it writes afterwards (MS-MDM 2.2; OMA-DM 1.2 SyncML Rep Pro §8: a session is many messages).
// Storage decides no protocol rule: the session engine (src/dm/) works out every row's new values
// (re-queue or fail after max attempts, large-object chunks, unenrollment, expiry) and this store
// writes them. Session state is an opaque JSON document owned by the session engine.
import type { CommandNode, CommandState, EnqueueCommand, QueuedCommand, ResultItem } from './commands.js';

export interface StoredSession {
  /** Storage row id of the session. */
  readonly rowId: number;
  readonly deviceId: string;
  /** Client SessionID. */
  readonly sessionId: string;
  /** The session engine's state document. */
  readonly state: string;
  readonly status: 'active' | 'closed';
  readonly updatedAt: string;
}

/** A command sent to the device and not answered yet, with the session that carries it. */
export interface CarriedCommand extends QueuedCommand {
  /** Every node as sent so far, with the device's answers. */
  readonly nodes: readonly CommandNode[];
  /** The session it was last sent in (undefined when that session was pruned). */
  readonly carrier?: {
    readonly rowId: number;
    readonly status: 'active' | 'closed';
    readonly updatedAt: string;
  };
}

export interface ExchangeSnapshot {
  /** The device's newest session with the message's SessionID, active or closed. */
  readonly session?: StoredSession;
  /** The device's active sessions, newest first (normally at most one). */
  readonly active: readonly StoredSession[];
  /** Every command of the device in state `sent`. */
  readonly inFlight: readonly CarriedCommand[];
  /** Pending commands in sending order (priority, then enqueue order), expired ones included. */
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

/** New values of one queued command; omitted fields keep their value. */
export interface CommandWrite {
  readonly commandId: string;
  readonly state: CommandState;
  readonly statusCode?: number | null;
  readonly failureReason?: string | null;
  readonly attempts?: number;
  /** The session that carries it: this exchange's session row, or none. */
  readonly carrier?: 'session' | null;
  /** Replaces the node records. */
  readonly nodes?: readonly CommandNode[];
  readonly sentAt?: string;
  readonly completedAt?: string | null;
}

/** Everything one exchange writes, in one transaction. */
export interface ExchangeWrites {
  readonly deviceId: string;
  /** ISO-8601 UTC of this exchange. */
  readonly at: string;
  /** The session row: inserted when `rowId` is undefined, updated otherwise. */
  readonly session?: {
    readonly rowId?: number;
    readonly sessionId: string;
    readonly state: string;
    readonly status: 'active' | 'closed';
    readonly endReason?: string;
  };
  /** Other sessions to close (superseded by a new package 1). */
  readonly closeSessions: readonly { readonly rowId: number; readonly reason: string }[];
  /** New commands (inventory refresh, 418 retries, hooks' follow-ups); ids pre-assigned. */
  readonly enqueue: readonly (EnqueueCommand & { readonly id: string })[];
  readonly commands: readonly CommandWrite[];
  /** Last-known node values (DevInfo from package 1, Results of any Get). */
  readonly inventory: readonly ResultItem[];
  readonly events: readonly DeviceEventInput[];
  /** Set on package 1. */
  readonly checkIn?: { readonly loginStatus?: string; readonly inventoryQueued: boolean };
  /** Generic alert 1226: end the live enrollment (revoking its certificates) and cancel every open command. */
  readonly unenroll: boolean;
  /**
   * DIGEST nonce sent in this reply's Chal (MS-MDM 2.2.4): it becomes the device's next expected
   * nonce, but only while the stored one is still `spent` (the nonce this exchange's Cred verified
   * against); otherwise the commit fails and writes nothing (the Cred was spent concurrently).
   */
  readonly nonce?: { readonly next: string; readonly spent?: string };
}

export interface PrunedSessions {
  readonly sessions: number;
}

export interface DmSessionStore {
  /**
   * Reads what an exchange needs. Inside a transaction it first locks the device until the
   * transaction ends, so no two exchanges of one device interleave, on any server instance.
   * `pendingLimit` bounds the queue read (default 200).
   */
  loadExchange(deviceId: string, sessionId: string, pendingLimit?: number): Promise<ExchangeSnapshot>;
  /** Applies everything one exchange produced; returns the session row id. */
  commitExchange(writes: ExchangeWrites): Promise<number | undefined>;
  /**
   * Deletes closed sessions that ended before `endedBefore` (ISO-8601), at most `limit` of them.
   * Active sessions are kept.
   */
  pruneFinished(endedBefore: string, limit: number): Promise<PrunedSessions>;
}

/** Thrown by `commitExchange` when the DIGEST nonce was spent by a concurrent exchange. */
export class NonceSpentError extends Error {
  override name = 'NonceSpentError';
}
