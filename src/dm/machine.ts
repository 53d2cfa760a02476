// The OMA-DM session state machine, pure and in two halves run once per exchange
// (docs/protocol-notes.md#package-1, #server-replies, #end-of-session, #large-objects):
// `receive(input)` applies the device's message (answers for its commands, its Status/Results
// matched, alerts, chunks) and `compose(received, pending)` fills the rest of the reply with queued
// commands → `{ state, reply, effects }`. No I/O: session.ts loads the inputs, runs the hooks on
// what `receive` found between the two halves, and records the effects in one transaction.
// `step(input)` is both halves at once.
import { ALERT, STATUS } from '../codec/syncml/codes.js';
import {
  encodeCommand,
  envelopeSize,
  type ServerHeader,
  type ServerMessage,
} from '../codec/syncml/encode.js';
import type { StatusCommand, SyncMlCommand, SyncMlMessage } from '../codec/syncml/types.js';
import type { DmCommand } from '../shared/dm-command.js';
import {
  code,
  holdGetStatuses,
  type Incoming,
  onAlert,
  onClientItemCommand,
  onResults,
  onStatus,
  settleContainers,
} from './incoming.js';
import {
  buildChunk,
  buildCommand,
  byteLength,
  CmdIdCounter,
  chunkEnd,
  chunkFrameSize,
  isChunkable,
} from './outgoing.js';
import type { AuthDecision, Effect, QueuedCommand, SentRef, SessionState } from './types.js';

export interface MachineOptions {
  /** Budget for a server message when the client declared no MaxMsgSize. */
  readonly defaultMaxMsgSize: number;
  /** May a 418'd Add on this path be retried as Replace? (catalog access rules) */
  readonly canReplace: (path: string) => boolean;
}

export interface StepInput {
  /** The device's active session with this SessionID, if any. */
  readonly state: SessionState | undefined;
  readonly message: SyncMlMessage;
  /** The authenticated device id (already checked to equal SyncHdr/Source/LocURI). */
  readonly deviceId: string;
  readonly auth: AuthDecision;
  /** Server command nodes sent earlier in this session. */
  readonly sent: readonly SentRef[];
  /** Queued commands referenced by `sent` (for 418 → Replace and chunk continuation). */
  readonly inFlight: readonly QueuedCommand[];
  /** The device's queue, in sending order. */
  readonly pending: readonly QueuedCommand[];
  readonly options: MachineOptions;
  /** DIGEST sessions: the RespURI of this reply and the hash of its token (session-token.ts). */
  readonly respUri?: { readonly uri: string; readonly tokenHash: string };
  /**
   * Does the device accept large objects? Its last reported `./DevDetail/LrgObj` (inventory;
   * `largeObjectSupport` in inventory.ts reads the value). Default true. With false, an item too
   * large for one message is refused instead of sent in chunks. A LrgObj Result read in the session
   * itself wins (kept in `SessionState.largeObjects`).
   */
  readonly largeObjects?: boolean;
}

export interface StepOutput {
  /** New session state to persist; undefined = persist nothing (refused message). */
  readonly state: SessionState | undefined;
  readonly reply: ServerMessage;
  readonly effects: readonly Effect[];
}

const SESSION_ALERTS = new Set<number>([ALERT.CLIENT_INITIATED_MGMT, ALERT.SERVER_INITIATED_MGMT]);

/** The session-type Alert (1201/1200) that opens package 1, if present (docs/protocol-notes.md#package-1). */
export function sessionAlert(msg: SyncMlMessage): number | undefined {
  for (const c of msg.commands) {
    if (c.kind === 'Alert') {
      const n = code(c.data);
      if (n !== undefined && SESSION_ALERTS.has(n)) return n;
    }
  }
  return undefined;
}

function hdrStatus(msg: SyncMlMessage, data: number, chal?: StatusCommand['chal']): StatusCommand {
  return {
    kind: 'Status',
    cmdId: 1,
    msgRef: msg.header.msgId,
    cmdRef: 0,
    cmd: 'SyncHdr',
    data: String(data),
    ...(chal && { chal }),
  };
}

