// The contract between the OMA-DM session engine (src/dm) and what observes it (policy delivery,
// compliance, webhooks): one set of types, imported by both sides. The engine calls the hooks inside
// one HTTP exchange, in its transaction, after the session machine has matched the device's answers
// and before anything is written. Hooks read and write through `ctx.tx` only and return the commands
// they want queued; those commit in the SAME transaction as the outcomes they react to and go out in
// the same session (in the reply to this very message when it fits). A hook that throws fails the
// exchange: nothing is written and the device gets an error, so it retries the session later.
import type { CommandOrigin, DmCommand, DmVerb, ResultItem } from './dm-command.js';

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
  readonly verb: DmVerb;
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

/**
 * One exchange as the hooks see it. `Tx` is the exchange's transaction (the engine passes its
 * `Storage`; an observer declares the part of it it uses).
 */
export interface HookContext<Tx> {
  /** The exchange's transaction: every read and write of a hook goes through it. */
  readonly tx: Tx;
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

export interface DmHooks<Tx> {
  /** Package 1 of a new session arrived (after authentication); returns what this session should carry. */
  onCheckIn?(checkIn: CheckIn, ctx: HookContext<Tx>): Promise<readonly FollowUpCommand[]>;
  /** Called once per answered node (Status and/or Results) in this exchange, in message order. */
  onCommandOutcome?(outcome: CommandOutcome, ctx: HookContext<Tx>): Promise<readonly FollowUpCommand[]>;
  /**
   * After the check-in and every outcome of the exchange (same `ctx`): the place to write once what
   * the calls above gathered; returns the last follow-ups.
   */
  onExchangeEnd?(ctx: HookContext<Tx>): Promise<readonly FollowUpCommand[]>;
}
