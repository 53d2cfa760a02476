// The `apps:` entries of a parsed policy, each with the position of every key and value so
// validation (apps/validate.ts) reports problems at `file:line:col`.
import type { SourcePosition } from '../language/errors.js';
import { PolicyAppSchema, type PolicyAppSource } from './schema.js';

export interface ParsedApp {
  /** Index in `apps`, 0-based. */
  readonly index: number;
  readonly pos: SourcePosition;
  readonly source: PolicyAppSource;
  /** Where a key under this entry is written (`['msi']`, `['msix', 'file']`); the entry itself when absent. */
  at(path: readonly (string | number)[]): SourcePosition;
}

export type LocatePath = (path: readonly (string | number)[]) => SourcePosition;

/** The entries that have the schema's shape (the others already have issues); `bad` = indexes with issues. */
export function readApps(raw: unknown, bad: ReadonlySet<number>, locate: LocatePath): ParsedApp[] {
  if (!Array.isArray(raw)) return [];
  const out: ParsedApp[] = [];
  raw.forEach((item, index) => {
    if (bad.has(index)) return;
    const parsed = PolicyAppSchema.safeParse(item);
    if (!parsed.success) return;
    out.push({
      index,
      pos: locate(['apps', index]),
      source: parsed.data,
      at: (path) => locate(['apps', index, ...path]),
    });
  });
  return out;
}
