// Extension points of the session engine, for policy delivery and compliance.
//
// Hooks run inside one HTTP exchange, after the session machine has matched the device's answers
// and before anything is written; whatever a hook enqueues through `ctx.enqueue` is committed in
// the SAME transaction as the outcomes it reacts to, and is sent in the same session (in the reply
// to this very message when it fits). A hook that throws fails the exchange: nothing is written
// and the device gets an HTTP 500, so it retries the session later.
import type { CommandOrigin, DmCommand } from '../shared/dm-command.js';
import type { ResultItem } from '../storage/commands.js';

/** What the device answered for one queued command node in this exchange. */
export interface CommandOutcome {
  readonly deviceId: string;
  /** Id returned by `CommandQueue.enqueue`. */
  readonly commandId: string;
  readonly origin: CommandOrigin;
  /** The `tag` given at enqueue time (correlation key), if any. */
  readonly tag?: string;
  /** '' = the queued command itself; '0', '1.0' … = a child of an Atomic/Sequence. */
  readonly path: string;
  readonly verb: string;
  readonly targets: readonly string[];
  /**
   * The device's Status code for this node; undefined when this exchange only carried Results
   * for it (their Status came earlier).
   */
  readonly statusCode?: number;
  /** Results items (Get), in order; empty for other verbs. */
  readonly results: readonly ResultItem[];
}

/** A command a hook adds to the device's queue within the current exchange. */
export interface FollowUpCommand {
  readonly command: DmCommand;
  readonly origin: CommandOrigin;
  readonly tag?: string;
  /** Higher is sent first. Default 0. */
  readonly priority?: number;
  readonly expiresAt?: string;
}

export interface HookContext {
  readonly deviceId: string;
  /** Client SessionID. */
  readonly sessionId: string;
  /** Enqueue for this device, committed with the exchange; returns the new command id. */
  enqueue(command: FollowUpCommand): string;
}

export interface CheckIn {
  readonly deviceId: string;
  readonly sessionId: string;
  /** 1201 client-initiated or 1200 server-initiated (protocol.md §7.5). */
  readonly sessionAlert: number;
  /** LoginStatus alert value: `user`, `others`, `none` (protocol.md §8.2). */
  readonly loginStatus?: string;
}

export interface DmHooks {
  /** Package 1 of a new session arrived (after authentication); enqueue what this session should carry. */
  onCheckIn?(checkIn: CheckIn, ctx: HookContext): void | Promise<void>;
  /** Called once per answered node (Status and/or Results) in this exchange, in message order. */
  onCommandOutcome?(outcome: CommandOutcome, ctx: HookContext): void | Promise<void>;
}
