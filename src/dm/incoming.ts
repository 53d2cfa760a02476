// Handling what the client sends in one message (docs/protocol-notes.md#package-1, #server-replies, #end-of-session, #large-objects, #generic-alerts): answers for its
// commands, matching of its Status/Results to the server commands they refer to, alerts, and
// reassembly of chunked large objects. Pure; part of the session machine.
import { ALERT, ALERT_TYPE, STATUS } from '../codec/syncml/codes.js';
import type {
  AlertCommand,
  ItemCommand,
  ResultsCommand,
  StatusCommand,
  SyncMlItem,
} from '../codec/syncml/types.js';
import type { DmCommand } from '../shared/dm-command.js';
import { LARGE_OBJECT_NODE, largeObjectSupport } from './inventory.js';
import type {
  Effect,
  HeldStatus,
  IncomingChunk,
  OutgoingChunk,
  QueuedCommand,
  ResultItem,
  SentRef,
} from './types.js';

const INT_RE = /^\d{1,9}$/;
export function code(text: string): number | undefined {
  return INT_RE.test(text) ? Number(text) : undefined;
}

/**
 * What matching and reassembly carry from one command of the message to the next: a Status may
 * rewrite the effect of an earlier one for the same node, Results release Statuses held back, a chunk
 * continues the object of the one before. `receive` (machine.ts) threads it through `onStatus`,
 * `onResults` and `onClientItemCommand` in message order; `onAlert` needs none of it and returns
 * what it asks (`AlertAnswer`).
 */
export interface Incoming {
  readonly effects: Effect[];
  /** Sent refs of this session, updated as statuses arrive. */
  readonly refs: SentRef[];
  readonly inFlight: ReadonlyMap<string, QueuedCommand>;
  readonly canReplace: (path: string) => boolean;
  incoming?: IncomingChunk;
  /** A new command interrupted a chunked object: answer Alert 1225 (docs/protocol-notes.md#large-objects). */
  interruptedChunk: boolean;
  /** Status codes given to chunks of the server's own large object in this message. */
  chunkAcks: Map<string, number>;
  /** The server's large object in flight: the last chunk it sent had MoreData (OMA-DM 1.2 Protocol, Large Object Handling). */
  readonly outgoing?: OutgoingChunk;
  /**
   * Sent nodes answered in this message (`MsgRef/CmdRef`) → index of their `status` effect. A client
   * may answer each Item of a command with its own Status (same CmdRef, one TargetRef each).
   */
  readonly answered: Map<string, number>;
  /** Get Statuses held back from earlier messages of the package (`holdGetStatuses`). */
  held: HeldStatus[];
}

/** The command took effect: 2xx, except 213 (a chunk only), 215 (not executed), 216 (rolled back). */
export function tookEffect(value: number): boolean {
  return (
    value >= 200 &&
    value < 300 &&
    value !== STATUS.CHUNK_ACCEPTED &&
    value !== STATUS.NOT_EXECUTED &&
    value !== STATUS.ATOMIC_ROLLBACK_OK
  );
}

function toResultItem(item: SyncMlItem, fallback?: string): ResultItem | undefined {
  const locUri = item.source ?? item.target ?? fallback;
  if (!locUri) return undefined;
  return {
    locUri,
    ...(item.meta?.format !== undefined && { format: item.meta.format }),
    ...(item.meta?.type !== undefined && { type: item.meta.type }),
    ...(item.data !== undefined && { data: item.data }),
  };
}

/** A client Status for a server command: store the code; 418 on Add is retried as Replace (docs/protocol-notes.md#policy-csp). */
export function onStatus(s: StatusCommand, st: Incoming): void {
  if (s.cmdRef === 0) return; // the client's status for our SyncHdr
  const value = code(s.data);
  const key = `${s.msgRef}/${s.cmdRef}`;
  if (value !== undefined && st.answered.has(key)) {
    itemStatus(st, st.answered.get(key)!, value, s.originalError);
    return;
  }
  const index =
    s.cmdRef === undefined
      ? -1
      : st.refs.findIndex((r) => r.msgId === s.msgRef && r.cmdId === s.cmdRef && r.status === undefined);
  if (index === -1 || value === undefined) {
    st.effects.push({ kind: 'unmatched', what: 'Status', msgRef: s.msgRef, cmdRef: s.cmdRef ?? -1 });
    return;
  }
  const ref = { ...st.refs[index]!, status: value };
  st.refs[index] = ref;
  const originalError = s.originalError !== undefined ? { originalError: s.originalError } : {};
  if (ref.path === '') st.chunkAcks.set(ref.commandId, value);
  if (st.outgoing?.commandId === ref.commandId && ref.path === '' && value !== STATUS.CHUNK_ACCEPTED) {
    brokenChunk(ref, value, st.outgoing, st, originalError);
    return;
  }
  st.answered.set(key, st.effects.length);
  st.effects.push({ kind: 'status', ref, code: value, ...originalError });
  if (value === STATUS.ALREADY_EXISTS && ref.path === '' && ref.verb === 'Add') {
    const queued = st.inFlight.get(ref.commandId);
    if (queued && 'items' in queued.command && ref.targets.every((t) => st.canReplace(t))) {
      const retry: DmCommand = { verb: 'Replace', items: queued.command.items };
      st.effects.push({
        kind: 'enqueue',
        command: retry,
        origin: queued.origin,
        ...(queued.tag !== undefined && { tag: queued.tag }),
        retryOf: queued.id,
      });
    }
  }
}

