import { describe, expect, it } from 'vitest';
import { diffLines, diffText } from '../../src/replay/diff.js';

describe('replay diff', () => {
  it('is empty for equal texts and shows one changed line with context', () => {
    expect(diffText('a\nb\nc', 'a\nb\nc')).toBe('');
    const lines = Array.from({ length: 20 }, (_, i) => `line ${i}`);
    const changed = lines.map((l, i) => (i === 10 ? 'line X' : l));
    expect(diffText(lines.join('\n'), changed.join('\n'), 2)).toBe(
      ['  …', '  line 8', '  line 9', '- line 10', '+ line X', '  line 11', '  line 12'].join('\n'),
    );
  });

  it('aligns insertions and deletions', () => {
    expect(diffLines(['a', 'b', 'c'], ['a', 'c', 'd'])).toEqual([
      { op: ' ', line: 'a' },
      { op: '-', line: 'b' },
      { op: ' ', line: 'c' },
      { op: '+', line: 'd' },
    ]);
  });

  it('applies: the kept and added lines give the actual text, kept and removed the expected', () => {
    const expected = 'x\ny\nz\nw\nq'.split('\n');
    const actual = 'y\nz\nk\nw\nq\nr'.split('\n');
    const ops = diffLines(expected, actual);
    expect(ops.filter((o) => o.op !== '+').map((o) => o.line)).toEqual(expected);
    expect(ops.filter((o) => o.op !== '-').map((o) => o.line)).toEqual(actual);
  });

  it('gives up aligning very different texts but keeps their common head and tail', () => {
    const a = ['head', ...Array.from({ length: 3000 }, (_, i) => `a${i}`), 'tail'];
    const b = ['head', ...Array.from({ length: 3000 }, (_, i) => `b${i}`), 'tail'];
    const ops = diffLines(a, b);
    expect(ops[0]).toEqual({ op: ' ', line: 'head' });
    expect(ops.at(-1)).toEqual({ op: ' ', line: 'tail' });
    expect(ops.filter((o) => o.op === '-')).toHaveLength(3000);
    expect(ops.filter((o) => o.op === '+')).toHaveLength(3000);
  });
});
