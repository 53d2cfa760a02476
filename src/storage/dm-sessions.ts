// OMA-DM session persistence: what one HTTP exchange reads before the session machine runs, and the
// rows it writes afterwards (MS-MDM 2.2; OMA-DM 1.2 SyncML Rep Pro §8: a session is many messages).
// Storage decides no protocol rule: the session engine (src/dm/) works out every row's new values
// (re-queue or fail after max attempts, large-object chunks, unenrollment, expiry) and this store
// writes them. Session state is an opaque JSON document owned by the session engine.
import type { CertificateStatus } from './certificates.js';
import type { CommandNode, CommandState, EnqueueCommand, QueuedCommand, ResultItem } from './commands.js';
import type { DigestCredentials } from './devices.js';

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

/** A command the exchange may send or answer: pending or sent, with what it holds so far. */
export interface OpenCommand extends QueuedCommand {
  readonly state: 'pending' | 'sent';
  /** Every node as sent so far, with the device's answers. */
  readonly nodes: readonly CommandNode[];
  readonly sentAt: string | null;
  /**
   * The session it was last sent in, when that session is active, is the message's own or talked
   * after `recentSince` (undefined otherwise: a dead session).
   */
  readonly carrier?: {
    readonly rowId: number;
    readonly status: 'active' | 'closed';
    readonly updatedAt: string;
  };
}

/** How the message's sender is looked up (MS-MDM 2.2.4): its certificate, or its DIGEST credentials. */
export type IdentityLookup =
  | { readonly certificateThumbprint: string }
  | { readonly certificateSerial: string }
  | { readonly digest: true };

/** The certificate a message presented, as recorded when the server issued it. */
export interface PresentedCertificateRecord {
  readonly serial: string;
  readonly deviceId: string;
  readonly status: CertificateStatus;
  readonly notBefore: string;
  readonly notAfter: string;
  readonly der: Buffer;
  /** The enrollment it was issued for is live. */
  readonly enrollmentActive: boolean;
}

export interface ExchangeSnapshot {
  /** The presented certificate's record, when the lookup asked for one and it exists. */
  readonly certificate?: PresentedCertificateRecord;
  /** The device's live enrollment's DIGEST credentials, when the lookup asked for them. */
  readonly digest?: DigestCredentials;
  /** The device's newest session with the message's SessionID, active or closed. */
  readonly session?: StoredSession;
  /** The device's active sessions, newest first (normally at most one). */
  readonly active: readonly StoredSession[];
  /** Every command of the device in state `sent`. */
  readonly inFlight: readonly OpenCommand[];
  /** Pending commands in sending order (priority, then enqueue order), expired ones included. */
  readonly pending: readonly OpenCommand[];
  /** Last time an inventory refresh was queued for the device (ISO-8601), if ever. */
  readonly lastInventoryAt?: string;
  /** The policy revision in force (0 when none was ever applied), read with the exchange. */
  readonly policyRevision: number;
  /** The device's last value of `inventoryNode`, when asked and reported. */
  readonly inventoryValue?: string;
  /** The device's last reported value of `pushPfnNode`, when asked and reported. */
  readonly pushPfn?: string;
}

export interface DeviceEventInput {
  readonly alertCode: number;
  readonly type: string;
  readonly format?: string;
  readonly mark?: string;
  readonly source?: string;
  readonly data?: string;
}

/** The new values of every changing column of one queued command. */
export interface CommandWrite {
  readonly commandId: string;
  readonly state: CommandState;
  readonly statusCode: number | null;
  readonly failureReason: string | null;
  readonly attempts: number;
  /** The session that carries it: this exchange's session row, or none. */
  readonly carrier: 'session' | null;
  readonly nodes: readonly CommandNode[];
  readonly sentAt: string | null;
  readonly completedAt: string | null;
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
   * Reads what an exchange needs, in a few statements. Inside a transaction it first locks the
   * device until the transaction ends, so no two exchanges of one device interleave, on any server
   * instance. `pendingLimit` bounds the queue read (default 200).
   */
  loadExchange(
    deviceId: string,
    sessionId: string,
    options?: {
      readonly identity?: IdentityLookup;
      readonly pendingLimit?: number;
      /** Also read closed sessions updated after this time (ISO-8601): they may still be live. */
      readonly recentSince?: string;
      /** Also read the device's last reported value of this node (`inventoryValue`). */
      readonly inventoryNode?: string;
      /** Also read the device's last reported push PFN (DMClient `Push/PFN`; `pushPfn`). */
      readonly pushPfnNode?: string;
    },
  ): Promise<ExchangeSnapshot>;
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