/**
 * A further Status for a node already answered in this message: one per Item (SyncML RepPro
 * allows a Status per Item, with its TargetRef). The node's code is the first failure, if any.
 */
function itemStatus(st: Incoming, effectIndex: number, value: number, originalError?: string): void {
  const earlier = st.effects[effectIndex];
  if (earlier?.kind !== 'status' || !tookEffect(earlier.code) || tookEffect(value)) return;
  const ref = { ...earlier.ref, status: value };
  const index = st.refs.findIndex((r) => r.msgId === ref.msgId && r.cmdId === ref.cmdId);
  if (index !== -1) st.refs[index] = ref;
  if (ref.path === '') st.chunkAcks.set(ref.commandId, value);
  st.effects[effectIndex] = {
    kind: 'status',
    ref,
    code: value,
    ...(originalError !== undefined && { originalError }),
  };
}

/**
 * The device answered a chunk that announced more data (MoreData) with a final status instead of
 * 213 (OMA-DM 1.2 Protocol, Large Object Handling): whatever it did, it holds part of the object.
 * Nothing more of it is sent; the command fails, and the device's code is kept on the node.
 */
function brokenChunk(
  ref: SentRef,
  value: number,
  chunk: OutgoingChunk,
  st: Incoming,
  originalError: { originalError?: string },
): void {
  const queued = st.inFlight.get(ref.commandId);
  const data = queued && 'items' in queued.command ? (queued.command.items[0]?.data ?? '') : '';
  const sent = Buffer.byteLength(data.slice(0, chunk.offset));
  st.effects.push({ kind: 'node-status', ref, code: value, ...originalError });
  st.effects.push({
    kind: 'rejected',
    commandId: ref.commandId,
    reason:
      `device answered ${value} to a non-last large-object chunk ` +
      `(${sent} of ${Buffer.byteLength(data)} bytes sent); the rest was not sent`,
  });
}

/**
 * Results for a Get: matched by (MsgRef, CmdRef); chunked data is reassembled first. Returns the
 * `./DevDetail/LrgObj` value they report (whether the device accepts large objects), if any.
 */
export function onResults(r: ResultsCommand, st: Incoming): boolean | undefined {
  const ref = st.refs.find((x) => x.msgId === r.msgRef && x.cmdId === r.cmdRef);
  if (!ref) {
    st.effects.push({ kind: 'unmatched', what: 'Results', msgRef: r.msgRef, cmdRef: r.cmdRef });
    return undefined;
  }
  const items: ResultItem[] = [];
  for (const item of r.items) {
    const whole = reassemble(item, 'Results', r.msgRef, r.cmdRef, st);
    if (whole === 'pending') continue;
    if (whole === 'mismatch') {
      st.effects.push({ kind: 'protocol-error', reason: `Results ${r.msgRef}/${r.cmdRef}: size mismatch` });
      continue;
    }
    const ri = toResultItem(whole, ref.targets[0]);
    if (ri) items.push(ri);
  }
  let largeObjects: boolean | undefined;
  for (const ri of items) {
    const supported = ri.locUri === LARGE_OBJECT_NODE ? largeObjectSupport(ri.data) : undefined;
    if (supported !== undefined) largeObjects = supported;
  }
  if (items.length === 0) return largeObjects;
  releaseHeld(st, (h) => h.msgId === ref.msgId && h.cmdId === ref.cmdId);
  st.effects.push({ kind: 'results', ref, items });
  return largeObjects;
}

/**
 * At the end of a message: a Get answered 2xx here without its Results, in a package that goes on,
 * keeps its Status back (types.ts `HeldStatus`) so that the command completes, and its outcome is
 * judged, with the Results it asked for. At the end of the package everything held is reported.
 */
