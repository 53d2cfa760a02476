// The device side of the SyncML wire: reads a server message (through the SyncML codec) into the
// small command shape the device executes, and writes the device's messages exactly as Windows
// does — compact XML, no declaration, `xmlns="syncml:metinf"` on each Meta child, child order per
// the DTD (MS-MDM 2.2.2; docs/protocol-notes.md#syncml-messages). Writing is a small escaping writer: the per-message path of a
// simulated fleet must stay cheap.
import { METINF_NS, SYNCML_NS } from '../codec/syncml/codes.js';
import { parseSyncMl } from '../codec/syncml/parse.js';
import type { SyncMlCommand, SyncMlItem, SyncMlMeta } from '../codec/syncml/types.js';
import { escapeXml } from '../codec/xml.js';

export interface ServerItem {
  readonly target?: string;
  readonly source?: string;
  readonly format?: string;
  readonly type?: string;
  /** Meta Size: total size of a chunked large object (docs/protocol-notes.md#large-objects). */
  readonly size?: number;
  readonly data?: string;
  readonly moreData: boolean;
}

export interface ServerCommand {
  /** Element name: Get, Add, Replace, Delete, Exec, Atomic, Sequence, Alert, … */
  readonly name: string;
  readonly cmdId: string;
  readonly items: readonly ServerItem[];
  /** Inner commands of Atomic / Sequence. */
  readonly commands?: readonly ServerCommand[];
  /** Alert code (Alert only). */
  readonly data?: string;
}

export interface ServerChallenge {
  readonly type: string;
  readonly format: string;
  readonly nextNonce: string;
}

export interface ServerStatus {
  readonly cmdId: string;
  readonly msgRef: string;
  readonly cmdRef: string;
  readonly cmd: string;
  readonly data: string;
  readonly chal?: ServerChallenge;
}

export interface ServerMessage {
  readonly sessionId: string;
  readonly msgId: string;
  readonly target: string;
  readonly source: string;
  readonly respUri?: string;
  readonly maxMsgSize?: number;
  readonly maxObjSize?: number;
  readonly statuses: readonly ServerStatus[];
  /** Every other SyncBody child (commands and Alerts), in order. */
  readonly commands: readonly ServerCommand[];
  readonly final: boolean;
}

/** Parse a server SyncML message with the codec (`src/codec/syncml`), into the device's view. */
export function parseServerMessage(body: string, maxBytes = 4 * 1024 * 1024): ServerMessage {
  const msg = parseSyncMl(body, { maxBytes });
  const statuses: ServerStatus[] = [];
  const commands: ServerCommand[] = [];
  for (const c of msg.commands) {
    if (c.kind === 'Status') {
      statuses.push({
        cmdId: String(c.cmdId),
        msgRef: String(c.msgRef),
        cmdRef: c.cmdRef === undefined ? '' : String(c.cmdRef),
        cmd: c.cmd,
        data: c.data,
        chal: c.chal,
      });
    } else {
      commands.push(toServerCommand(c));
    }
  }
  const h = msg.header;
  return {
    sessionId: h.sessionId,
    msgId: String(h.msgId),
    target: h.target,
    source: h.source,
    respUri: h.respUri,
    maxMsgSize: h.maxMsgSize,
    maxObjSize: h.maxObjSize,
    statuses,
    commands,
    final: msg.final,
  };
}

function toServerCommand(c: Exclude<SyncMlCommand, { kind: 'Status' }>): ServerCommand {
  switch (c.kind) {
    case 'Unknown':
      return { name: c.name, cmdId: c.cmdId === undefined ? '' : String(c.cmdId), items: [] };
    case 'Alert':
      return { name: 'Alert', cmdId: String(c.cmdId), items: c.items.map((i) => toItem(i)), data: c.data };
    case 'Results':
      return { name: 'Results', cmdId: String(c.cmdId), items: c.items.map((i) => toItem(i)) };
    case 'Atomic':
    case 'Sequence':
      return {
        name: c.kind,
        cmdId: String(c.cmdId),
        items: [],
        commands: c.commands.map((x) =>
          x.kind === 'Status' ? { name: 'Status', cmdId: String(x.cmdId), items: [] } : toServerCommand(x),
        ),
      };
    default:
      return { name: c.kind, cmdId: String(c.cmdId), items: c.items.map((i) => toItem(i, c.meta)) };
  }
}

/** Item Meta wins over the command's Meta (OMA DM RepPro). */
function toItem(i: SyncMlItem, cmdMeta?: SyncMlMeta): ServerItem {
  return {
    target: i.target,
    source: i.source,
    format: i.meta?.format ?? cmdMeta?.format,
    type: i.meta?.type ?? cmdMeta?.type,
    size: i.meta?.size,
    data: i.data,
    moreData: i.moreData === true,
  };
}

// ---- Writing (device → server) ----------------------------------------------------------------

