// SyncML DM 1.2 reader: untrusted bytes → typed message (MS-MDM 2.2; docs/protocol-notes.md#syncml-messages to #commands).
// Goes through the hardened single-pass reader scan.ts (no DOCTYPE, size and depth caps, order
// preserved; same guarantees as codec/xml.ts parseXml) and matches
// elements on namespace URI + local name: SyncML elements in SYNCML:SYNCML1.2 (or 1.1), Meta
// children in syncml:metinf (docs/protocol-notes.md#namespaces, #syncml-messages).
import { childElement, childElements, isElement, textOf, type XmlElement, XmlError } from '../xml.js';
import { METINF_NS, SYNCML_NS, SYNCML_NS_11 } from './codes.js';
import { scanXml } from './scan.js';
import type {
  SyncMlChal,
  SyncMlCommand,
  SyncMlCred,
  SyncMlHeader,
  SyncMlItem,
  SyncMlMessage,
  SyncMlMeta,
} from './types.js';

export type SyncMlErrorCode = 'xml' | 'not-syncml' | 'bad-header';

/**
 * The single error type for unreadable SyncML. It keeps the raw text for fixtures and debugging,
 * as a non-enumerable property: the text can hold credentials (Cred), so serialising the error
 * into a log record must not copy it.
 */
export class SyncMlError extends Error {
  override name = 'SyncMlError';
  declare readonly raw: string;
  constructor(
    readonly code: SyncMlErrorCode,
    message: string,
    raw: string,
  ) {
    super(message);
    Object.defineProperty(this, 'raw', { value: raw, enumerable: false });
  }
}

export interface ParseSyncMlOptions {
  maxBytes?: number;
  maxDepth?: number;
}

const ITEM_VERBS = new Set(['Get', 'Add', 'Replace', 'Delete', 'Exec']);
const INT_RE = /^\s*(\d{1,9})\s*$/;

function toInt(text: string): number | undefined {
  const m = INT_RE.exec(text);
  return m ? Number(m[1]) : undefined;
}

export function parseSyncMl(input: string | Buffer, options: ParseSyncMlOptions = {}): SyncMlMessage {
  let root: XmlElement;
  try {
    root = scanXml(input, { maxBytes: options.maxBytes ?? 1024 * 1024, maxDepth: options.maxDepth ?? 32 });
  } catch (err) {
    const raw = typeof input === 'string' ? input : input.toString('utf8');
    if (err instanceof XmlError) throw new SyncMlError('xml', `${err.code}: ${err.message}`, raw);
    throw err;
  }
  const ns = root.ns;
  const raw = (): string => (typeof input === 'string' ? input : input.toString('utf8'));
  if (root.local !== 'SyncML' || (ns !== SYNCML_NS && ns !== SYNCML_NS_11)) {
    throw new SyncMlError('not-syncml', `root element is {${ns}}${root.local}, expected SyncML`, raw());
  }
  const hdr = childElement(root, 'SyncHdr', ns);
  const body = childElement(root, 'SyncBody', ns);
  if (!hdr || !body) throw new SyncMlError('bad-header', 'SyncHdr and SyncBody are required', raw());
  const header = readHeader(hdr, ns, raw);
  const commands: SyncMlCommand[] = [];
  let final = false;
  for (const child of body.children) {
    if (!isElement(child)) continue;
    if (child.ns === ns && child.local === 'Final') {
      final = true;
      continue;
    }
    commands.push(readCommand(child, ns));
  }
  return { header, commands, final };
}

function text(el: XmlElement | undefined): string | undefined {
  return el ? textOf(el) : undefined;
}

function locUri(el: XmlElement | undefined, ns: string): string | undefined {
  return el ? text(childElement(el, 'LocURI', ns))?.trim() : undefined;
}

function readHeader(hdr: XmlElement, ns: string, raw: () => string): SyncMlHeader {
  const sessionId = text(childElement(hdr, 'SessionID', ns))?.trim();
  const msgId = toInt(text(childElement(hdr, 'MsgID', ns)) ?? '');
  const targetEl = childElement(hdr, 'Target', ns);
  const sourceEl = childElement(hdr, 'Source', ns);
  const target = locUri(targetEl, ns);
  const source = locUri(sourceEl, ns);
  if (!sessionId || msgId === undefined || msgId < 1 || !target || !source) {
    throw new SyncMlError('bad-header', 'SyncHdr needs SessionID, MsgID ≥ 1, Target and Source', raw());
  }
  const meta = readMeta(childElement(hdr, 'Meta', ns));
  const credEl = childElement(hdr, 'Cred', ns);
  let cred: SyncMlCred | undefined;
  if (credEl) {
    const cm = readMeta(childElement(credEl, 'Meta', ns));
    cred = {
      type: cm?.type ?? 'syncml:auth-basic',
      format: cm?.format,
      data: (text(childElement(credEl, 'Data', ns)) ?? '').trim(),
    };
  }
  const sourceName = sourceEl ? text(childElement(sourceEl, 'LocName', ns)) : undefined;
  const respUri = text(childElement(hdr, 'RespURI', ns));
  return {
    verDtd: (text(childElement(hdr, 'VerDTD', ns)) ?? '').trim(),
    verProto: (text(childElement(hdr, 'VerProto', ns)) ?? '').trim(),
    sessionId,
    msgId,
    target,
    source,
    ...(sourceName !== undefined && { sourceName }),
    ...(respUri !== undefined && { respUri }),
    ...(cred && { cred }),
    ...(meta?.maxMsgSize !== undefined && { maxMsgSize: meta.maxMsgSize }),
    ...(meta?.maxObjSize !== undefined && { maxObjSize: meta.maxObjSize }),
  };
}

