// CSV (RFC 4180) of any list the API returns: one column per top-level field in first-seen order;
// nested values as JSON. Cells that a spreadsheet would run as a formula are neutralised.
import { csvLines } from '../reporting/csv.js';

export function toCsv(rows: readonly Record<string, unknown>[]): string {
  const columns: string[] = [];
  for (const row of rows) for (const key of Object.keys(row)) if (!columns.includes(key)) columns.push(key);
  const cell = (v: unknown) => (v !== null && typeof v === 'object' ? JSON.stringify(v) : v);
  return csvLines([columns, ...rows.map((r) => columns.map((c) => cell(r[c])))]);
}
