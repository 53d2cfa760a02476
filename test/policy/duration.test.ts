import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../src/policy/language/yaml-source.js';

describe('durations in policy and assignment YAML', () => {
  it('reads units and bare seconds', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('30m')).toBe(1_800_000);
    expect(parseDuration('24h')).toBe(86_400_000);
    expect(parseDuration('7d')).toBe(604_800_000);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(parseDuration('2w')).toBe(1_209_600_000);
    expect(parseDuration(' 10 minutes ')).toBe(600_000);
    expect(parseDuration('45')).toBe(45_000);
    expect(parseDuration(45)).toBe(45_000);
    expect(parseDuration('0')).toBe(0);
  });

  it('refuses what is not a non-negative duration', () => {
    for (const bad of [
      '',
      ' ',
      'soon',
      '-1h',
      '1x',
      '10 parsecs',
      '1h30m',
      'Infinity',
      `${'9'.repeat(120)}s`,
    ]) {
      expect(parseDuration(bad), bad).toBeUndefined();
    }
    expect(parseDuration(-1)).toBeUndefined();
  });
});
