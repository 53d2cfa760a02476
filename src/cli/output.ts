// How list commands print: `--json` gives the rows as indented JSON; otherwise a note when there
// are none, or an optional header line and one line per row.

export interface ListOutput<T> {
  readonly json?: boolean;
  /** Printed instead of the rows when there are none. */
  readonly empty: string;
  /** Column titles, tab-separated. */
  readonly header?: string;
  readonly line: (row: T) => string;
}

export function printList<T>(rows: readonly T[], output: ListOutput<T>): void {
  const print = (text: string) => process.stdout.write(`${text}\n`);
  if (output.json) print(JSON.stringify(rows, null, 2));
  else if (rows.length === 0) print(output.empty);
  else {
    if (output.header !== undefined) print(output.header);
    for (const row of rows) print(output.line(row));
  }
}
