// Delivers the webhook outbox (events and compliance notices): claims due rows, POSTs each with its Standard Webhooks headers,
// marks it delivered on a 2xx, otherwise schedules the next attempt from `webhookRetrySeconds`
// (at least a day in all by default) until the schedule is spent. Runs on a timer, off every
// device exchange; rows survive restarts, and a claim keeps two server instances from both sending.
import type { Logger } from '../logger.js';
import type { Storage } from '../storage/index.js';
import type { Delivery } from '../storage/webhooks.js';
import { COMPLIANCE_NOTICE_EVENT, type WebhookEndpoint } from './events.js';
import { webhookHeaders } from './sign.js';

export interface DelivererOptions {
  readonly storage: Storage;
  readonly endpoints: readonly WebhookEndpoint[];
  readonly retrySeconds: readonly number[];
  readonly logger: Logger;
  /** Poll interval (default 1 s; 5 s when no endpoint is configured). */
  readonly intervalMs?: number;
  /** Per-attempt timeout (default 10 s). */
  readonly timeoutMs?: number;
}

const BATCH = 20;

export function startWebhookDeliverer(o: DelivererOptions): {
  stop(): Promise<void>;
  runOnce(): Promise<number>;
} {
  // Without configured endpoints only compliance notices can be due: look less often.
  const intervalMs = o.intervalMs ?? (o.endpoints.length > 0 ? 1000 : 5000);
  const timeoutMs = o.timeoutMs ?? 10_000;
  const secretOf = (url: string) => o.endpoints.find((e) => e.url === url)?.secret;
  let stopped = false;
  let running: Promise<unknown> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;

  async function attempt(d: Delivery): Promise<void> {
    const secret = secretOf(d.url);
    const attempts = d.attempts + 1;
    const fail = async (status: number | null, error: string) => {
      const delay = o.retrySeconds[attempts - 1];
      const next = delay === undefined ? null : new Date(Date.now() + delay * 1000).toISOString();
      await o.storage.webhooks.markAttemptFailed(d.id, attempts, next, status, error);
      o.logger.warn(
        {
          deliveryId: d.id,
          url: d.url,
          eventType: d.eventType,
          attempts,
          status,
          error,
          nextAttemptAt: next,
        },
        next ? 'webhook delivery failed; will retry' : 'webhook delivery failed; giving up',
      );
    };
    // A compliance notice may go to any URL its rule names: signed when that URL is a configured
    // endpoint, plain JSON otherwise. Any other event is only ever sent signed.
    const notice = d.eventType === COMPLIANCE_NOTICE_EVENT;
    if (!secret && !notice) return fail(null, 'the endpoint is no longer configured');
    try {
      const res = await fetch(d.url, {
        method: 'POST',
        headers: secret
          ? webhookHeaders(secret, d.eventId, d.payload, new Date())
          : { 'content-type': 'application/json', 'webhook-id': d.eventId },
        body: d.payload,
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.status >= 200 && res.status < 300) {
        await o.storage.webhooks.markDelivered(d.id, new Date().toISOString(), res.status);
      } else await fail(res.status, `HTTP ${res.status}`);
    } catch (err) {
      await fail(null, (err as Error).message);
    }
  }

  async function runOnce(): Promise<number> {
    const now = new Date();
    if (!(await o.storage.webhooks.hasDue(now.toISOString()))) return 0;
    const lease = new Date(now.getTime() + timeoutMs * 2 + 5000);
    const due = await o.storage.webhooks.claimDue(now.toISOString(), lease.toISOString(), BATCH);
    for (const d of due) await attempt(d);
    return due.length;
  }

  const tick = () => {
    if (stopped) return;
    running = runOnce()
      .catch((err: Error) => o.logger.warn({ err: err.message }, 'webhook outbox unavailable'))
      .finally(() => {
        if (!stopped) {
          timer = setTimeout(tick, intervalMs);
          timer.unref();
        }
      });
  };
  // Always on: compliance notices need no configured endpoint; an idle poll is one read.
  tick();
  return {
    runOnce,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
