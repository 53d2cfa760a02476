// How commands print. Human output (everything but --json, CSV and the PEM/XML/schema dumps) goes
// through `terminalSafe`: device-reported strings (names, models, inventory values, event data,
// Results) are stored as the device sent them, and a control character or an escape sequence
// must never reach the admin's terminal. `--json` gives the rows as indented JSON.

/**
 * What is neutralised: C0 controls (ESC starts every terminal escape sequence; CR and BS rewrite
 * what is shown), DEL, C1 controls (U+009B is a one-byte CSI), the bidirectional marks, embeddings,
 * overrides and isolates (U+061C, U+200E–U+200F, U+202A–U+202E, U+2066–U+2069) and lone surrogates.
 * TAB and LF are layout and stay, except in `singleLine` values (table cells).
 */
const UNSAFE =
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]|\p{Cs}/gu;
const UNSAFE_SINGLE_LINE =
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]|\p{Cs}/gu;

const visible = (c: string): string => {
  const code = c.codePointAt(0)!;
  if (code === 0x09) return '\\t';
  if (code === 0x0a) return '\\n';
  if (code === 0x0d) return '\\r';
  if (code === 0x1b) return '\\e';
  return code <= 0xff
    ? `\\x${code.toString(16).toUpperCase().padStart(2, '0')}`
    : `\\u${code.toString(16).toUpperCase().padStart(4, '0')}`;
};

export interface TerminalSafeOptions {
  /** Also show TAB, LF and CR as `\t` `\n` `\r` (one table cell, one line). */
  readonly singleLine?: boolean;
}

/** Text with every control character, escape sequence and bidi control shown as a visible escape (`\e[31m`). */
export function terminalSafe(text: string, options: TerminalSafeOptions = {}): string {
  return text.replace(options.singleLine ? UNSAFE_SINGLE_LINE : UNSAFE, visible);
}

/** One value in a line or table cell (a device name, an inventory value): `terminalSafe`, single line. */
export function oneLine(value: string): string {
  return terminalSafe(value, { singleLine: true });
}

/** Writes human output to stdout (or stderr), neutralised; a newline is added unless there is one. */
export function printHuman(text: string, stream: NodeJS.WritableStream = process.stdout): void {
  const safe = terminalSafe(text);
  stream.write(safe.endsWith('\n') ? safe : `${safe}\n`);
}

export interface ListOutput<T> {
  readonly json?: boolean;
  /** Printed instead of the rows when there are none. */
  readonly empty: string;
  /** Column titles, tab-separated. */
  readonly header?: string;
  readonly line: (row: T) => string;
}

/** `--json`: the rows as JSON; otherwise the header and one neutralised line per row. */
export function printList<T>(rows: readonly T[], output: ListOutput<T>): void {
  if (output.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
  else if (rows.length === 0) printHuman(output.empty);
  else {
    if (output.header !== undefined) printHuman(output.header);
    for (const row of rows) printHuman(output.line(row));
  }
}

/**
 * `mdm … | head`: when the reader goes away, stdout and stderr fail with EPIPE. That is a normal
 * end of the output, not an error: exit 0 quietly instead of dying with a stack trace.
 */
let brokenPipeHandled = false;

export function exitQuietlyOnBrokenPipe(): void {
  if (brokenPipeHandled) return;
  brokenPipeHandled = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(0);
      throw err;
    });
  }
}
