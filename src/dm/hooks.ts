// Extension points of the session engine, for policy delivery and compliance.
//
// Hooks run inside one HTTP exchange, in its transaction, after the session machine has matched the
// device's answers and before anything is written. They read and write through `ctx.tx` only (the
// exchange's transaction) and return the commands they want queued; those are committed in the
// SAME transaction as the outcomes they react to and sent in the same session (in the reply to this
// very message when it fits). A hook that throws fails the exchange: nothing is written and the
// device gets an HTTP 500, so it retries the session later.
import type { CommandOrigin, DmCommand } from '../shared/dm-command.js';
import type { ResultItem } from '../storage/commands.js';
import type { Storage } from '../storage/index.js';

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
  /** The exchange's transaction: every read and write of a hook goes through it. */
  readonly tx: Storage;
  readonly deviceId: string;
  /** Client SessionID. */
  readonly sessionId: string;
  /** Time of this exchange. */
  readonly at: Date;
  /** The policy revision in force, read with the exchange (no need to read it again). */
  readonly policyRevision: number;
}

export interface CheckIn {
  readonly deviceId: string;
  readonly sessionId: string;
  /** 1201 client-initiated or 1200 server-initiated (MS-MDM 2.2.1, OMA-DM 1.2 alert codes). */
  readonly sessionAlert: number;
  /** LoginStatus alert value: `user`, `others`, `none` (MS-MDM 2.2.7.2). */
  readonly loginStatus?: string;
}

export interface DmHooks {
  /** Package 1 of a new session arrived (after authentication); returns what this session should carry. */
  onCheckIn?(checkIn: CheckIn, ctx: HookContext): Promise<readonly FollowUpCommand[]>;
  /** Called once per answered node (Status and/or Results) in this exchange, in message order. */
  onCommandOutcome?(outcome: CommandOutcome, ctx: HookContext): Promise<readonly FollowUpCommand[]>;
  /**
   * After the check-in and every outcome of the exchange (same `ctx`): the place to write once what
   * the calls above gathered; returns the last follow-ups.
   */
  onExchangeEnd?(ctx: HookContext): Promise<readonly FollowUpCommand[]>;
}
