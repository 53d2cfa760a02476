// The per-device, per-setting delivery state machine. Pure: given the stored record and an event
// it returns the next record and the commands to queue. Storage and the session engine do the I/O.
//
//   assign ─▶ pending ─(sent)▶ sent ─(2xx)▶ applied ─(Get equal)▶ verified ─(re-check)▶ Get
//                                  └(4xx/5xx)▶ failed      ├(Get differs)▶ drifted ◀─(differs)┘
//                                      │                   │                 └▶ re-apply (bounded)
//                                      │                   ├(Get 404/405)▶ applied, cannot be verified (final)
//                                      │                   └(Get 5xx / no answer)▶ applied, Get again later
//                                      └(5xx/215/216: after a doubling delay, bounded)▶ pending
//   unassign ─▶ removing ─(2xx/404)▶ removed          conflict / not_applicable: nothing is sent
//
// Only a failing status of the apply (or of the Delete) makes a setting `failed`. What a read-back
// returns never does: a different value is drift, an unreadable node is applied but unverifiable.
import type { DmCommand, DmFormat } from '../../shared/dm-command.js';
import {
  type DeviceSettingRecord,
  SETTING_STATES,
  type SettingState,
} from '../../storage/device-settings.js';
import type { SettingPlan } from '../language/types.js';
import { valuesEqual } from './equality.js';

export { SETTING_STATES, type SettingState };

/** Why a command was queued; carried in the queue tag and back in the outcome. */
export type CommandKind = 'apply' | 'verify' | 'remove';

/** Meaning of the device status codes delivery reports (docs/protocol-notes.md#status-codes). */
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
  | { readonly type: 'recheck' }
  /**
   * The setting is in flight but the queue holds no command that could still answer for it (its
   * exchange failed after the setting was saved): send that command again.
   */
  | { readonly type: 'resend' };

export interface SettingCommand {
  readonly kind: CommandKind;
  readonly command: DmCommand;
}

export interface Transition {
  readonly record: SettingRecord;
  readonly commands: readonly SettingCommand[];
}

export interface SettingMachineOptions {
  readonly now: Date;
  /** Re-verification interval for this setting. */
  readonly recheckMs: number;
  /** Re-applies allowed after drift before the setting stays drifted. */
  readonly maxDriftRetries: number;
  /** Re-applies allowed after a transient (5xx) failure before the setting stays failed. */
  readonly maxFailureRetries: number;
  /** Delay before the first failure retry; doubled for each further one. */
  readonly failureRetryDelayMs: number;
}

/**
 * Device statuses worth retrying later: the device's own errors (500 command failed, 503 busy,
 * 506 processing error, 507 Atomic failed; docs/protocol-notes.md#status-codes) and commands that did not run
 * because another one in their Atomic failed (215 not executed, 216 rolled back). 4xx statuses
 * (404 no such node, 405 not allowed, 425 permission denied, …) say the same every time: final.
 */
export function isTransientFailure(code: number | null): boolean {
  return code !== null && ((code >= 500 && code < 600) || code === 215 || code === 216);
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
    failRetries: 0,
    sentAt: null,
    appliedAt: null,
    verifiedAt: null,
    reportedAt: null,
    nextCheckAt: null,
    updatedAt: now.toISOString(),
  };
}

/** The command took effect: 2xx, except 215 (not executed) and 216 (rolled back) (docs/protocol-notes.md#status-codes). */
const is2xx = (code: number | null): code is number =>
  code !== null && code >= 200 && code < 300 && code !== 215 && code !== 216;

/**
 * Read-back statuses that say the node cannot be read at all (404 not found, 405 Get not allowed):
 * Windows has nodes that take a write with 2xx and are write-only in practice.
 */
const UNREADABLE: ReadonlySet<number> = new Set([404, 405]);

/**
 * The device accepted the write but the value can never be read back: a node without Get
 * (`plan.verifiable` false) or one whose read-back answered 404/405. No verification Get is sent
 * for it again; compliance counts it as satisfied (`settingsVerified`, compliance.ts).
 */
export function cannotBeVerified(record: Pick<SettingRecord, 'state' | 'statusCode' | 'plan'>): boolean {
  if (record.state !== 'applied') return false;
  return (
    record.plan?.verifiable === false || (record.statusCode !== null && UNREADABLE.has(record.statusCode))
  );
}
const DELIVERED: readonly SettingState[] = ['pending', 'sent', 'applied', 'verified', 'drifted', 'failed'];

