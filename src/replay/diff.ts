// A line diff of normalised messages (the `diff` package), printed unified-style: `-` expected,
// `+` actual, with a few lines of context around each change.
import { diffArrays } from 'diff';

export type DiffOp = { readonly op: ' ' | '-' | '+'; readonly line: string };

/** Edits the line diff may take before it gives up and shows the whole middle as replaced. */
const MAX_EDIT_LENGTH = 4_000;

/** Line operations turning `expected` into `actual` (jsdiff's Myers diff over the lines). */
export function diffLines(expected: readonly string[], actual: readonly string[]): DiffOp[] {
  const changes = diffArrays([...expected], [...actual], { maxEditLength: MAX_EDIT_LENGTH });
  if (!changes) {
    // Too different to be worth aligning: common head and tail, the rest replaced.
    let start = 0;
    while (start < expected.length && start < actual.length && expected[start] === actual[start]) start++;
    let end = 0;
    while (
      end < expected.length - start &&
      end < actual.length - start &&
      expected[expected.length - 1 - end] === actual[actual.length - 1 - end]
    )
      end++;
    return [
      ...expected.slice(0, start).map((line) => ({ op: ' ' as const, line })),
      ...expected.slice(start, expected.length - end).map((line) => ({ op: '-' as const, line })),
      ...actual.slice(start, actual.length - end).map((line) => ({ op: '+' as const, line })),
      ...expected.slice(expected.length - end).map((line) => ({ op: ' ' as const, line })),
    ];
  }
  return changes.flatMap((c) =>
    c.value.map((line) => ({
      op: c.added ? ('+' as const) : c.removed ? ('-' as const) : (' ' as const),
      line,
    })),
  );
}

/** Unified-style text of the changes with `context` lines around them; '' when equal. */
export function formatDiff(ops: readonly DiffOp[], context = 3): string {
  const changed = ops.map((o) => o.op !== ' ');
  if (!changed.includes(true)) return '';
  const show = ops.map((_, i) => {
    for (let k = Math.max(0, i - context); k <= Math.min(ops.length - 1, i + context); k++)
      if (changed[k]) return true;
    return false;
  });
  const out: string[] = [];
  let skipped = false;
  ops.forEach((o, i) => {
    if (!show[i]) {
      skipped = true;
      return;
    }
    if (skipped) out.push('  …');
    skipped = false;
    out.push(`${o.op} ${o.line}`);
  });
  return out.join('\n');
}

export function diffText(expected: string, actual: string, context = 3): string {
  if (expected === actual) return '';
  return formatDiff(diffLines(expected.split('\n'), actual.split('\n')), context);
}
