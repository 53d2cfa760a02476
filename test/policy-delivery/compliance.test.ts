import { describe, expect, it } from 'vitest';
import { evaluateCompliance, FACT_PATHS, parseCompliance } from '../../src/policy/compliance/rules.js';
import { formatIssue } from '../../src/policy/language/errors.js';

const YAML = `rules:
  - name: baseline
    gracePeriod: 24h
    require:
      osVersionAtLeast: "10.0.19045"
      encryption: true
      firewall: true
      tpm: "2.0"
      settingsVerified: [security]
    actions:
      - notify: log
      - remediate: fix-firewall
`;

const now = new Date('2026-03-01T12:00:00Z');
const good = new Map([
  [FACT_PATHS.osVersion, '10.0.22631.4037'],
  [FACT_PATHS.bitLockerStatus, '0'],
  [FACT_PATHS.firewallStatus, '0'],
  [FACT_PATHS.tpmVersion, '2.0'],
]);
const settings = [{ path: './Device/x', policy: 'security', state: 'verified' as const }];

describe('compliance rules', () => {
  const rules = parseCompliance('compliance.yaml', YAML).rules!;

  it('parses rules with defaults', () => {
    expect(rules[0]).toMatchObject({ name: 'baseline', gracePeriod: 86_400_000, include: ['all'] });
  });

  it('reports schema errors with file:line:col', () => {
    const { issues } = parseCompliance(
      'c.yaml',
      'rules:\n  - name: x\n    require:\n      firewall: maybe\n',
    );
    expect(issues.map(formatIssue)).toEqual([
      expect.stringMatching(/^c\.yaml:4:17: error: rules\.0\.require\.firewall: .*\[schema\]$/),
    ]);
  });

  it('is compliant when every condition holds', () => {
    expect(evaluateCompliance(rules, { values: good, settings }, { failingSince: null }, now)).toMatchObject({
      state: 'compliant',
      reasons: [],
    });
  });

  it('is unknown while a fact is missing', () => {
    const values = new Map(good);
    values.delete(FACT_PATHS.firewallStatus);
    const r = evaluateCompliance(rules, { values, settings }, { failingSince: null }, now);
    expect(r).toMatchObject({ state: 'unknown', reasons: ['baseline: firewall status not reported'] });
  });

  it('is in grace, then noncompliant once the grace period is over', () => {
    const values = new Map(good);
    values.set(FACT_PATHS.firewallStatus, '1');
    values.set(FACT_PATHS.osVersion, '10.0.19044.1');
    const first = evaluateCompliance(rules, { values, settings }, { failingSince: null }, now);
    expect(first).toMatchObject({ state: 'in_grace', failingSince: now.toISOString(), breachedRules: [] });
    expect(first.reasons).toEqual([
      'baseline: OS version 10.0.19044.1 is older than 10.0.19045',
      'baseline: firewall disabled',
    ]);
    const later = new Date(now.getTime() + 86_400_000);
    const second = evaluateCompliance(
      rules,
      { values, settings },
      { failingSince: first.failingSince },
      later,
    );
    expect(second).toMatchObject({ state: 'noncompliant', breachedRules: ['baseline'] });
  });

  it('requires the named policy settings to be verified', () => {
    const drifted = [{ path: './Device/x', policy: 'security', state: 'drifted' as const }];
    const r = evaluateCompliance(rules, { values: good, settings: drifted }, { failingSince: null }, now);
    expect(r.reasons).toEqual(['baseline: security: ./Device/x is drifted']);
  });
});

describe('settingsVerified and nodes that cannot be read back', () => {
  const rules = parseCompliance('compliance.yaml', YAML).rules!;
  const one = (s: { state: 'applied' | 'failed' | 'verified'; unverifiable?: boolean }) => [
    { path: './Device/x', policy: 'security', ...s },
  ];

  it('counts an applied setting whose node cannot be read back as satisfied, never as failed', () => {
    const r = evaluateCompliance(
      rules,
      { values: good, settings: one({ state: 'applied', unverifiable: true }) },
      { failingSince: null },
      now,
    );
    expect(r).toMatchObject({ state: 'compliant', reasons: [] });
  });

  it('still waits for an applied setting that will be read back, and fails a failed one', () => {
    const waiting = evaluateCompliance(
      rules,
      { values: good, settings: one({ state: 'applied' }) },
      { failingSince: null },
      now,
    );
    expect(waiting).toMatchObject({ state: 'unknown', reasons: ['baseline: security not verified yet'] });
    const failed = evaluateCompliance(
      rules,
      { values: good, settings: one({ state: 'failed', unverifiable: true }) },
      { failingSince: null },
      now,
    );
    expect(failed.reasons).toEqual(['baseline: security: ./Device/x is failed']);
  });
});
