import { describe, expect, it } from 'vitest';
import {
  emptyRecord,
  type MachineOptions,
  type SettingEvent,
  type SettingRecord,
  step,
} from '../../src/policy/setting-state.js';
import { CAMERA, plan } from './plans.js';

const opts: MachineOptions = {
  now: new Date('2026-01-01T00:00:00Z'),
  recheckMs: 3_600_000,
  maxDriftRetries: 1,
};
const p0 = plan(CAMERA, '0');

function run(events: SettingEvent[], start?: SettingRecord) {
  let record = start ?? emptyRecord('D1', CAMERA, 'int', opts.now);
  const verbs: string[] = [];
  for (const e of events) {
    const t = step(record, e, opts);
    record = t.record;
    for (const c of t.commands) verbs.push(`${c.kind}:${c.command.verb}`);
  }
  return { record, verbs };
}

describe('setting state machine', () => {
  it('assign → sent → 200 → verify equal = verified, Add then Get', () => {
    const { record, verbs } = run([
      { type: 'assign', policy: 'p', plan: p0 },
      { type: 'sent', kind: 'apply' },
      { type: 'outcome', kind: 'apply', code: 200 },
      { type: 'outcome', kind: 'verify', code: 200 },
      { type: 'outcome', kind: 'verify', code: 200, data: '00' },
    ]);
    expect(verbs).toEqual(['apply:Add', 'verify:Get']);
    expect(record).toMatchObject({
      state: 'verified',
      deliveredValue: '0',
      reportedValue: '00',
      added: true,
    });
    expect(record.nextCheckAt).toBe('2026-01-01T01:00:00.000Z');
  });

  it('re-issues a 418 Add as Replace', () => {
    const { record, verbs } = run([
      { type: 'assign', policy: 'p', plan: p0 },
      { type: 'outcome', kind: 'apply', code: 418 },
      { type: 'outcome', kind: 'apply', code: 200 },
    ]);
    expect(verbs).toEqual(['apply:Add', 'apply:Replace', 'verify:Get']);
    expect(record.state).toBe('applied');
  });

  it('records a device failure with its code and reason', () => {
    const { record } = run([
      { type: 'assign', policy: 'p', plan: p0 },
      { type: 'outcome', kind: 'apply', code: 500 },
    ]);
    expect(record).toMatchObject({
      state: 'failed',
      statusCode: 500,
      reason: 'apply failed: command failed on the device',
    });
  });

  it('fails verification when the read-back differs right after applying', () => {
    const { record } = run([
      { type: 'assign', policy: 'p', plan: p0 },
      { type: 'outcome', kind: 'apply', code: 200 },
      { type: 'outcome', kind: 'verify', code: 200, data: '1' },
    ]);
    expect(record.state).toBe('failed');
    expect(record.reason).toContain('device reports "1", expected "0"');
  });

  it('detects drift on re-check, re-applies a bounded number of times', () => {
    const verified = run([
      { type: 'assign', policy: 'p', plan: p0 },
      { type: 'outcome', kind: 'apply', code: 200 },
      { type: 'outcome', kind: 'verify', code: 200, data: '0' },
    ]).record;
    const drift = run(
      [{ type: 'recheck' }, { type: 'outcome', kind: 'verify', code: 200, data: '1' }],
      verified,
    );
    expect(drift.verbs).toEqual(['verify:Get', 'apply:Replace']);
    expect(drift.record).toMatchObject({ state: 'drifted', reportedValue: '1', driftRetries: 1 });
    const healed = run(
      [
        { type: 'outcome', kind: 'apply', code: 200 },
        { type: 'outcome', kind: 'verify', code: 200, data: '0' },
      ],
      drift.record,
    );
    expect(healed.record).toMatchObject({ state: 'verified', driftRetries: 1 });
    const again = run(
      [{ type: 'recheck' }, { type: 'outcome', kind: 'verify', code: 200, data: '1' }],
      healed.record,
    );
    expect(again.verbs).toEqual(['verify:Get']); // retries exhausted: reported, not re-applied
    expect(again.record.state).toBe('drifted');
    expect(again.record.reason).toMatch(/drift persists after 1 re-applies/);
  });

  it('re-adds a node the device lost (404 on re-check)', () => {
    const verified = run([
      { type: 'assign', policy: 'p', plan: p0 },
      { type: 'outcome', kind: 'apply', code: 200 },
      { type: 'outcome', kind: 'verify', code: 200, data: '0' },
    ]).record;
    const { verbs, record } = run(
      [{ type: 'recheck' }, { type: 'outcome', kind: 'verify', code: 404 }],
      verified,
    );
    expect(verbs).toEqual(['verify:Get', 'apply:Add']);
    expect(record.state).toBe('drifted');
  });

  it('removes an unassigned setting with Delete and ends removed', () => {
    const { record, verbs } = run([
      { type: 'assign', policy: 'p', plan: p0 },
      { type: 'outcome', kind: 'apply', code: 200 },
      { type: 'unassign' },
      { type: 'outcome', kind: 'apply', code: 200 }, // late status for the old apply is ignored
      { type: 'outcome', kind: 'remove', code: 200 },
    ]);
    expect(verbs).toEqual(['apply:Add', 'verify:Get', 'remove:Delete']);
    expect(record).toMatchObject({ state: 'removed', added: false, desiredValue: null });
  });

  it('changes a value with Replace once added, and is idempotent for the same value', () => {
    const verified = run([
      { type: 'assign', policy: 'p', plan: p0 },
      { type: 'outcome', kind: 'apply', code: 200 },
      { type: 'outcome', kind: 'verify', code: 200, data: '0' },
    ]).record;
    expect(run([{ type: 'assign', policy: 'p', plan: p0 }], verified).verbs).toEqual([]);
    const changed = run([{ type: 'assign', policy: 'p', plan: plan(CAMERA, '1') }], verified);
    expect(changed.verbs).toEqual(['apply:Replace']);
    expect(changed.record.state).toBe('pending');
  });

  it('sends nothing for conflicts and not-applicable settings', () => {
    const c = run([{ type: 'conflict', reason: 'a=0, b=1' }]);
    expect(c.verbs).toEqual([]);
    expect(c.record.state).toBe('conflict');
    const n = run([{ type: 'not_applicable', reason: 'too old' }, { type: 'unassign' }]);
    expect(n.verbs).toEqual([]);
    expect(n.record.state).toBe('removed');
  });

  it('marks a command the device never acknowledged as failed', () => {
    const { record } = run([
      { type: 'assign', policy: 'p', plan: p0 },
      { type: 'outcome', kind: 'apply', code: null },
    ]);
    expect(record.reason).toBe('apply failed: the device never acknowledged it');
  });
});
