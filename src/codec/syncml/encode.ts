// SyncML DM 1.2 writer for the server's messages: a small escaping string writer (the hot path of
// every exchange). Element order follows the DTD (docs/protocol-notes.md#syncml-messages, #server-replies, #commands);
// Meta children carry xmlns="syncml:metinf" (docs/protocol-notes.md#syncml-messages); output is compact, no XML declaration.
import { escapeXml } from '../xml.js';
import { METINF_NS, SYNCML_NS } from './codes.js';
import type { SyncMlChal, SyncMlCommand, SyncMlItem, SyncMlMeta } from './types.js';

export interface ServerHeader {
  readonly sessionId: string;
  readonly msgId: number;
  /** The device id (client's Source LocURI). */
  readonly target: string;
  /** The server URL (client's Target LocURI). */
  readonly source: string;
  /** URL the client must use for its next message (docs/protocol-notes.md#syncml-messages); written after Source. */
  readonly respUri?: string;
}

export interface ServerMessage {
  readonly header: ServerHeader;
  readonly commands: readonly SyncMlCommand[];
  readonly final: boolean;
}

const esc = escapeXml;

function el(name: string, value: string | number): string {
  return `<${name}>${typeof value === 'number' ? value : esc(value)}</${name}>`;
}

function metinf(name: string, value: string | number): string {
  return `<${name} xmlns="${METINF_NS}">${typeof value === 'number' ? value : esc(value)}</${name}>`;
}

export function encodeMeta(meta: SyncMlMeta | undefined): string {
  if (!meta) return '';
  let s = '';
  if (meta.format !== undefined) s += metinf('Format', meta.format);
  if (meta.type !== undefined) s += metinf('Type', meta.type);
  if (meta.mark !== undefined) s += metinf('Mark', meta.mark);
  if (meta.size !== undefined) s += metinf('Size', meta.size);
  if (meta.nextNonce !== undefined) s += metinf('NextNonce', meta.nextNonce);
  if (meta.maxMsgSize !== undefined) s += metinf('MaxMsgSize', meta.maxMsgSize);
  if (meta.maxObjSize !== undefined) s += metinf('MaxObjSize', meta.maxObjSize);
  return s === '' ? '' : `<Meta>${s}</Meta>`;
}

export function encodeItem(item: SyncMlItem): string {
  let s = '<Item>';
  if (item.target !== undefined) s += `<Target>${el('LocURI', item.target)}</Target>`;
  if (item.source !== undefined) s += `<Source>${el('LocURI', item.source)}</Source>`;
  s += encodeMeta(item.meta);
  if (item.data !== undefined) s += el('Data', item.data);
  if (item.moreData) s += '<MoreData/>';
  return `${s}</Item>`;
}

function encodeChal(chal: SyncMlChal): string {
  return (
    `<Chal><Meta>${metinf('Type', chal.type)}${metinf('Format', chal.format)}` +
    `${metinf('NextNonce', chal.nextNonce)}</Meta></Chal>`
  );
}

/** One command (Status, Alert, Get/Add/Replace/Delete/Exec, Atomic/Sequence). */
export function encodeCommand(cmd: SyncMlCommand): string {
  switch (cmd.kind) {
    case 'Status': {
      let s = `<Status>${el('CmdID', cmd.cmdId)}${el('MsgRef', cmd.msgRef)}`;
      s += cmd.cmdRef === undefined ? '<CmdRef></CmdRef>' : el('CmdRef', cmd.cmdRef);
      s += el('Cmd', cmd.cmd);
      for (const t of cmd.targetRefs ?? []) s += el('TargetRef', t);
      for (const t of cmd.sourceRefs ?? []) s += el('SourceRef', t);
      if (cmd.chal) s += encodeChal(cmd.chal);
      s += el('Data', cmd.data);
      for (const item of cmd.items ?? []) s += encodeItem(item);
      return `${s}</Status>`;
    }
    case 'Alert': {
      let s = `<Alert>${el('CmdID', cmd.cmdId)}${el('Data', cmd.data)}`;
      for (const item of cmd.items) s += encodeItem(item);
      return `${s}</Alert>`;
    }
    case 'Results': {
      let s = `<Results>${el('CmdID', cmd.cmdId)}${el('MsgRef', cmd.msgRef)}${el('CmdRef', cmd.cmdRef)}`;
      for (const item of cmd.items) s += encodeItem(item);
      return `${s}</Results>`;
    }
    case 'Atomic':
    case 'Sequence': {
      let s = `<${cmd.kind}>${el('CmdID', cmd.cmdId)}`;
      for (const child of cmd.commands) s += encodeCommand(child);
      return `${s}</${cmd.kind}>`;
    }
    case 'Unknown':
      throw new Error(`cannot encode unknown command ${cmd.name}`);
    default: {
      let s = `<${cmd.kind}>${el('CmdID', cmd.cmdId)}${encodeMeta(cmd.meta)}`;
      for (const item of cmd.items) s += encodeItem(item);
      return `${s}</${cmd.kind}>`;
    }
  }
}

export function encodeHeader(h: ServerHeader): string {
  return (
    `<SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto>${el('SessionID', h.sessionId)}` +
    `${el('MsgID', h.msgId)}<Target>${el('LocURI', h.target)}</Target>` +
    `<Source>${el('LocURI', h.source)}</Source>` +
    `${h.respUri === undefined ? '' : el('RespURI', h.respUri)}</SyncHdr>`
  );
}

/** Bytes the envelope adds around the commands (for MaxMsgSize budgeting). */
export function envelopeSize(h: ServerHeader): number {
  return Buffer.byteLength(encodeHeader(h)) + ENVELOPE_FIXED.length;
}

const ENVELOPE_FIXED = `<SyncML xmlns="${SYNCML_NS}"></SyncML><SyncBody></SyncBody><Final/>`;

export function encodeSyncMl(msg: ServerMessage): string {
  let s = `<SyncML xmlns="${SYNCML_NS}">${encodeHeader(msg.header)}<SyncBody>`;
  for (const cmd of msg.commands) s += encodeCommand(cmd);
  if (msg.final) s += '<Final/>';
  return `${s}</SyncBody></SyncML>`;
}
