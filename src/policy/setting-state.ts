// The per-device, per-setting delivery state machine. Pure: given the stored record and an event
// it returns the next record and the commands to queue. Storage and the session engine do the I/O.
//
//   assign ─▶ pending ─(sent)▶ sent ─(2xx)▶ applied ─(Get equal)▶ verified ─(re-check)▶ Get
//                                  └(4xx/5xx)▶ failed      └(Get differs)▶ failed    └(differs)▶ drifted ─▶ re-apply
//   unassign ─▶ removing ─(2xx/404)▶ removed          conflict / not_applicable: nothing is sent
import type { DmCommand, DmFormat } from '../shared/dm-command.js';
import { type DeviceSettingRecord, SETTING_STATES, type SettingState } from '../storage/device-settings.js';
import { valuesEqual } from './equality.js';
import type { SettingPlan } from './types.js';

export { SETTING_STATES, type SettingState };

/** Why a command was queued; carried in the queue tag and back in the outcome. */
export type CommandKind = 'apply' | 'verify' | 'remove';

/** Meaning of the device status codes delivery reports (protocol.md §7.15). */
export const STATUS_REASONS = {
  400: 'bad request',
  401: 'invalid credentials',
  403: 'forbidden',
  404: 'node not found',
  405: 'command not allowed on this node',
  406: 'optional feature not supported on this device',
  415: 'unsupported format or data',
  418: 'already exists',
  425: 'permission denied',
  500: 'command failed on the device',
  501: 'command not implemented',
  503: 'service unavailable',
  506: 'processing error',
  507: 'atomic failed',
  215: 'not executed',
  216: 'rolled back in a failed atomic',
} as const satisfies Record<number, string>;

export function statusReason(code: number): string {
  return (STATUS_REASONS as Record<number, string>)[code] ?? `status ${code}`;
}

/** The stored record with the compiled plan typed. */
export type SettingRecord = DeviceSettingRecord<SettingPlan>;

export type SettingEvent =
  | { readonly type: 'assign'; readonly policy: string; readonly plan: SettingPlan }
  | { readonly type: 'conflict'; readonly reason: string }
  | { readonly type: 'not_applicable'; readonly reason: string; readonly transient?: boolean }
  | { readonly type: 'unassign' }
  /** The session engine sent the command (`at`: when). */
  | { readonly type: 'sent'; readonly kind: CommandKind; readonly at?: string }
  /** A Status (and for a Get, its Results data); `code` null = never acknowledged, expired. */
  | {
      readonly type: 'outcome';
      readonly kind: CommandKind;
      readonly code: number | null;
      readonly data?: string;
    }
  | { readonly type: 'recheck' };

export interface QueuedCommand {
  readonly kind: CommandKind;
  readonly command: DmCommand;
}

export interface Transition {
  readonly record: SettingRecord;
  readonly commands: readonly QueuedCommand[];
}

export interface MachineOptions {
  readonly now: Date;
  /** Re-verification interval for this setting. */
  readonly recheckMs: number;
  /** Re-applies allowed after drift before the setting stays drifted. */
  readonly maxDriftRetries: number;
}

export function emptyRecord(deviceId: string, path: string, format: DmFormat, now: Date): SettingRecord {
  return {
    deviceId,
    path,
    state: 'removed',
    policy: null,
    desiredValue: null,
    format,
    plan: null,
    deliveredValue: null,
    reportedValue: null,
    statusCode: null,
    reason: null,
    added: false,
    driftRetries: 0,
    sentAt: null,
    appliedAt: null,
    verifiedAt: null,
    reportedAt: null,
    nextCheckAt: null,
    updatedAt: now.toISOString(),
  };
}

const is2xx = (code: number | null): code is number => code !== null && code >= 200 && code < 300;
const DELIVERED: readonly SettingState[] = ['pending', 'sent', 'applied', 'verified', 'drifted', 'failed'];