const meta = (local: string, value: string) =>
  `<${local} xmlns="${METINF_NS}">${escapeXml(value)}</${local}>`;

export interface ClientHeader {
  readonly sessionId: string;
  readonly msgId: number;
  /** Server URL (ADDR without query). */
  readonly target: string;
  /** DeviceID. */
  readonly source: string;
  /** DIGEST credentials (docs/protocol-notes.md#digest-authentication). */
  readonly cred?: { readonly type: string; readonly data: string };
  readonly maxMsgSize?: number;
}

export function encodeMessage(hdr: ClientHeader, body: readonly string[], final: boolean): string {
  let h =
    `<SyncML xmlns="${SYNCML_NS}"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto>` +
    `<SessionID>${escapeXml(hdr.sessionId)}</SessionID><MsgID>${hdr.msgId}</MsgID>` +
    `<Target><LocURI>${escapeXml(hdr.target)}</LocURI></Target>` +
    `<Source><LocURI>${escapeXml(hdr.source)}</LocURI></Source>`;
  if (hdr.cred) {
    h += `<Cred><Meta>${meta('Format', 'b64')}${meta('Type', hdr.cred.type)}</Meta><Data>${escapeXml(hdr.cred.data)}</Data></Cred>`;
  }
  if (hdr.maxMsgSize) h += `<Meta>${meta('MaxMsgSize', String(hdr.maxMsgSize))}</Meta>`;
  return `${h}</SyncHdr><SyncBody>${body.join('')}${final ? '<Final/>' : ''}</SyncBody></SyncML>`;
}

export interface AlertItem {
  readonly source?: string;
  readonly type?: string;
  readonly format?: string;
  readonly mark?: string;
  readonly data: string;
}

export function encodeAlert(cmdId: number, code: number | string, items: readonly AlertItem[] = []): string {
  let s = `<Alert><CmdID>${cmdId}</CmdID><Data>${code}</Data>`;
  for (const item of items) {
    s += '<Item>';
    if (item.source) s += `<Source><LocURI>${escapeXml(item.source)}</LocURI></Source>`;
    if (item.type || item.format || item.mark) {
      s += '<Meta>';
      if (item.type) s += meta('Type', item.type);
      if (item.format) s += meta('Format', item.format);
      if (item.mark) s += meta('Mark', item.mark);
      s += '</Meta>';
    }
    s += `<Data>${escapeXml(item.data)}</Data></Item>`;
  }
  return `${s}</Alert>`;
}

/** The DevInfo Replace of package 1: Source LocURI + Data, no Meta (as Windows sends it). */
export function encodeDevInfoReplace(
  cmdId: number,
  values: ReadonlyArray<readonly [string, string]>,
): string {
  let s = `<Replace><CmdID>${cmdId}</CmdID>`;
  for (const [path, value] of values) {
    s += `<Item><Source><LocURI>${escapeXml(path)}</LocURI></Source><Data>${escapeXml(value)}</Data></Item>`;
  }
  return `${s}</Replace>`;
}

export interface StatusOut {
  readonly cmdId: number;
  readonly msgRef: string;
  readonly cmdRef: string;
  readonly cmd: string;
  readonly data: number | string;
  /** Written by strict OMA-DM clients (one Status per Item); Windows writes none. */
  readonly targetRef?: string;
}

/** Windows writes no TargetRef/SourceRef in its Statuses (captures, SOURCE.md). */
export function encodeStatus(s: StatusOut): string {
  const targetRef = s.targetRef === undefined ? '' : `<TargetRef>${escapeXml(s.targetRef)}</TargetRef>`;
  return (
    `<Status><CmdID>${s.cmdId}</CmdID><MsgRef>${escapeXml(s.msgRef)}</MsgRef>` +
    `<CmdRef>${escapeXml(s.cmdRef)}</CmdRef><Cmd>${s.cmd}</Cmd>${targetRef}<Data>${s.data}</Data></Status>`
  );
}

export interface ResultsItemOut {
  readonly source: string;
  readonly format: string;
  readonly type?: string;
  readonly data: string;
  /** Total size, on the first chunk of a large object. */
  readonly size?: number;
  readonly moreData?: boolean;
}

export function encodeResults(
  cmdId: number,
  msgRef: string,
  cmdRef: string,
  items: readonly ResultsItemOut[],
): string {
  let s = `<Results><CmdID>${cmdId}</CmdID><MsgRef>${escapeXml(msgRef)}</MsgRef><CmdRef>${escapeXml(cmdRef)}</CmdRef>`;
  for (const item of items) {
    s += `<Item><Source><LocURI>${escapeXml(item.source)}</LocURI></Source><Meta>${meta('Format', item.format)}`;
    if (item.type) s += meta('Type', item.type);
    if (item.size !== undefined) s += meta('Size', String(item.size));
    s += `</Meta><Data>${escapeXml(item.data)}</Data>${item.moreData ? '<MoreData/>' : ''}</Item>`;
  }
  return `${s}</Results>`;
}