/**
 * Under an authentication challenge nothing of the message was executed: every command in it gets
 * the same 401/407 (SyncML RepPro, "Authentication"), so a client that re-sends exactly the commands
 * answered 401/407 (libdmclient does) re-sends all of them with its Cred. Never a Status for a Status.
 */
function challengeStatuses(msg: SyncMlMessage, data: number): StatusCommand[] {
  const out: StatusCommand[] = [];
  const walk = (commands: readonly SyncMlCommand[]): void => {
    for (const c of commands) {
      if (c.kind === 'Status' || (c.kind === 'Unknown' && c.name === 'Status')) continue;
      out.push({
        kind: 'Status',
        cmdId: out.length + 2,
        msgRef: msg.header.msgId,
        cmdRef: c.cmdId,
        cmd: c.kind === 'Unknown' ? c.name : c.kind,
        data: String(data),
      });
      if (c.kind === 'Atomic' || c.kind === 'Sequence') walk(c.commands);
    }
  };
  walk(msg.commands);
  return out;
}

/** A stateless answer: SyncHdr status only (refused or unreadable message); a challenge answers every command. */
function refusal(input: StepInput, data: number, effects: Effect[], extra: SyncMlCommand[] = []): StepOutput {
  const h = input.message.header;
  const chal = input.auth.ok ? undefined : input.auth.chal;
  const state = input.state;
  const challenged = data === STATUS.INVALID_CREDENTIALS || data === STATUS.MISSING_CREDENTIALS;
  return {
    state: undefined,
    reply: {
      header: {
        sessionId: h.sessionId,
        msgId: state ? state.serverMsgId + 1 : h.msgId,
        target: h.source,
        source: h.target,
      },
      commands: [
        hdrStatus(input.message, data, chal),
        ...(challenged ? challengeStatuses(input.message, data) : []),
        ...extra,
      ],
      final: true,
    },
    effects,
  };
}

function duplicateCmdId(commands: readonly SyncMlCommand[], seen = new Set<number>()): number | undefined {
  for (const c of commands) {
    if (c.cmdId !== undefined) {
      if (seen.has(c.cmdId)) return c.cmdId;
      seen.add(c.cmdId);
    }
    if (c.kind === 'Atomic' || c.kind === 'Sequence') {
      const d = duplicateCmdId(c.commands, seen);
      if (d !== undefined) return d;
    }
  }
  return undefined;
}

