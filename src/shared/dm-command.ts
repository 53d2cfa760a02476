// A device-management command as the queue stores it and the session engine sends it
// (docs/protocol-notes.md#commands). Produced by the admin CLI, the policy compiler and device actions;
// encoded to SyncML by the codec. Pure data, no behaviour.

/** Meta Format values (docs/protocol-notes.md#meta-format-and-locuri). */
export const DM_FORMATS = [
  'chr',
  'int',
  'bool',
  'b64',
  'bin',
  'xml',
  'node',
  'null',
  'float',
  'date',
  'time',
] as const;
export type DmFormat = (typeof DM_FORMATS)[number];

export interface DmItem {
  /** Target LocURI, `./…` form (docs/protocol-notes.md#meta-format-and-locuri). */
  readonly target: string;
  readonly format?: DmFormat;
  /** Meta Type (MIME type such as `text/plain`). */
  readonly type?: string;
  /** Data, unescaped; the codec escapes it. */
  readonly data?: string;
}

export type DmItemVerb = 'Get' | 'Add' | 'Replace' | 'Delete' | 'Exec';
export type DmContainerVerb = 'Atomic' | 'Sequence';
export type DmVerb = DmItemVerb | DmContainerVerb;

export type DmCommand =
  | { readonly verb: DmItemVerb; readonly items: readonly DmItem[] }
  | { readonly verb: DmContainerVerb; readonly commands: readonly DmCommand[] };

/** Where a queued command came from (kept with it for audit and reporting). */
export type CommandOrigin = 'admin' | 'policy' | 'inventory' | 'action' | 'system' | 'compliance';

/** A value returned in a Results item (OMA-DM 1.2 Rep Pro §6.6.12). */
export interface ResultItem {
  readonly locUri: string;
  readonly format?: string;
  readonly type?: string;
  readonly data?: string;
}