export function holdGetStatuses(st: Incoming, packageEnds: boolean): void {
  if (packageEnds) {
    releaseHeld(st, () => true);
    return;
  }
  const withResults = new Set<string>();
  for (const e of st.effects) if (e.kind === 'results') withResults.add(`${e.ref.msgId}/${e.ref.cmdId}`);
  for (let i = st.effects.length - 1; i >= 0; i--) {
    const e = st.effects[i]!;
    if (e.kind !== 'status' || e.ref.verb !== 'Get' || !tookEffect(e.code)) continue;
    if (withResults.has(`${e.ref.msgId}/${e.ref.cmdId}`)) continue;
    st.effects.splice(i, 1);
    st.held.push({
      msgId: e.ref.msgId,
      cmdId: e.ref.cmdId,
      code: e.code,
      ...(e.originalError !== undefined && { originalError: e.originalError }),
    });
  }
}

/** Reports the held Statuses `which` selects, before anything else of theirs in this message. */
function releaseHeld(st: Incoming, which: (h: HeldStatus) => boolean): void {
  const keep: HeldStatus[] = [];
  for (const h of st.held) {
    const index = which(h) ? st.refs.findIndex((r) => r.msgId === h.msgId && r.cmdId === h.cmdId) : -1;
    if (index === -1) {
      keep.push(h);
      continue;
    }
    const ref = { ...st.refs[index]!, status: h.code };
    st.refs[index] = ref;
    st.effects.push({
      kind: 'status',
      ref,
      code: h.code,
      ...(h.originalError !== undefined && { originalError: h.originalError }),
    });
  }
  st.held = keep;
}

const CONTAINERS = new Set(['Atomic', 'Sequence']);
const depth = (path: string) => (path === '' ? 0 : path.split('.').length);
const childIndex = (parent: string, path: string): number | undefined => {
  const rest = parent === '' ? path : path.startsWith(`${parent}.`) ? path.slice(parent.length + 1) : '';
  return /^\d+$/.test(rest) ? Number(rest) : undefined;
};

/**
 * Atomic/Sequence nodes the device answered only through their children (OMA-DM 1.2 clients such as
 * libdmclient send no Status for an Atomic): once every child has its Status, the container's own
 * follows from them, as if the device had sent it. All children took effect → 200; otherwise an
 * Atomic failed (507, SyncML RepPro "Atomic") and a Sequence stopped at its first failing child
 * (that child's code). Innermost containers first, so nested ones settle their parents. Run once
 * the client's package is complete (Final), when a container's own Status can no longer follow.
 */
export function settleContainers(st: Incoming): void {
  const open = st.refs
    .filter((r) => CONTAINERS.has(r.verb) && r.status === undefined)
    .sort((a, b) => depth(b.path) - depth(a.path));
  for (const container of open) {
    const children = st.refs
      .filter(
        (r) =>
          r.msgId === container.msgId &&
          r.commandId === container.commandId &&
          childIndex(container.path, r.path) !== undefined,
      )
      .sort((a, b) => childIndex(container.path, a.path)! - childIndex(container.path, b.path)!);
    if (children.length === 0 || children.some((r) => r.status === undefined)) continue;
    const failed = children.find((r) => !tookEffect(r.status!));
    const value =
      failed === undefined ? STATUS.OK : container.verb === 'Atomic' ? STATUS.ATOMIC_FAILED : failed.status!;
    const ref = { ...container, status: value };
    const index = st.refs.findIndex((r) => r.msgId === ref.msgId && r.cmdId === ref.cmdId);
    st.refs[index] = ref;
    st.effects.push({ kind: 'status', ref, code: value, inferred: true });
  }
}

/**
 * Large-object reassembly (docs/protocol-notes.md#large-objects): returns the whole item, 'pending' while chunks are
 * still coming, or 'mismatch' when the total differs from the announced Meta Size (424).
 */
function reassemble(
  item: SyncMlItem,
  kind: IncomingChunk['kind'],
  msgRef: number,
  cmdRef: number,
  st: Incoming,
): SyncMlItem | 'pending' | 'mismatch' {
  const cur = st.incoming;
  const continues =
    cur !== undefined && cur.kind === kind && (cur.source ?? '') === (item.source ?? item.target ?? '');
  if (cur && !continues) {
    st.incoming = undefined;
    st.interruptedChunk = true;
  }
  if (!item.moreData && !continues) return item;
  const data = (continues ? cur!.data : '') + (item.data ?? '');
  if (item.moreData) {
    const first = continues ? cur! : undefined;
    st.incoming = {
      kind,
      msgRef,
      cmdRef,
      ...((item.source ?? item.target) !== undefined && { source: item.source ?? item.target }),
      ...((first?.format ?? item.meta?.format) !== undefined && {
        format: first?.format ?? item.meta?.format,
      }),
      ...((first?.type ?? item.meta?.type) !== undefined && { type: first?.type ?? item.meta?.type }),
      ...((first?.size ?? item.meta?.size) !== undefined && { size: first?.size ?? item.meta?.size }),
      data,
    };
    return 'pending';
  }
  const size = cur!.size;
  st.incoming = undefined;
  if (size !== undefined && Buffer.byteLength(data) !== size) return 'mismatch';
  return {
    ...item,
    data,
    meta: {
      ...(cur!.format !== undefined && { format: cur!.format }),
      ...(cur!.type !== undefined && { type: cur!.type }),
    },
  };
}

