import { describe, expect, it } from 'vitest';
import { formatTable } from '../../src/reporting/table.js';

describe('terminal table', () => {
  it('aligns columns under a dashed rule, two spaces apart, no trailing blanks', () => {
    expect(
      formatTable(
        ['DEVICE', 'STATE', 'NOTE'],
        [
          ['DEV1', 'compliant', ''],
          ['DEVICE-LONGER', 'x', 'last column'],
        ],
      ),
    ).toBe(
      [
        'DEVICE         STATE      NOTE',
        '-------------  ---------  -----------',
        'DEV1           compliant',
        'DEVICE-LONGER  x          last column',
      ].join('\n'),
    );
  });

  it('measures wide characters in terminal columns', () => {
    const lines = formatTable(
      ['USER', 'STATE'],
      [
        ['山田@contoso.com', 'ok'],
        ['bob@contoso.com', 'ok'],
      ],
    ).split('\n');
    // 山田 takes four columns: the second column starts at the same terminal column on every line.
    expect(lines[0]).toBe(`USER${' '.repeat(14)}STATE`);
    expect(lines[1]).toBe(`${'-'.repeat(16)}  -----`);
    expect(lines[2]).toBe('山田@contoso.com  ok');
    expect(lines[3]).toBe('bob@contoso.com   ok');
  });
});
