// The benchmark's device side of an OMA-DM session (docs/protocol-notes.md#package-1, #server-replies, #end-of-session), kept lean so one
// load-generator process can drive more than a thousand sessions a second on one core:
//   package 1 (Alert 1201, Alert 1224 LoginStatus, DevInfo Replace) → server commands →
//   package 3 (Status for the SyncHdr, a Status per command, Results per Get) → … → a server
//   message without commands ends the session.
// Messages are written as Windows writes them (compact, no declaration, metinf namespace on each
// Meta child). Server replies are read with a small tag scanner instead of the hardened parser
// (`src/codec/xml.ts`, 200–300 µs a parse): the bench smoke test checks that both read the same
// commands out of real server replies.
import { escapeXml } from '../src/codec/xml.js';

/** What the load generator knows about one device. */
export interface BenchDevice {
  readonly deviceId: string;
  /** Proxy mode: the value of the trusted client-certificate header (base64 DER). */
  readonly certHeader?: string;
  /** TLS mode: the device certificate (PEM). The key is shared by the pool (see bench/README.md). */
  readonly certPem?: string;
}

export interface XmlNode {
  readonly name: string;
  readonly children: XmlNode[];
  text: string;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const decode = (s: string) =>
  s.includes('&')
    ? s.replace(/&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-f]+);/gi, (_m, e: string) =>
        e[0] === '#'
          ? String.fromCodePoint(
              e[1] === 'x' || e[1] === 'X' ? Number.parseInt(e.slice(2), 16) : Number(e.slice(1)),
            )
          : (ENTITIES[e] ?? _m),
      )
    : s;

const TAG = /<(\/?)([A-Za-z_][\w:.-]*)[^>]*?(\/?)>|<!\[CDATA\[([\s\S]*?)\]\]>|<[?!][^>]*>|([^<]+)/g;

/** Element tree of a trusted, compact server message (namespaces and attributes ignored). */
export function scanXml(xml: string): XmlNode {
  const root: XmlNode = { name: '#root', children: [], text: '' };
  const stack: XmlNode[] = [root];
  TAG.lastIndex = 0;
  for (let m = TAG.exec(xml); m !== null; m = TAG.exec(xml)) {
    const top = stack[stack.length - 1]!;
    if (m[2] !== undefined) {
      const name = m[2].includes(':') ? m[2].slice(m[2].indexOf(':') + 1) : m[2];
      if (m[1] === '/') {
        if (stack.length > 1) stack.pop();
      } else {
        const node: XmlNode = { name, children: [], text: '' };
        top.children.push(node);
        if (m[3] !== '/') stack.push(node);
      }
    } else if (m[4] !== undefined) top.text += m[4];
    else if (m[5] !== undefined) top.text += decode(m[5]);
  }
  return root;
}

const child = (n: XmlNode | undefined, name: string) => n?.children.find((c) => c.name === name);
const text = (n: XmlNode | undefined, name: string) => child(n, name)?.text.trim() ?? '';

export interface ScannedCommand {
  readonly name: string;
  readonly cmdId: string;
  readonly targets: readonly string[];
  readonly data?: string;
  readonly commands?: readonly ScannedCommand[];
}

export interface ScannedMessage {
  readonly sessionId: string;
  readonly msgId: string;
  /** Where the device must send its next message, when the server names a place (docs/protocol-notes.md#syncml-messages). */
  readonly respUri?: string;
  /** Data of the Status for the client's SyncHdr (CmdRef 0). */
  readonly hdrStatus: string | undefined;
  readonly statuses: number;
  /** Every other SyncBody child (commands and Alerts), in order. */
  readonly commands: readonly ScannedCommand[];
  readonly final: boolean;
}

const COMMANDS = new Set(['Get', 'Add', 'Replace', 'Delete', 'Exec', 'Copy', 'Atomic', 'Sequence', 'Alert']);

function toCommand(n: XmlNode): ScannedCommand {
  const targets = n.children
    .filter((c) => c.name === 'Item')
    .map((item) => text(child(item, 'Target'), 'LocURI'));
  const inner = n.children.filter((c) => COMMANDS.has(c.name));
  return {
    name: n.name,
    cmdId: text(n, 'CmdID'),
    targets,
    ...(n.name === 'Alert' && { data: text(n, 'Data') }),
    ...(inner.length > 0 && { commands: inner.map(toCommand) }),
  };
}

export function scanServerMessage(xml: string): ScannedMessage {
  const syncMl = child(scanXml(xml), 'SyncML');
  if (!syncMl) throw new Error(`not a SyncML message: ${xml.slice(0, 80)}`);
  const hdr = child(syncMl, 'SyncHdr');
  const body = child(syncMl, 'SyncBody');
  let hdrStatus: string | undefined;
  let statuses = 0;
  const commands: ScannedCommand[] = [];
  let final = false;
  for (const c of body?.children ?? []) {
    if (c.name === 'Status') {
      statuses++;
      if (text(c, 'CmdRef') === '0') hdrStatus = text(c, 'Data');
    } else if (c.name === 'Final') final = true;
    else if (COMMANDS.has(c.name)) commands.push(toCommand(c));
  }
  const respUri = text(hdr, 'RespURI');
  return {
    sessionId: text(hdr, 'SessionID'),
    msgId: text(hdr, 'MsgID'),
    ...(respUri !== '' && { respUri }),
    hdrStatus,
    statuses,
    commands,
    final,
  };
}