/** Client Add/Replace (DevInfo in package 1, docs/protocol-notes.md#package-1) → stored; other verbs are refused. */
export function onClientItemCommand(c: ItemCommand, st: Incoming): number {
  if (c.kind !== 'Replace' && c.kind !== 'Add') return STATUS.COMMAND_NOT_ALLOWED;
  const items: ResultItem[] = [];
  let result: number = STATUS.OK;
  for (const item of c.items) {
    const whole = reassemble(item, 'Command', 0, c.cmdId, st);
    if (whole === 'pending') {
      result = STATUS.CHUNK_ACCEPTED;
      continue;
    }
    if (whole === 'mismatch') return STATUS.SIZE_MISMATCH;
    const ri = toResultItem(whole);
    if (ri) items.push(ri);
  }
  if (items.length > 0) st.effects.push({ kind: 'devinfo', items });
  return result;
}

/** What a client Alert asks of the session; the caller applies it where the Alert stands. */
export interface AlertAnswer {
  /** The Status for the Alert. */
  readonly status: number;
  /** The generic alerts it carried, as `event` effects in item order. */
  readonly events: readonly Effect[];
  /** 1223: the device ends the session. */
  readonly abort?: true;
  /** 1225: the device gives up the large object it was sending. */
  readonly endOfData?: true;
  /** The 1226 unenrollment request (docs/protocol-notes.md#generic-alerts). */
  readonly unenroll?: true;
  /** The LoginStatus alert's value; present (possibly undefined) when the Alert carried one. */
  readonly loginStatus?: string | undefined;
}

const NO_EVENTS: readonly Effect[] = Object.freeze([]);
const ALERT_OK: AlertAnswer = Object.freeze({ status: STATUS.OK, events: NO_EVENTS });
const ALERT_INCOMPLETE: AlertAnswer = Object.freeze({ status: STATUS.INCOMPLETE_COMMAND, events: NO_EVENTS });
const ALERT_ABORT: AlertAnswer = Object.freeze({ status: STATUS.OK, events: NO_EVENTS, abort: true });
const ALERT_END_OF_DATA: AlertAnswer = Object.freeze({
  status: STATUS.OK,
  events: NO_EVENTS,
  endOfData: true,
});

/** Client alerts (docs/protocol-notes.md#alert-codes, #generic-alerts): dispatch on Meta/Type; always answered (200). */
export function onAlert(a: AlertCommand): AlertAnswer {
  const alertCode = code(a.data);
  if (alertCode === undefined) return ALERT_INCOMPLETE;
  switch (alertCode) {
    case ALERT.SESSION_ABORT:
      return ALERT_ABORT;
    case ALERT.NO_END_OF_DATA:
      return ALERT_END_OF_DATA;
    case ALERT.CLIENT_INITIATED_MGMT:
    case ALERT.SERVER_INITIATED_MGMT:
    case ALERT.NEXT_MESSAGE:
      return ALERT_OK;
  }
  const events: Effect[] = [];
  let login: { loginStatus: string | undefined } | undefined;
  let unenroll = false;
  for (const item of a.items) {
    const type = item.meta?.type ?? '';
    if (type === ALERT_TYPE.LOGIN_STATUS) {
      login = { loginStatus: item.data?.trim() };
      continue;
    }
    if (type === ALERT_TYPE.REQUEST_PENDING) continue; // keep-alive (docs/protocol-notes.md#microsoft-extensions)
    if (type === ALERT_TYPE.UNENROLL_USER_REQUEST) unenroll = true;
    events.push({
      kind: 'event',
      alertCode,
      type,
      ...(item.meta?.format !== undefined && { format: item.meta.format }),
      ...(item.meta?.mark !== undefined && { mark: item.meta.mark }),
      ...((item.source ?? item.target) !== undefined && { source: item.source ?? item.target }),
      ...(item.data !== undefined && { data: item.data }),
    });
  }
  if (a.items.length === 0) events.push({ kind: 'event', alertCode, type: '' });
  return { status: STATUS.OK, events, ...(unenroll && { unenroll: true as const }), ...login };
}