function targetsUserScope(command: DmCommand): boolean {
  if ('commands' in command) return command.commands.some(targetsUserScope);
  return command.items.some((i) => /^\.\/user\//i.test(i.target));
}

/**
 * The device's message applied: a finished `StepOutput` when the reply is complete without queued
 * commands (refused, aborted, unenrolled, or more client messages to come), else an `OpenReply`
 * that `compose` finishes. Both carry the message's `effects`.
 */
export type Received = StepOutput | OpenReply;

/** A reply under way: the statuses for the device's message, before the queued commands. */
export interface OpenReply {
  readonly open: true;
  readonly state: SessionState;
  readonly header: ServerHeader;
  readonly reply: SyncMlCommand[];
  readonly ids: CmdIdCounter;
  readonly st: Incoming;
  /** What the message caused; `compose` appends what it sends to this same array. */
  readonly effects: Effect[];
  /** `StepInput.largeObjects`. */
  readonly largeObjects: boolean | undefined;
}

/** Both halves at once: `compose(receive(input), input.pending)`. */
export function step(input: StepInput): StepOutput {
  return compose(receive(input), input.pending);
}

/**
 * Apply the device's message. `input.pending` serves only to look up the commands its answers
 * refer to (418 → Replace, chunk continuation); what goes out is `compose`'s `pending`.
 */
export function receive(input: StepInput): Received {
  const { message: msg, auth } = input;
  const h = msg.header;
  if (!auth.ok) return refusal(input, auth.hdrStatus, []);
  const opening = sessionAlert(msg);
  let state = input.state?.status === 'active' ? input.state : undefined;
  const effects: Effect[] = [];
  if (opening !== undefined) {
    state = {
      deviceId: input.deviceId,
      sessionId: h.sessionId,
      serverMsgId: 0,
      clientMsgId: 0,
      status: 'active',
      authMethod: auth.method,
      maxMsgSize: h.maxMsgSize ?? input.options.defaultMaxMsgSize,
      ...(h.maxObjSize !== undefined && { maxObjSize: h.maxObjSize }),
      sentCommandIds: [],
    };
    effects.push({ kind: 'session-started', sessionId: h.sessionId, sessionAlert: opening });
  } else if (!state) {
    // A message for a session this server does not know: refuse and abort (docs/protocol-notes.md#end-of-session).
    const reason = `no active session ${h.sessionId} for this device`;
    return refusal(
      input,
      STATUS.NOT_FOUND,
      [{ kind: 'protocol-error', reason }],
      [{ kind: 'Alert', cmdId: 2, data: String(ALERT.SESSION_ABORT), items: [] }],
    );
  } else if (h.msgId <= state.clientMsgId) {
    return refusal(input, STATUS.BAD_REQUEST, [
      { kind: 'protocol-error', reason: `MsgID ${h.msgId} already seen (last ${state.clientMsgId})` },
    ]);
  }
  const header: ServerHeader = {
    sessionId: h.sessionId,
    msgId: state.serverMsgId + 1,
    target: h.source,
    source: h.target,
    // Counted in the MaxMsgSize budget below, like the rest of the header.
    ...(input.respUri && { respUri: input.respUri.uri }),
  };
  state = {
    ...state,
    ...(input.respUri && { respTokenHash: input.respUri.tokenHash }),
    serverMsgId: header.msgId,
    clientMsgId: h.msgId,
    maxMsgSize: h.maxMsgSize ?? state.maxMsgSize,
    ...((h.maxObjSize ?? state.maxObjSize) !== undefined && { maxObjSize: h.maxObjSize ?? state.maxObjSize }),
  };

  const dup = duplicateCmdId(msg.commands);
  if (dup !== undefined) {
    effects.push({ kind: 'protocol-error', reason: `duplicate CmdID ${dup}` });
    return { state, reply: { header, commands: [hdrStatus(msg, STATUS.BAD_REQUEST)], final: true }, effects };
  }

  const st: Incoming = {
    effects,
    refs: [...input.sent],
    inFlight: new Map([...input.inFlight, ...input.pending].map((q) => [q.id, q])),
    canReplace: input.options.canReplace,
    ...(state.incoming && { incoming: state.incoming }),
    interruptedChunk: false,
    chunkAcks: new Map(),
    ...(state.outgoing && { outgoing: state.outgoing }),
    answered: new Map(),
    held: [...(state.heldStatuses ?? [])],
  };
  const ids = new CmdIdCounter(1);
  const reply: SyncMlCommand[] = [hdrStatus(msg, auth.hdrStatus, auth.chal)];
  ids.take();
  const answer = (c: SyncMlCommand, data: number): void => {
    reply.push({
      kind: 'Status',
      cmdId: ids.take(),
      msgRef: h.msgId,
      cmdRef: c.cmdId,
      cmd: c.kind === 'Unknown' ? c.name : c.kind,
      data: String(data),
    });
  };
  // What the message says of the session itself: its alerts and the LrgObj Results it carries.
  let loginStatus = state.loginStatus;
  let largeObjects: boolean | undefined;
  let unenroll = false;
  let abort = false;
  for (const c of msg.commands) {
    switch (c.kind) {
      case 'Status':
        onStatus(c, st);
        break;
      case 'Results': {
        const supported = onResults(c, st);
        if (supported !== undefined) largeObjects = supported;
        break;
      }
      case 'Alert': {
        const a = onAlert(c);
        if (a.abort) abort = true;
        if (a.unenroll) unenroll = true;
        if (a.endOfData) st.incoming = undefined;
        if ('loginStatus' in a) loginStatus = a.loginStatus;
        for (const e of a.events) effects.push(e);
        answer(c, a.status);
        break;
      }
      case 'Atomic':
      case 'Sequence':
        answer(c, STATUS.OPTIONAL_FEATURE_NOT_SUPPORTED);
        break;
      case 'Unknown':
        // Never a Status for a client Status or Results (docs/protocol-notes.md#server-replies).
        if (c.name !== 'Status' && c.name !== 'Results') answer(c, STATUS.BAD_REQUEST);
        else effects.push({ kind: 'protocol-error', reason: `malformed ${c.name}` });
        break;
      default:
        answer(c, onClientItemCommand(c, st));
    }
  }
  holdGetStatuses(st, msg.final);
  if (msg.final) settleContainers(st);
  if (st.interruptedChunk)
    reply.push({ kind: 'Alert', cmdId: ids.take(), data: String(ALERT.NO_END_OF_DATA), items: [] });
  // The server's large object goes on only while the device accepts each chunk with 213 (OMA-DM 1.2
  // Protocol, Large Object Handling); any other answer ended it (incoming.ts `brokenChunk`).
  const chunkAck = state.outgoing && st.chunkAcks.get(state.outgoing.commandId);
  const chunkGoesOn = chunkAck === STATUS.CHUNK_ACCEPTED;
  state = {
    ...state,
    ...(loginStatus !== undefined && { loginStatus }),
    ...(largeObjects !== undefined && { largeObjects }),
    incoming: st.incoming,
    heldStatuses: st.held.length > 0 ? st.held : undefined,
    ...(chunkAck !== undefined && !chunkGoesOn && { outgoing: undefined }),
  };
  if (unenroll || abort) {
    if (unenroll) effects.push({ kind: 'unenroll' });
    effects.push({ kind: 'session-ended', reason: unenroll ? 'unenrolled' : 'aborted' });
    return {
      state: { ...state, status: 'closed', outgoing: undefined },
      reply: { header, commands: reply, final: true },
      effects,
    };
  }
  // While the server sends a large object the client answers each chunk with 213 + Alert 1222 and
  // no Final; anything else without Final means more client messages follow (docs/protocol-notes.md#large-objects).
  if (!msg.final && !chunkGoesOn) {
    // Ask for the next message and send nothing new.
    reply.push({ kind: 'Alert', cmdId: ids.take(), data: String(ALERT.NEXT_MESSAGE), items: [] });
    return { state, reply: { header, commands: reply, final: false }, effects };
  }
  return { open: true, state, header, reply, ids, st, effects, largeObjects: input.largeObjects };
}

/**
 * Finish the reply `receive` left open: the queued commands in `pending` order within the MaxMsgSize
 * budget (large objects in chunks), or the end of the session when there is nothing to send. Once
 * per `Received`: it appends to its effects and takes from its CmdID counter.
 */
export function compose(received: Received, pending: readonly QueuedCommand[]): StepOutput {
  if (!('open' in received)) return received;
  const { header, reply, ids, st, effects } = received;
  let state = received.state;
  const budget = state.maxMsgSize;
  let used = envelopeSize(header);
  for (const c of reply) used += byteLength(encodeCommand(c));
  const limits: Limits = {
    maxMsgSize: budget,
    ...(state.maxObjSize !== undefined && { maxObjSize: state.maxObjSize }),
    largeObjects: state.largeObjects ?? received.largeObjects ?? true,
  };
  const out = new Outgoing(header.msgId, ids, budget - used, effects, st, limits);
  state = out.fill(state, pending);
  if (out.commands.length === 0) {
    effects.push({ kind: 'session-ended', reason: 'completed' });
    return {
      state: { ...state, status: 'closed' },
      reply: { header, commands: reply, final: true },
      effects,
    };
  }
  // A chunk with more to come is not the end of the server's package (no Final, docs/protocol-notes.md#large-objects).
  return { state, reply: { header, commands: [...reply, ...out.commands], final: !state.outgoing }, effects };
}

/** What the device can take (OMA-DM 1.2 Protocol, "Large Object Handling"). */
interface Limits {
  readonly maxMsgSize: number;
  readonly maxObjSize?: number;
  readonly largeObjects: boolean;
}

/** Largest Item data in a command (bytes), nested commands included. */
function largestItem(command: DmCommand): number {
  if ('commands' in command) return Math.max(0, ...command.commands.map(largestItem));
  return Math.max(0, ...command.items.map((i) => (i.data === undefined ? 0 : byteLength(i.data))));
}

/** Fills the rest of one server message with queued commands, within the MaxMsgSize budget. */
class Outgoing {
  readonly commands: SyncMlCommand[] = [];
  constructor(
    private readonly msgId: number,
    private readonly ids: CmdIdCounter,
    private room: number,
    private readonly effects: Effect[],
    private readonly st: Incoming,
    private readonly limits: Limits,
  ) {}

  fill(state: SessionState, pending: readonly QueuedCommand[]): SessionState {
    if (state.outgoing) {
      const chunk = state.outgoing;
      const q = this.st.inFlight.get(chunk.commandId);
      // The device must have accepted the previous chunk with 213 (docs/protocol-notes.md#large-objects); otherwise the
      // large object is over (its status is recorded) and the queue goes on.
      if (q && this.st.chunkAcks.get(chunk.commandId) === STATUS.CHUNK_ACCEPTED) {
        return { ...state, outgoing: this.sendChunk(q, chunk.offset) };
      }
      state = { ...state, outgoing: undefined };
    }
    const sent = new Set(state.sentCommandIds);
    const newlySent: string[] = [];
    let outgoing: SessionState['outgoing'];
    for (const q of pending) {
      if (sent.has(q.id)) continue;
      // User-scoped commands only while the enrolled user is logged on (docs/protocol-notes.md#user-scope).
      if (targetsUserScope(q.command) && state.loginStatus !== 'user') continue;
      const object = largestItem(q.command);
      const { maxObjSize } = this.limits;
      if (maxObjSize !== undefined && object > maxObjSize) {
        this.effects.push({
          kind: 'rejected',
          commandId: q.id,
          reason: `item of ${object} bytes exceeds the device's MaxObjSize ${maxObjSize}`,
        });
        continue;
      }
      const refs: SentRef[] = [];
      const probe = new CmdIdCounter(this.ids.peek());
      const built = buildCommand(q.command, q.id, this.msgId, probe, refs);
      const size = byteLength(encodeCommand(built));
      if (size <= this.room) {
        this.accept(built, refs, probe);
        this.room -= size;
        newlySent.push(q.id);
        continue;
      }
      if (this.commands.length > 0) break; // the rest goes in the next message
      const whole = this.unchunkable(q.command, size, object);
      if (whole === undefined) {
        outgoing = this.sendChunk(q, 0);
        if (this.commands.length > 0) {
          newlySent.push(q.id);
          break;
        }
      }
      this.effects.push({
        kind: 'rejected',
        commandId: q.id,
        reason: whole ?? `command of ${size} bytes exceeds MaxMsgSize`,
      });
    }
    return { ...state, sentCommandIds: [...state.sentCommandIds, ...newlySent], outgoing };
  }

  /** Why a command too large for this message cannot go as a large object; undefined when it can. */
  private unchunkable(command: DmCommand, size: number, object: number): string | undefined {
    if (!isChunkable(command)) return `command of ${size} bytes exceeds MaxMsgSize`;
    if (this.limits.largeObjects) return undefined;
    return (
      `item of ${object} bytes (command of ${size} bytes) exceeds the device's MaxMsgSize ` +
      `${this.limits.maxMsgSize} and the device does not support large objects (./DevDetail/LrgObj false)`
    );
  }

  private accept(built: SyncMlCommand, refs: SentRef[], probe: CmdIdCounter): void {
    this.commands.push(built);
    while (this.ids.peek() < probe.peek()) this.ids.take();
    for (const ref of refs) this.effects.push({ kind: 'sent', ref });
  }

  /** Send the chunk starting at `offset`; returns the continuation, or undefined when this was the last. */
  private sendChunk(q: QueuedCommand, offset: number): SessionState['outgoing'] {
    if (!isChunkable(q.command)) return undefined;
    const cmdId = this.ids.peek();
    const room = this.room - chunkFrameSize(q.command, cmdId);
    const data = q.command.items[0]!.data!;
    const end = room > 0 ? chunkEnd(data, offset, room) : offset;
    if (end === offset) return undefined;
    const ref: SentRef = {
      msgId: this.msgId,
      cmdId: this.ids.take(),
      commandId: q.id,
      path: '',
      verb: q.command.verb,
      targets: [q.command.items[0]!.target],
    };
    this.commands.push(buildChunk(q.command, ref.cmdId, offset, end));
    this.effects.push({ kind: 'sent', ref });
    return end < data.length ? { commandId: q.id, offset: end } : undefined;
  }
}