/** Values the bench device reports for Gets (realistic sizes; anything else gets a short string). */
const INVENTORY_VALUES: Readonly<Record<string, string>> = {
  './DevDetail/SwV': '10.0.22631.4037',
  './DevDetail/OEM': 'Contoso',
  './DevDetail/FwV': '1.21.0',
  './DevDetail/HwV': '1.0',
  './DevDetail/Ext/Microsoft/DeviceName': 'DESKTOP-BENCH',
  './DevDetail/Ext/Microsoft/OSPlatform': 'Windows 11 Enterprise',
  './DevDetail/Ext/Microsoft/SMBIOSSerialNumber': 'PF3ABCDE',
  './DevDetail/LrgObj': 'true',
  './Vendor/MSFT/DeviceStatus/OS/Edition': '4',
  './Vendor/MSFT/DeviceStatus/Compliance/EncryptionCompliance': '1',
  './Vendor/MSFT/DeviceStatus/SecureBootState': '1',
  './Vendor/MSFT/DeviceStatus/TPM/SpecificationVersion': '2.0, 0, 1.59',
  './Vendor/MSFT/DeviceStatus/Antivirus/Status': '0',
  './Vendor/MSFT/DeviceStatus/Firewall/Status': '0',
};

const META_CHR =
  '<Meta><Format xmlns="syncml:metinf">chr</Format><Type xmlns="syncml:metinf">text/plain</Type></Meta>';

function header(d: BenchDevice, serverUrl: string, sessionId: string, msgId: number): string {
  return (
    '<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto>' +
    `<SessionID>${escapeXml(sessionId)}</SessionID><MsgID>${msgId}</MsgID>` +
    `<Target><LocURI>${escapeXml(serverUrl)}</LocURI></Target><Source><LocURI>${escapeXml(d.deviceId)}</LocURI></Source>` +
    '</SyncHdr><SyncBody>'
  );
}

/** Package 1 as Windows sends it (docs/protocol-notes.md#package-1). */
export function packageOne(d: BenchDevice, serverUrl: string, sessionId: string): string {
  const devInfo: ReadonlyArray<readonly [string, string]> = [
    ['./DevInfo/DevId', d.deviceId],
    ['./DevInfo/Man', 'Contoso'],
    ['./DevInfo/Mod', 'Surface Bench'],
    ['./DevInfo/DmV', '1.3'],
    ['./DevInfo/Lang', 'en-US'],
  ];
  return (
    `${header(d, serverUrl, sessionId, 1)}<Alert><CmdID>2</CmdID><Data>1201</Data></Alert>` +
    '<Alert><CmdID>3</CmdID><Data>1224</Data><Item><Meta><Type xmlns="syncml:metinf">com.microsoft/MDM/LoginStatus</Type></Meta>' +
    '<Data>user</Data></Item></Alert><Replace><CmdID>4</CmdID>' +
    devInfo
      .map(([uri, v]) => `<Item><Source><LocURI>${uri}</LocURI></Source><Data>${escapeXml(v)}</Data></Item>`)
      .join('') +
    '</Replace><Final/></SyncBody></SyncML>'
  );
}

export interface Answer {
  readonly xml: string;
  /** Status elements for server commands (inner commands of Atomic/Sequence included). */
  readonly statuses: number;
  readonly results: number;
}

/**
 * The device's reply to a server message (docs/protocol-notes.md#server-replies), or undefined when the message carried
 * no commands (the session is over, §7.8) or aborted it (Alert 1223).
 */
export function answerServerMessage(
  d: BenchDevice,
  serverUrl: string,
  msg: ScannedMessage,
  clientMsgId: number,
): Answer | undefined {
  if (msg.commands.length === 0 || msg.commands.some((c) => c.name === 'Alert' && c.data === '1223'))
    return undefined;
  let cmdId = 1;
  let statuses = 0;
  let results = 0;
  let body = `<Status><CmdID>${cmdId++}</CmdID><MsgRef>${msg.msgId}</MsgRef><CmdRef>0</CmdRef><Cmd>SyncHdr</Cmd><Data>200</Data></Status>`;
  const answer = (c: ScannedCommand) => {
    if (c.name === 'Alert') return; // server Alerts (1222 next message) need no Status here
    const targetRef = c.targets.length === 1 ? `<TargetRef>${escapeXml(c.targets[0]!)}</TargetRef>` : '';
    body += `<Status><CmdID>${cmdId++}</CmdID><MsgRef>${msg.msgId}</MsgRef><CmdRef>${c.cmdId}</CmdRef><Cmd>${c.name}</Cmd>${targetRef}<Data>200</Data></Status>`;
    statuses++;
    if (c.name === 'Get') {
      body += `<Results><CmdID>${cmdId++}</CmdID><MsgRef>${msg.msgId}</MsgRef><CmdRef>${c.cmdId}</CmdRef>`;
      for (const t of c.targets) {
        body += `<Item><Source><LocURI>${escapeXml(t)}</LocURI></Source>${META_CHR}<Data>${escapeXml(INVENTORY_VALUES[t] ?? 'bench')}</Data></Item>`;
      }
      body += '</Results>';
      results++;
    }
    for (const inner of c.commands ?? []) answer(inner);
  };
  for (const c of msg.commands) answer(c);
  return {
    xml: `${header(d, serverUrl, msg.sessionId, clientMsgId)}${body}<Final/></SyncBody></SyncML>`,
    statuses,
    results,
  };
}