export function transitionSetting(
  record: SettingRecord,
  event: SettingEvent,
  opts: SettingMachineOptions,
): Transition {
  const now = opts.now.toISOString();
  const next = (patch: Partial<SettingRecord>, commands: SettingCommand[] = []): Transition => ({
    record: { ...record, ...patch, updatedAt: now },
    commands,
  });
  const unchanged: Transition = { record, commands: [] };
  const applyCommand = (plan: SettingPlan, added: boolean): SettingCommand => ({
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
          failRetries: 0,
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
    case 'recheck': {
      if (!record.plan) return unchanged;
      if (record.state === 'failed' && record.desiredValue !== null && record.nextCheckAt !== null) {
        // A scheduled retry of a transient failure (nextCheckAt set by `onOutcome`).
        return next({ state: 'pending', nextCheckAt: null }, [applyCommand(record.plan, record.added)]);
      }
      // An applied setting whose read-back failed (5xx, never answered) is read again when due.
      const readAgain =
        record.state === 'applied' && record.nextCheckAt !== null && !cannotBeVerified(record);
      if (record.state !== 'verified' && record.state !== 'drifted' && !readAgain) return unchanged;
      return next({ nextCheckAt: null }, [{ kind: 'verify', command: record.plan.verify }]);
    }
    case 'resend':
      return resend(record, next, unchanged);
    case 'outcome':
      return onOutcome(record, event, opts, next, unchanged);
  }
}

/** Which command answers for a setting in each in-flight state (see `resend`). */
export const IN_FLIGHT_COMMAND = {
  pending: 'apply',
  sent: 'apply',
  applied: 'verify',
  removing: 'remove',
} as const satisfies Partial<Record<SettingState, CommandKind>>;

function resend(
  record: SettingRecord,
  next: (patch: Partial<SettingRecord>, commands?: SettingCommand[]) => Transition,
  unchanged: Transition,
): Transition {
  const plan = record.plan;
  if (!plan) return unchanged;
  switch (record.state) {
    case 'pending':
    case 'sent':
      if (record.desiredValue === null) return unchanged;
      return next({ state: 'pending' }, [
        { kind: 'apply', command: record.added ? plan.apply.update : plan.apply.first },
      ]);
    case 'applied':
      // A node that cannot be read back stays `applied`: there is nothing to wait for. One whose
      // read-back is scheduled again (nextCheckAt) waits for its re-check.
      return cannotBeVerified(record) || record.nextCheckAt !== null
        ? unchanged
        : next({}, [{ kind: 'verify', command: plan.verify }]);
    case 'removing':
      return plan.remove ? next({}, [{ kind: 'remove', command: plan.remove }]) : unchanged;
    default:
      return unchanged;
  }
}

function onOutcome(
  record: SettingRecord,
  event: Extract<SettingEvent, { type: 'outcome' }>,
  opts: SettingMachineOptions,
  next: (patch: Partial<SettingRecord>, commands?: SettingCommand[]) => Transition,
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
      // Add of a node that already has an MDM value: re-issue as Replace (docs/protocol-notes.md#policy-csp).
      return next({ added: true, statusCode: code }, [{ kind: 'apply', command: plan.apply.update }]);
    }
    if (!is2xx(code)) return next(applyFailure(record, code, failure('apply failed'), opts));
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
      failRetries: 0,
      driftRetries: record.state === 'verified' ? 0 : record.driftRetries,
    });
  }
  const what =
    reported === null
      ? `read-back Get returned ${code === null ? 'no status' : `${code} (${statusReason(code)})`}`
      : `device reports ${JSON.stringify(reported)}, expected ${JSON.stringify(record.desiredValue)}`;
  if (record.state === 'applied' && reported === null) {
    if (code !== null && UNREADABLE.has(code)) {
      // Accepted with 2xx, but the node cannot be read: applied, unverifiable; no more Gets.
      return next({
        ...seen,
        statusCode: code,
        reason: `read-back returned ${code}: the node cannot be verified`,
        nextCheckAt: null,
      });
    }
    // The read itself failed (5xx, or never answered, e.g. a dropped connection): still applied,
    // read again at the next re-check.
    return next({
      ...seen,
      statusCode: code,
      reason: `not verified yet: ${what}`,
      nextCheckAt: recheck,
    });
  }
  if (record.state === 'applied' || record.state === 'verified' || record.state === 'drifted') {
    // A value that differs from the desired one is drift, right after applying too (the device or a
    // user changed it, maybe while a dropped connection delayed the read-back): re-apply, bounded.
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

/**
 * A failed apply: a transient (5xx) failure is retried after `failureRetryDelayMs`, doubled for
 * each earlier retry, at most `maxFailureRetries` times per desired value; anything else is final.
 */
function applyFailure(
  record: SettingRecord,
  code: number | null,
  failed: Partial<SettingRecord>,
  opts: SettingMachineOptions,
): Partial<SettingRecord> {
  const done = record.failRetries;
  if (!isTransientFailure(code)) return { ...failed, nextCheckAt: null };
  if (done >= opts.maxFailureRetries) {
    const tried = done === 0 ? 'not retried' : `gave up after ${done} ${done === 1 ? 'retry' : 'retries'}`;
    return { ...failed, nextCheckAt: null, reason: `${failed.reason} (${tried})` };
  }
  const retryAt = new Date(opts.now.getTime() + opts.failureRetryDelayMs * 2 ** done).toISOString();
  return {
    ...failed,
    failRetries: done + 1,
    nextCheckAt: retryAt,
    reason: `${failed.reason} (retry ${done + 1} of ${opts.maxFailureRetries} after ${retryAt})`,
  };
}