export function step(record: SettingRecord, event: SettingEvent, opts: MachineOptions): Transition {
  const now = opts.now.toISOString();
  const next = (patch: Partial<SettingRecord>, commands: QueuedCommand[] = []): Transition => ({
    record: { ...record, ...patch, updatedAt: now },
    commands,
  });
  const unchanged: Transition = { record, commands: [] };
  const applyCommand = (plan: SettingPlan, added: boolean): QueuedCommand => ({
    kind: 'apply',
    command: added ? plan.apply.update : plan.apply.first,
  });

  switch (event.type) {
    case 'assign': {
      const { plan, policy } = event;
      const sameValue =
        record.desiredValue === plan.value && record.format === plan.format && record.plan !== null;
      if (sameValue && DELIVERED.includes(record.state)) {
        return record.policy === policy && JSON.stringify(record.plan) === JSON.stringify(plan)
          ? unchanged
          : next({ policy, plan });
      }
      return next(
        {
          state: 'pending',
          policy,
          plan,
          desiredValue: plan.value,
          format: plan.format,
          statusCode: null,
          reason: null,
          driftRetries: 0,
          nextCheckAt: null,
        },
        [applyCommand(plan, record.added)],
      );
    }
    case 'conflict':
      if (record.state === 'conflict' && record.reason === event.reason) return unchanged;
      return next({ state: 'conflict', desiredValue: null, reason: event.reason, statusCode: null });
    case 'not_applicable':
      if (event.transient && DELIVERED.includes(record.state)) return unchanged;
      if (record.state === 'not_applicable' && record.reason === event.reason) return unchanged;
      return next({ state: 'not_applicable', desiredValue: null, reason: event.reason, statusCode: null });
    case 'unassign': {
      if (record.state === 'removed' || record.state === 'removing') return unchanged;
      const delivered = record.added || DELIVERED.includes(record.state);
      const remove = record.plan?.remove;
      if (!delivered) return next({ state: 'removed', desiredValue: null, reason: null, nextCheckAt: null });
      if (!remove) {
        return next({
          state: 'removed',
          desiredValue: null,
          nextCheckAt: null,
          reason: 'node does not support Delete; the last value stays on the device',
        });
      }
      return next(
        { state: 'removing', desiredValue: null, statusCode: null, reason: null, nextCheckAt: null },
        [{ kind: 'remove', command: remove }],
      );
    }
    case 'sent':
      if (event.kind === 'apply' && record.state === 'pending')
        return next({ state: 'sent', sentAt: event.at ?? now });
      return unchanged;
    case 'recheck':
      if ((record.state !== 'verified' && record.state !== 'drifted') || !record.plan) return unchanged;
      return next({ nextCheckAt: null }, [{ kind: 'verify', command: record.plan.verify }]);
    case 'outcome':
      return onOutcome(record, event, opts, next, unchanged);
  }
}

function onOutcome(
  record: SettingRecord,
  event: Extract<SettingEvent, { type: 'outcome' }>,
  opts: MachineOptions,
  next: (patch: Partial<SettingRecord>, commands?: QueuedCommand[]) => Transition,
  unchanged: Transition,
): Transition {
  const now = opts.now.toISOString();
  const { code, kind } = event;
  const plan = record.plan;
  const failure = (prefix: string): Partial<SettingRecord> => ({
    state: 'failed',
    statusCode: code,
    reason:
      code === null ? `${prefix}: the device never acknowledged it` : `${prefix}: ${statusReason(code)}`,
  });

  if (kind === 'remove') {
    if (record.state !== 'removing') return unchanged;
    if (is2xx(code) || code === 404) {
      return next({ state: 'removed', added: false, deliveredValue: null, statusCode: code, reason: null });
    }
    return next(failure('Delete failed'));
  }

  if (!plan || record.desiredValue === null) return unchanged; // stale: no longer desired
  if (kind === 'apply') {
    if (!['pending', 'sent', 'drifted'].includes(record.state)) return unchanged;
    if (code === 418 && !record.added) {
      // Add of a node that already has an MDM value: re-issue as Replace (protocol.md §10.4).
      return next({ added: true, statusCode: code }, [{ kind: 'apply', command: plan.apply.update }]);
    }
    if (!is2xx(code)) return next(failure('apply failed'));
    const applied: Partial<SettingRecord> = {
      state: 'applied',
      added: true,
      deliveredValue: record.desiredValue,
      statusCode: code,
      reason: null,
      appliedAt: now,
      sentAt: record.sentAt ?? now,
    };
    // A node without Get (write-only secret) cannot be read back: it stays `applied`.
    if (plan.verifiable === false) return next(applied);
    return next(applied, [{ kind: 'verify', command: plan.verify }]);
  }

  // kind === 'verify'
  if (is2xx(code) && event.data === undefined) return unchanged; // Status before its Results
  const reported = is2xx(code) ? (event.data ?? null) : null;
  const equal =
    reported !== null && valuesEqual(record.desiredValue, reported, record.format, { node: plan.node });
  const seen = { reportedValue: reported, reportedAt: now };
  const recheck = new Date(opts.now.getTime() + opts.recheckMs).toISOString();
  if (equal) {
    if (record.state !== 'applied' && record.state !== 'verified' && record.state !== 'drifted') {
      return next(seen);
    }
    return next({
      ...seen,
      state: 'verified',
      statusCode: code,
      reason: null,
      verifiedAt: now,
      nextCheckAt: recheck,
      driftRetries: record.state === 'verified' ? 0 : record.driftRetries,
    });
  }
  const what =
    reported === null
      ? `read-back Get returned ${code === null ? 'no status' : `${code} (${statusReason(code)})`}`
      : `device reports ${JSON.stringify(reported)}, expected ${JSON.stringify(record.desiredValue)}`;
  if (record.state === 'applied') {
    return next({ ...seen, state: 'failed', statusCode: code, reason: `verification failed: ${what}` });
  }
  if (record.state === 'verified' || record.state === 'drifted') {
    if (record.driftRetries >= opts.maxDriftRetries) {
      return next({
        ...seen,
        state: 'drifted',
        statusCode: code,
        nextCheckAt: recheck,
        reason: `drift persists after ${record.driftRetries} re-applies: ${what}`,
      });
    }
    const nodeGone = code === 404;
    return next(
      {
        ...seen,
        state: 'drifted',
        statusCode: code,
        reason: `drifted: ${what}`,
        driftRetries: record.driftRetries + 1,
        nextCheckAt: null,
        added: nodeGone ? false : record.added,
      },
      [{ kind: 'apply', command: nodeGone ? plan.apply.first : plan.apply.update }],
    );
  }
  return next(seen);
}
