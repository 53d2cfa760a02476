// Webhook events from the OMA-DM session engine, written in the exchange's own transaction
// (hooks.ts): device.checked_in on package 1 (MS-MDM 2.2.1), command.completed when the
// device answers an admin command or device action with its Status.
import type { EventSink } from '../webhooks/events.js';
import type { DmHooks } from './hooks.js';

export function webhookDmHooks(events: EventSink): DmHooks {
  return {
    async onCheckIn(checkIn, ctx) {
      if (events.wants('device.checked_in')) {
        await events.emit(
          ctx.tx,
          'device.checked_in',
          { deviceId: checkIn.deviceId, sessionId: checkIn.sessionId, sessionAlert: checkIn.sessionAlert },
          ctx.at,
        );
      }
      return [];
    },
    async onCommandOutcome(outcome, ctx) {
      if (
        outcome.path === '' &&
        outcome.statusCode !== undefined &&
        (outcome.origin === 'admin' || outcome.origin === 'action') &&
        events.wants('command.completed')
      ) {
        await events.emit(
          ctx.tx,
          'command.completed',
          {
            deviceId: outcome.deviceId,
            commandId: outcome.commandId,
            origin: outcome.origin,
            verb: outcome.verb,
            statusCode: outcome.statusCode,
          },
          ctx.at,
        );
      }
      return [];
    },
  };
}

/** Runs several hook sets in order; follow-ups are concatenated. */
export function composeHooks(...sets: readonly (DmHooks | undefined)[]): DmHooks {
  const list = sets.filter((s): s is DmHooks => s !== undefined);
  return {
    async onCheckIn(checkIn, ctx) {
      const out = [];
      for (const h of list) if (h.onCheckIn) out.push(...(await h.onCheckIn(checkIn, ctx)));
      return out;
    },
    async onCommandOutcome(outcome, ctx) {
      const out = [];
      for (const h of list) if (h.onCommandOutcome) out.push(...(await h.onCommandOutcome(outcome, ctx)));
      return out;
    },
    async onExchangeEnd(ctx) {
      const out = [];
      for (const h of list) if (h.onExchangeEnd) out.push(...(await h.onExchangeEnd(ctx)));
      return out;
    },
  };
}
