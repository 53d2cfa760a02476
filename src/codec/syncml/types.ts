// Typed SyncML DM 1.2 messages (MS-MDM 2.2; docs/protocol-notes.md#syncml-messages to #commands). The same shapes describe what the client
// sends (parsed by parse.ts) and what the server sends (written by encode.ts).

export interface SyncMlMeta {
  readonly format?: string;
  readonly type?: string;
  /** Total size of a large object, on its first chunk (docs/protocol-notes.md#large-objects). */
  readonly size?: number;
  readonly mark?: string;
  readonly nextNonce?: string;
  readonly maxMsgSize?: number;
  readonly maxObjSize?: number;
}

export interface SyncMlItem {
  readonly target?: string;
  readonly source?: string;
  readonly meta?: SyncMlMeta;
  readonly data?: string;
  /** `<MoreData/>`: more chunks of this item follow (docs/protocol-notes.md#large-objects). */
  readonly moreData?: boolean;
}

export interface SyncMlCred {
  readonly type: string;
  readonly format?: string;
  readonly data: string;
}

/** A challenge (`Chal`) carried in a Status (docs/protocol-notes.md#digest-authentication). */
export interface SyncMlChal {
  readonly type: string;
  readonly format: string;
  readonly nextNonce: string;
}

export interface SyncMlHeader {
  readonly verDtd: string;
  readonly verProto: string;
  /** Opaque; echoed exactly (docs/protocol-notes.md#syncml-messages). */
  readonly sessionId: string;
  readonly msgId: number;
  readonly target: string;
  readonly source: string;
  readonly sourceName?: string;
  readonly respUri?: string;
  readonly cred?: SyncMlCred;
  readonly maxMsgSize?: number;
  readonly maxObjSize?: number;
}

export type ItemVerb = 'Get' | 'Add' | 'Replace' | 'Delete' | 'Exec';
export type ContainerVerb = 'Atomic' | 'Sequence';

export interface StatusCommand {
  readonly kind: 'Status';
  readonly cmdId: number;
  readonly msgRef: number;
  /** 0 refers to the SyncHdr; undefined when the referenced command had no CmdID. */
  readonly cmdRef: number | undefined;
  readonly cmd: string;
  readonly targetRefs?: readonly string[];
  readonly sourceRefs?: readonly string[];
  readonly chal?: SyncMlChal;
  /** Status code as sent (`200`); kept as a string on input, checked by the machine. */
  readonly data: string;
  /** `msft:originalerror` attribute on Data (docs/protocol-notes.md#microsoft-extensions). */
  readonly originalError?: string;
  readonly items?: readonly SyncMlItem[];
}

export interface ResultsCommand {
  readonly kind: 'Results';
  readonly cmdId: number;
  readonly msgRef: number;
  readonly cmdRef: number;
  readonly items: readonly SyncMlItem[];
}

export interface AlertCommand {
  readonly kind: 'Alert';
  readonly cmdId: number;
  readonly data: string;
  readonly items: readonly SyncMlItem[];
}

export interface ItemCommand {
  readonly kind: ItemVerb;
  readonly cmdId: number;
  readonly meta?: SyncMlMeta;
  readonly items: readonly SyncMlItem[];
}

export interface ContainerCommand {
  readonly kind: ContainerVerb;
  readonly cmdId: number;
  readonly commands: readonly SyncMlCommand[];
}

/** An element under SyncBody that is not a known command; answered with 400 (docs/protocol-notes.md#commands). */
export interface UnknownCommand {
  readonly kind: 'Unknown';
  readonly name: string;
  readonly cmdId: number | undefined;
}

export type SyncMlCommand =
  | StatusCommand
  | ResultsCommand
  | AlertCommand
  | ItemCommand
  | ContainerCommand
  | UnknownCommand;

export interface SyncMlMessage {
  readonly header: SyncMlHeader;
  readonly commands: readonly SyncMlCommand[];
  /** `<Final/>` present: this message ends the package (docs/protocol-notes.md#large-objects). */
  readonly final: boolean;
}
