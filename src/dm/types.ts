// Data the OMA-DM session machine works on (docs/protocol-notes.md#server-replies, #end-of-session, #large-objects). Plain serialisable values: the
// session state is stored as JSON and the sent-command map as rows, so any server instance can
// continue a session from the database alone.
import type { SyncMlChal } from '../codec/syncml/types.js';
import type { CommandOrigin, DmCommand } from '../shared/dm-command.js';
import type { QueuedCommand, ResultItem, SentRef } from '../storage/commands.js';
import type { DeviceEventInput } from '../storage/dm-sessions.js';

export type { QueuedCommand, ResultItem, SentRef };

/** A large object being received in chunks (docs/protocol-notes.md#large-objects). */
export interface IncomingChunk {
  readonly kind: 'Results' | 'Command';
  /** (MsgRef, CmdRef) of a chunked Results, or the client CmdID of a chunked command. */
  readonly msgRef: number;
  readonly cmdRef: number;
  readonly source?: string;
  readonly format?: string;
  readonly type?: string;
  readonly size?: number;
  readonly data: string;
}

/** A large object being sent in chunks: next chunk starts at `offset` (UTF-16 index into Data). */
export interface OutgoingChunk {
  readonly commandId: string;
  readonly offset: number;
}

export interface SessionState {
  readonly deviceId: string;
  /** Client-chosen, echoed exactly (docs/protocol-notes.md#syncml-messages). */
  readonly sessionId: string;
  /** Last MsgID the server used in this session. */
  readonly serverMsgId: number;
  /** Last MsgID received from the client. */
  readonly clientMsgId: number;
  readonly status: 'active' | 'closed';
  /** How the device proved its identity when the session started. */
  readonly authMethod: 'certificate' | 'digest';
  /** DIGEST sessions: SHA-256 (hex) of the token in the RespURI of the last server message (session-token.ts). */
  readonly respTokenHash?: string;
  /** LoginStatus alert value (`user`, `others`, `none`; docs/protocol-notes.md#generic-alerts). */
  readonly loginStatus?: string;
  /** Client MaxMsgSize (docs/protocol-notes.md#syncml-messages). */
  readonly maxMsgSize: number;
  /** Client MaxObjSize, when it declared one: binding for the objects the server sends (OMA-DM 1.2 Protocol, "Large Object Handling"). */
  readonly maxObjSize?: number;
  /**
   * `./DevDetail/LrgObj` as the device reported it in this session (Results of a Get): whether it
   * accepts large objects. Wins over `StepInput.largeObjects` (the value from an earlier inventory).
   */
  readonly largeObjects?: boolean;
  /** Queued command ids already sent in this session (never sent twice in one session). */
  readonly sentCommandIds: readonly string[];
  readonly incoming?: IncomingChunk;
  readonly outgoing?: OutgoingChunk;
  /** 2xx Statuses of Gets whose Results have not arrived yet (incoming.ts `holdGetStatuses`). */
  readonly heldStatuses?: readonly HeldStatus[];
}

/**
 * A Get the device answered with 2xx in a message that did not also carry its Results, before the
 * end of its package: the Results may follow in a later message of the package (the device splits
 * its package at MaxMsgSize, or sends a large result in chunks; OMA-DM 1.2 Rep Pro §6, "Large
 * Object Handling"). The Status is reported with the Results, or alone at the end of the package.
 */
export interface HeldStatus {
  readonly msgId: number;
  readonly cmdId: number;
  readonly code: number;
  readonly originalError?: string;
}

/** Result of authenticating one message, decided before the machine runs. */
export type AuthDecision =
  | {
      readonly ok: true;
      readonly method: 'certificate' | 'digest';
      readonly hdrStatus: 200 | 212;
      /** 212: the next nonce, sent to the device and stored with the exchange. */
      readonly chal?: SyncMlChal;
      /** 212: the nonce the verified Cred was computed with (spent by this exchange). */
      readonly spentNonce?: string;
    }
  | { readonly ok: false; readonly hdrStatus: 401 | 403 | 407; readonly chal?: SyncMlChal };

export type SessionEndReason = 'completed' | 'aborted' | 'unenrolled';

/** What the machine asks the I/O layer to record (all in the exchange's one transaction). */
export type Effect =
  | { readonly kind: 'session-started'; readonly sessionId: string; readonly sessionAlert: number }
  | { readonly kind: 'devinfo'; readonly items: readonly ResultItem[] }
  | { readonly kind: 'sent'; readonly ref: SentRef }
  | {
      readonly kind: 'status';
      readonly ref: SentRef;
      readonly code: number;
      readonly originalError?: string;
      /**
       * The device sent no Status for this Atomic/Sequence, only for its children: the code was
       * derived from theirs (OMA-DM 1.2 clients that answer the inner commands only).
       */
      readonly inferred?: true;
    }
  /**
   * The device's code for a node whose command does NOT complete with it: a non-last large-object
   * chunk answered with anything but 213. Record it on the node only; the command itself fails
   * through the `rejected` effect that always accompanies this one.
   */
  | {
      readonly kind: 'node-status';
      readonly ref: SentRef;
      readonly code: number;
      readonly originalError?: string;
    }
  | { readonly kind: 'results'; readonly ref: SentRef; readonly items: readonly ResultItem[] }
  | ({ readonly kind: 'event' } & DeviceEventInput)
  | { readonly kind: 'unenroll' }
  | {
      readonly kind: 'enqueue';
      readonly command: DmCommand;
      readonly origin: CommandOrigin;
      readonly tag?: string;
      readonly retryOf: string;
    }
  /** The command fails now with `reason`: it cannot be sent, or its large object was broken off. */
  | { readonly kind: 'rejected'; readonly commandId: string; readonly reason: string }
  | { readonly kind: 'protocol-error'; readonly reason: string }
  | {
      readonly kind: 'unmatched';
      readonly what: 'Status' | 'Results';
      readonly msgRef: number;
      readonly cmdRef: number;
    }
  | { readonly kind: 'session-ended'; readonly reason: SessionEndReason };