/** Meta children live in syncml:metinf; Windows' own servers sometimes omit it, so fall back to any ns. */
function metaField(meta: XmlElement, local: string): string | undefined {
  const el = childElement(meta, local, METINF_NS) ?? childElement(meta, local);
  return el ? textOf(el).trim() : undefined;
}

function readMeta(meta: XmlElement | undefined): SyncMlMeta | undefined {
  if (!meta) return undefined;
  const format = metaField(meta, 'Format');
  const type = metaField(meta, 'Type');
  const size = toInt(metaField(meta, 'Size') ?? '');
  const mark = metaField(meta, 'Mark');
  const nextNonce = metaField(meta, 'NextNonce');
  const maxMsgSize = toInt(metaField(meta, 'MaxMsgSize') ?? '');
  const maxObjSize = toInt(metaField(meta, 'MaxObjSize') ?? '');
  return {
    ...(format !== undefined && { format }),
    ...(type !== undefined && { type }),
    ...(size !== undefined && { size }),
    ...(mark !== undefined && { mark }),
    ...(nextNonce !== undefined && { nextNonce }),
    ...(maxMsgSize !== undefined && { maxMsgSize }),
    ...(maxObjSize !== undefined && { maxObjSize }),
  };
}

function readItems(el: XmlElement, ns: string): SyncMlItem[] {
  return childElements(el, 'Item', ns).map((item) => {
    const target = locUri(childElement(item, 'Target', ns), ns);
    const source = locUri(childElement(item, 'Source', ns), ns);
    const meta = readMeta(childElement(item, 'Meta', ns));
    const dataEl = childElement(item, 'Data', ns);
    const moreData = childElement(item, 'MoreData', ns) !== undefined;
    return {
      ...(target !== undefined && { target }),
      ...(source !== undefined && { source }),
      ...(meta && { meta }),
      ...(dataEl && { data: textOf(dataEl) }),
      ...(moreData && { moreData }),
    };
  });
}

function readChal(el: XmlElement | undefined, ns: string): SyncMlChal | undefined {
  const meta = el ? readMeta(childElement(el, 'Meta', ns)) : undefined;
  if (!meta?.type || !meta.nextNonce) return undefined;
  return { type: meta.type, format: meta.format ?? 'b64', nextNonce: meta.nextNonce };
}

function readCommand(el: XmlElement, ns: string): SyncMlCommand {
  const cmdId = toInt(text(childElement(el, 'CmdID', ns)) ?? '');
  const name = el.local;
  if (el.ns !== ns || cmdId === undefined || cmdId < 1) return { kind: 'Unknown', name, cmdId };
  switch (name) {
    case 'Status': {
      const cmdRefText = text(childElement(el, 'CmdRef', ns));
      const msgRefText = text(childElement(el, 'MsgRef', ns));
      const dataEl = childElement(el, 'Data', ns);
      const cmd = text(childElement(el, 'Cmd', ns))?.trim();
      if (!dataEl || !cmd) return { kind: 'Unknown', name, cmdId };
      let originalError: string | undefined;
      for (const [k, v] of Object.entries(dataEl.attrs)) if (k.endsWith('originalerror')) originalError = v;
      const chal = readChal(childElement(el, 'Chal', ns), ns);
      const items = readItems(el, ns);
      return {
        kind: 'Status',
        cmdId,
        // MsgRef may be omitted, meaning message 1 (docs/protocol-notes.md#server-replies).
        msgRef: msgRefText === undefined ? 1 : (toInt(msgRefText) ?? -1),
        cmdRef: cmdRefText === undefined ? undefined : toInt(cmdRefText),
        cmd,
        targetRefs: childElements(el, 'TargetRef', ns).map((t) => textOf(t).trim()),
        sourceRefs: childElements(el, 'SourceRef', ns).map((t) => textOf(t).trim()),
        data: textOf(dataEl).trim(),
        ...(originalError !== undefined && { originalError }),
        ...(chal && { chal }),
        ...(items.length > 0 && { items }),
      };
    }
    case 'Results': {
      const msgRefText = text(childElement(el, 'MsgRef', ns));
      const cmdRef = toInt(text(childElement(el, 'CmdRef', ns)) ?? '');
      if (cmdRef === undefined) return { kind: 'Unknown', name, cmdId };
      return {
        kind: 'Results',
        cmdId,
        msgRef: msgRefText === undefined ? 1 : (toInt(msgRefText) ?? -1),
        cmdRef,
        items: readItems(el, ns),
      };
    }
    case 'Alert':
      return {
        kind: 'Alert',
        cmdId,
        data: (text(childElement(el, 'Data', ns)) ?? '').trim(),
        items: readItems(el, ns),
      };
    case 'Atomic':
    case 'Sequence':
      return {
        kind: name,
        cmdId,
        commands: childElements(el)
          .filter((c) => !(c.local === 'CmdID' || c.local === 'Meta' || c.local === 'NoResp'))
          .map((c) => readCommand(c, ns)),
      };
    default:
      if (ITEM_VERBS.has(name)) {
        const meta = readMeta(childElement(el, 'Meta', ns));
        return {
          kind: name as 'Get',
          cmdId,
          ...(meta && { meta }),
          items: readItems(el, ns),
        };
      }
      return { kind: 'Unknown', name, cmdId };
  }
}
