import { describe, expect, it } from 'vitest';
import {
  cannotBeVerified,
  emptyRecord,
  type SettingEvent,
  type SettingMachineOptions,
  type SettingRecord,
  transitionSetting,
} from '../../src/policy/delivery/setting-state.js';
import { CAMERA, plan } from './plans.js';

const opts: SettingMachineOptions = {
  now: new Date('2026-01-01T00:00:00Z'),
  recheckMs: 3_600_000,
  maxDriftRetries: 1,
  maxFailureRetries: 2,
  failureRetryDelayMs: 600_000,
};
const p0 = plan(CAMERA, '0');

function run(events: SettingEvent[], start?: SettingRecord) {
  let record = start ?? emptyRecord('D1', CAMERA, 'int', opts.now);
  const verbs: string[] = [];
  for (const e of events) {
    const t = transitionSetting(record, e, opts);
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

  it('records a permanent (4xx) device failure with its code and reason, and never retries it', () => {
    for (const code of [404, 405, 425]) {
      const failed = run([
        { type: 'assign', policy: 'p', plan: p0 },
        { type: 'outcome', kind: 'apply', code },
      ]).record;
      expect(failed).toMatchObject({ state: 'failed', statusCode: code, nextCheckAt: null });
      expect(failed.reason).toMatch(/^apply failed: (node not found|command not allowed|permission denied)/);
      expect(run([{ type: 'recheck' }], failed).verbs).toEqual([]);
    }
    const { record } = run([
      { type: 'assign', policy: 'p', plan: p0 },
      { type: 'outcome', kind: 'apply', code: 405 },
    ]);
    expect(record.reason).toBe('apply failed: command not allowed on this node');
  });

  it('retries a 5xx failure after a doubling delay, a bounded number of times', () => {
    const first = run([
      { type: 'assign', policy: 'p', plan: p0 },
      { type: 'outcome', kind: 'apply', code: 500 },
    ]).record;
    expect(first).toMatchObject({
      state: 'failed',
      statusCode: 500,
      failRetries: 1,
      nextCheckAt: '2026-01-01T00:10:00.000Z',
      reason: 'apply failed: command failed on the device (retry 1 of 2 after 2026-01-01T00:10:00.000Z)',
    });
    // The retry re-sends the first-delivery verb (nothing was added yet) and starts over at pending.
    const retried = run([{ type: 'recheck' }], first);
    expect(retried.verbs).toEqual(['apply:Add']);
    expect(retried.record).toMatchObject({ state: 'pending', nextCheckAt: null });
    const second = run([{ type: 'outcome', kind: 'apply', code: 503 }], retried.record).record;
    expect(second).toMatchObject({ failRetries: 2, nextCheckAt: '2026-01-01T00:20:00.000Z' });
    const last = run([{ type: 'recheck' }, { type: 'outcome', kind: 'apply', code: 500 }], second).record;
    expect(last).toMatchObject({ state: 'failed', failRetries: 2, nextCheckAt: null });
    expect(last.reason).toBe('apply failed: command failed on the device (gave up after 2 retries)');
    expect(run([{ type: 'recheck' }], last).verbs).toEqual([]);
    // Settings rolled back (216) or not run (215) because of another command in their Atomic retry too.
    for (const code of [215, 216]) {
      const collateral = run([
        { type: 'assign', policy: 'p', plan: p0 },
        { type: 'outcome', kind: 'apply', code },
      ]).record;
      expect(collateral).toMatchObject({ state: 'failed', statusCode: code, failRetries: 1 });
    }
    // A new desired value starts a fresh retry budget.
    const changed = run([{ type: 'assign', policy: 'p', plan: plan(CAMERA, '1') }], last).record;
    expect(changed).toMatchObject({ state: 'pending', failRetries: 0 });
  });

  it('recovers when a retried setting succeeds, and resets the retry count once verified', () => {
    const { record, verbs } = run([
      { type: 'assign', policy: 'p', plan: p0 },
      { type: 'outcome', kind: 'apply', code: 500 },
      { type: 'recheck' },
      { type: 'sent', kind: 'apply' },
      { type: 'outcome', kind: 'apply', code: 200 },
      { type: 'outcome', kind: 'verify', code: 200, data: '0' },
    ]);
    expect(verbs).toEqual(['apply:Add', 'apply:Add', 'verify:Get']);
    expect(record).toMatchObject({ state: 'verified', failRetries: 0, reason: null, statusCode: 200 });
  });

  it('treats a read-back that differs right after applying as drift: re-applied, not failed', () => {
    const { record, verbs } = run([
      { type: 'assign', policy: 'p', plan: p0 },
      { type: 'outcome', kind: 'apply', code: 200 },
      { type: 'outcome', kind: 'verify', code: 200, data: '1' },
    ]);
    expect(verbs).toEqual(['apply:Add', 'verify:Get', 'apply:Replace']);
    expect(record).toMatchObject({ state: 'drifted', driftRetries: 1, reportedValue: '1', statusCode: 200 });
    expect(record.reason).toBe('drifted: device reports "1", expected "0"');
  });

  it('repairs a drift whose read-back came after a dropped connection, and never fails it', () => {
    // verified → re-check finds drift → Replace; the connection drops before its read-back.
    const verified = run([
      { type: 'assign', policy: 'p', plan: p0 },
      { type: 'outcome', kind: 'apply', code: 200 },
      { type: 'outcome', kind: 'verify', code: 200, data: '0' },
    ]).record;
    const drifted = run(
      [{ type: 'recheck' }, { type: 'outcome', kind: 'verify', code: 200, data: '1' }],
      verified,
    );
    const reapplied = run([{ type: 'outcome', kind: 'apply', code: 200 }], drifted.record);
    expect(reapplied.record.state).toBe('applied');
    // Next session: the lost Get goes out again and the device has drifted once more.
    const resent = run([{ type: 'resend' }], reapplied.record);
    expect(resent.verbs).toEqual(['verify:Get']);
    const late = run([{ type: 'outcome', kind: 'verify', code: 200, data: '1' }], resent.record);
    expect(late.record.state).toBe('drifted');
    expect(late.record.reason).toBe('drift persists after 1 re-applies: device reports "1", expected "0"');
    expect(late.record.nextCheckAt).toBe('2026-01-01T01:00:00.000Z');
    // With a re-apply left, the same late read-back repairs it.
    const generous = transitionSetting(
      resent.record,
      { type: 'outcome', kind: 'verify', code: 200, data: '1' },
      {
        ...opts,
        maxDriftRetries: 3,
      },
    );
    expect(generous.record).toMatchObject({ state: 'drifted', driftRetries: 2 });
    expect(generous.commands.map((c) => `${c.kind}:${c.command.verb}`)).toEqual(['apply:Replace']);
    const healed = run(
      [
        { type: 'outcome', kind: 'apply', code: 200 },
        { type: 'outcome', kind: 'verify', code: 200, data: '0' },
      ],
      generous.record,
    );
    expect(healed.record.state).toBe('verified');
  });

  it.each([404, 405])(
    'reports a node whose read-back answers %i after a 2xx write as applied but unverifiable',
    (code) => {
      const applied = run([
        { type: 'assign', policy: 'p', plan: p0 },
        { type: 'sent', kind: 'apply' },
        { type: 'outcome', kind: 'apply', code: 200 },
      ]).record;
      const { record } = run([{ type: 'outcome', kind: 'verify', code }], applied);
      expect(record).toMatchObject({
        state: 'applied',
        statusCode: code,
        reason: `read-back returned ${code}: the node cannot be verified`,
        nextCheckAt: null,
        deliveredValue: '0',
        reportedValue: null,
        failRetries: 0,
      });
      expect(cannotBeVerified(record)).toBe(true);
      // No further verification Gets and no retries: not on re-check, resend, or the next check-in's assign.
      expect(
        run([{ type: 'recheck' }, { type: 'resend' }, { type: 'assign', policy: 'p', plan: p0 }], record)
          .verbs,
      ).toEqual([]);
      expect(run([{ type: 'assign', policy: 'p', plan: p0 }], record).record.state).toBe('applied');
      // A new desired value is delivered (and read back) afresh.
      const changed = run([{ type: 'assign', policy: 'p', plan: plan(CAMERA, '1') }], record);
      expect(changed.verbs).toEqual(['apply:Replace']);
      expect(changed.record).toMatchObject({ state: 'pending', statusCode: null, reason: null });
    },
  );

  it('keeps a setting applied when its read-back itself fails, and reads it again at the next re-check', () => {
    for (const code of [500, null]) {
      const applied = run([
        { type: 'assign', policy: 'p', plan: p0 },
        { type: 'outcome', kind: 'apply', code: 200 },
      ]).record;
      const { record } = run([{ type: 'outcome', kind: 'verify', code }], applied);
      expect(record).toMatchObject({
        state: 'applied',
        statusCode: code,
        nextCheckAt: '2026-01-01T01:00:00.000Z',
      });
      expect(record.reason).toBe(
        code === null
          ? 'not verified yet: read-back Get returned no status'
          : 'not verified yet: read-back Get returned 500 (command failed on the device)',
      );
      expect(cannotBeVerified(record)).toBe(false);
      expect(run([{ type: 'resend' }], record).verbs).toEqual([]); // waits for its re-check
      const again = run(
        [{ type: 'recheck' }, { type: 'outcome', kind: 'verify', code: 200, data: '0' }],
        record,
      );
      expect(again.verbs).toEqual(['verify:Get']);
      expect(again.record).toMatchObject({ state: 'verified', reason: null, statusCode: 200 });
    }
  });

  it('counts a node without Get as unverifiable once applied', () => {
    const writeOnly = { ...p0, verifiable: false };
    const { record, verbs } = run([
      { type: 'assign', policy: 'p', plan: writeOnly },
      { type: 'outcome', kind: 'apply', code: 200 },
    ]);
    expect(verbs).toEqual(['apply:Add']);
    expect(record.state).toBe('applied');
    expect(cannotBeVerified(record)).toBe(true);
    expect(cannotBeVerified({ ...record, plan: p0 })).toBe(false);
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

  it('is removing while the Delete is out, and failed with its reason when the Delete fails', () => {
    const removing = run([
      { type: 'assign', policy: 'p', plan: p0 },
      { type: 'outcome', kind: 'apply', code: 200 },
      { type: 'outcome', kind: 'verify', code: 200, data: '0' },
      { type: 'unassign' },
    ]);
    expect(removing.record).toMatchObject({ state: 'removing', desiredValue: null, policy: 'p' });
    expect(run([{ type: 'unassign' }], removing.record).verbs).toEqual([]); // not sent twice
    const gone = run([{ type: 'outcome', kind: 'remove', code: 404 }], removing.record).record;
    expect(gone).toMatchObject({ state: 'removed', statusCode: 404 });
    const refused = run([{ type: 'outcome', kind: 'remove', code: 405 }], removing.record).record;
    expect(refused).toMatchObject({ state: 'failed', statusCode: 405 });
    expect(refused.reason).toBe('Delete failed: command not allowed on this node');
  });

  it('resends the command an in-flight setting waits for, and nothing for settled ones', () => {
    const sent = run([
      { type: 'assign', policy: 'p', plan: p0 },
      { type: 'sent', kind: 'apply' },
    ]);
    const again = run([{ type: 'resend' }], sent.record);
    expect(again.verbs).toEqual(['apply:Add']);
    expect(again.record.state).toBe('pending');
    const applied = run([{ type: 'outcome', kind: 'apply', code: 200 }], sent.record).record;
    expect(run([{ type: 'resend' }], applied).verbs).toEqual(['verify:Get']);
    const writeOnly = { ...applied, plan: { ...p0, verifiable: false } };
    expect(run([{ type: 'resend' }], writeOnly).verbs).toEqual([]);
    const removing = run([{ type: 'unassign' }], applied).record;
    expect(run([{ type: 'resend' }], removing).verbs).toEqual(['remove:Delete']);
    const verified = run([{ type: 'outcome', kind: 'verify', code: 200, data: '0' }], applied).record;
    expect(run([{ type: 'resend' }], verified).verbs).toEqual([]);
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
