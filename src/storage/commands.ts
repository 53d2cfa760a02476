// The per-device command queue (docs/protocol-notes.md#server-replies, #end-of-session, #polling): commands wait here until the device's
// next session; every server command node sent is recorded as (session, MsgID, CmdID) → command
// with the device's Status code and Results, so outcomes survive any server instance.
import type { CommandOrigin, DmCommand, DmVerb, ResultItem } from '../shared/dm-command.js';

export type { ResultItem };

/**
 * `pending`: waiting for a session. `sent`: sent in the current session, no Status yet.
 * `done`: the device answered the command itself (see `statusCode`, any code, 2xx = success).
 * `failed`: the server gave up (no answer after `commandMaxAttempts` sessions, or too large to send).
 * `expired`: `expiresAt` passed before it was sent. `cancelled`: the device unenrolled or an admin
 * cancelled it while pending.
 */
export const COMMAND_STATES = ['pending', 'sent', 'done', 'failed', 'expired', 'cancelled'] as const;
export type CommandState = (typeof COMMAND_STATES)[number];

export interface EnqueueCommand {
  readonly deviceId: string;
  readonly command: DmCommand;
  readonly origin: CommandOrigin;
  /** Higher is sent first; ties in enqueue order. Default 0. */
  readonly priority?: number;
  /** ISO-8601 UTC; not sent after this time. */
  readonly expiresAt?: string;
  /** Correlation key returned with every outcome (e.g. a policy setting id). */
  readonly tag?: string;
  /** Who asked for it (admin CLI actor), for display. */
  readonly actor?: string;
  /** Id of the command this one retries (e.g. an Add answered 418, re-sent as Replace). */
  readonly retryOf?: string;
  /** Pre-assigned id (the session engine assigns ids before its transaction); default a new time-ordered id. */
  readonly id?: string;
}

/** What the session engine needs of a queued command. */
export interface QueuedCommand {
  readonly id: string;
  readonly command: DmCommand;
  readonly origin: CommandOrigin;
  readonly tag?: string;
  /** Sessions it has been sent in so far. */
  readonly attempts: number;
  /** Higher is sent first. */
  readonly priority?: number;
  /** ISO-8601 UTC; not sent after this time. */
  readonly expiresAt?: string;
}

export interface CommandRecord extends Omit<QueuedCommand, 'expiresAt'> {
  readonly deviceId: string;
  readonly priority: number;
  readonly state: CommandState;
  /** Status code of the command itself (the container's for Atomic/Sequence). */
  readonly statusCode: number | null;
  /** Why the server failed it, when state is `failed`. */
  readonly failureReason: string | null;
  readonly retryOf: string | null;
  readonly actor: string | null;
  readonly createdAt: string;
  readonly expiresAt: string | null;
  readonly sentAt: string | null;
  readonly completedAt: string | null;
}

/** One server command node sent in a session: (session, MsgID, CmdID) → queued command. */
export interface SentRef {
  readonly msgId: number;
  readonly cmdId: number;
  readonly commandId: string;
  /** '' = the queued command itself; '0', '1.0' … = children of an Atomic/Sequence. */
  readonly path: string;
  readonly verb: DmVerb;
  readonly targets: readonly string[];
  /** The device's Status code; undefined while outstanding. */
  readonly status?: number;
}

/** The delivery record of one node: where it was sent and what the device answered. */
export interface CommandNode extends SentRef {
  /** The client's SessionID of the session it was sent in. */
  readonly sessionId: string;
  readonly originalError: string | null;
  readonly results: readonly ResultItem[];
  readonly sentAt: string;
  readonly answeredAt: string | null;
}

export interface ListCommandsOptions {
  readonly states?: readonly CommandState[];
  /** Newest first, at most this many. Default 50. */
  readonly limit?: number;
}

export interface CommandQueue {
  /**
   * Deletes up to `limit` finished commands (done, failed, expired, cancelled) completed before
   * `before` (ISO), with their node records; resolves with the count.
   */
  pruneFinished(before: string, limit: number): Promise<number>;
  /** Adds a command to the device's queue; returns its id. */
  enqueue(command: EnqueueCommand): Promise<string>;
  get(commandId: string): Promise<CommandRecord | undefined>;
  /** The device's commands, newest first. */
  listForDevice(deviceId: string, options?: ListCommandsOptions): Promise<CommandRecord[]>;
  /** Every node of a command as sent, with status codes and results, in send order. */
  listNodes(commandId: string): Promise<CommandNode[]>;
  /** Cancels one command while it is still pending; returns false when it is not pending. */
  cancel(commandId: string): Promise<boolean>;
  /** Commands per state over every device (the `pending` count is the queue depth). */
  countByState(): Promise<Record<CommandState, number>>;
  /** Cancels the device's pending commands; returns how many. */
  cancelPending(deviceId: string): Promise<number>;
}
