// Webhook events (docs/api.md "Webhooks"). `emit` writes one outbox row per subscribed endpoint
// through the storage it is given: inside a transaction, the event commits or rolls back with the
// change it reports. Nothing is sent here; the deliverer does that, never on a device's exchange.
import { randomUUID } from 'node:crypto';
import type { WebhookEventType } from '../config.js';
import type { Storage } from '../storage/index.js';

export { WEBHOOK_EVENTS, type WebhookEventType } from '../config.js';

/**
 * Outbox rows of a compliance rule's `notify: {webhook: url}` action: the body is the notice itself,
 * and the URL need not be a configured endpoint (then it is sent unsigned, as the rule asks).
 */
export const COMPLIANCE_NOTICE_EVENT = 'compliance.notice';

export interface WebhookEndpoint {
  readonly url: string;
  readonly secret: string;
  /** Subscribed types; empty = every type. */
  readonly events: readonly string[];
}

export interface EventSink {
  /** Is anyone subscribed to `type`? (lets a hot path skip building the payload) */
  wants(type: WebhookEventType): boolean;
  emit(
    storage: Pick<Storage, 'webhooks'>,
    type: WebhookEventType,
    data: Record<string, unknown>,
    at?: Date,
  ): Promise<void>;
}

/** The event body (Standard Webhooks payload shape: type, timestamp, data). */
export function eventPayload(type: string, data: Record<string, unknown>, at: Date): string {
  return JSON.stringify({ type, timestamp: at.toISOString(), data });
}

export function createEventSink(endpoints: readonly WebhookEndpoint[]): EventSink {
  const subscribers = (type: string) =>
    endpoints.filter((e) => e.events.length === 0 || e.events.includes(type));
  return {
    wants: (type) => subscribers(type).length > 0,
    async emit(storage, type, data, at = new Date()) {
      const to = subscribers(type);
      if (to.length === 0) return;
      const eventId = `msg_${randomUUID()}`;
      const payload = eventPayload(type, data, at);
      await storage.webhooks.enqueue(
        to.map((e) => ({ eventId, eventType: type, url: e.url, payload, createdAt: at.toISOString() })),
      );
    },
  };
}

/** No endpoints configured. */
export const NO_EVENTS: EventSink = createEventSink([]);
