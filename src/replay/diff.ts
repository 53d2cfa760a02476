// A small line diff (longest common subsequence) for normalised messages, printed unified-style:
// `-` expected, `+` actual, with a few lines of context around each change.

export type DiffOp = { readonly op: ' ' | '-' | '+'; readonly line: string };

/** Line operations turning `expected` into `actual`. */
export function diffLines(expected: readonly string[], actual: readonly string[]): DiffOp[] {
  // Trim the common head and tail first: messages usually differ in a few lines only.
  let start = 0;
  while (start < expected.length && start < actual.length && expected[start] === actual[start]) start++;
  let endE = expected.length;
  let endA = actual.length;
  while (endE > start && endA > start && expected[endE - 1] === actual[endA - 1]) {
    endE--;
    endA--;
  }
  const a = expected.slice(start, endE);
  const b = actual.slice(start, endA);
  const ops: DiffOp[] = expected.slice(0, start).map((line) => ({ op: ' ', line }));
  if (a.length * b.length > 4_000_000) {
    // Too large for the table: show the whole middle as replaced.
    for (const line of a) ops.push({ op: '-', line });
    for (const line of b) ops.push({ op: '+', line });
  } else {
    const lcs: Uint32Array[] = Array.from({ length: a.length + 1 }, () => new Uint32Array(b.length + 1));
    for (let i = a.length - 1; i >= 0; i--) {
      for (let j = b.length - 1; j >= 0; j--) {
        lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
      }
    }
    let i = 0;
    let j = 0;
    while (i < a.length || j < b.length) {
      if (i < a.length && j < b.length && a[i] === b[j]) {
        ops.push({ op: ' ', line: a[i]! });
        i++;
        j++;
      } else if (i < a.length && (j >= b.length || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) {
        ops.push({ op: '-', line: a[i]! });
        i++;
      } else {
        ops.push({ op: '+', line: b[j]! });
        j++;
      }
    }
  }
  for (const line of expected.slice(endE)) ops.push({ op: ' ', line });
  return ops;
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
