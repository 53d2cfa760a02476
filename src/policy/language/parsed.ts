// What reading a policy file yields, value by value with its source position; shared by the
// readers of each policy section (parse.ts, certificates.ts, apps/parse.ts).
import type { SourcePosition } from './errors.js';

export type ScalarValue = string | number | boolean;

/** A value with where it was written and, for scalars, its text exactly as written (`0123`, `1.10`). */
export interface Located<T> {
  readonly value: T;
  readonly pos: SourcePosition;
  readonly source?: string;
}

export interface ParsedValue extends Located<ScalarValue | readonly ScalarValue[]> {
  /** List items with their own positions, when the value is a YAML sequence. */
  readonly items?: readonly Located<ScalarValue>[];
}

export interface ParsedDataElement {
  readonly id: Located<string>;
  readonly value: ParsedValue;
}

export interface ParsedSetting {
  /** Index in `settings`, 0-based. */
  readonly index: number;
  readonly pos: SourcePosition;
  readonly path: Located<string>;
  readonly value?: ParsedValue;
  readonly data?: readonly ParsedDataElement[];
  /** Key `data` itself, for errors about the whole block. */
  readonly dataPos?: SourcePosition;
  readonly file?: Located<string>;
}
