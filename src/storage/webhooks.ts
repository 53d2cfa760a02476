// The webhook outbox: one row per (event, endpoint), written in the same transaction as the change
// it reports, delivered later by the webhook deliverer (src/webhooks/deliverer.ts), retried with
// backoff, its delivery state kept for the admin API.

export const DELIVERY_STATES = ['pending', 'delivered', 'failed'] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];

export interface NewDelivery {
  /** The event id (Standard Webhooks `webhook-id`), the same for every endpoint. */
  readonly eventId: string;
  readonly eventType: string;
  /** The endpoint URL. */
  readonly url: string;
  /** The JSON body sent. */
  readonly payload: string;
  readonly createdAt: string;
}

export interface Delivery extends NewDelivery {
  readonly id: number;
  readonly state: DeliveryState;
  readonly attempts: number;
  readonly nextAttemptAt: string | null;
  readonly lastStatus: number | null;
  readonly lastError: string | null;
  readonly deliveredAt: string | null;
}

export interface WebhookOutbox {
  enqueue(deliveries: readonly NewDelivery[]): Promise<void>;
  /**
   * Claims up to `limit` pending deliveries due at `now`: their next attempt moves to `leaseUntil`,
   * so another server instance does not send them meanwhile.
   */
  claimDue(now: string, leaseUntil: string, limit: number): Promise<Delivery[]>;
  /** Whether any pending delivery is due at `now` (a read: an idle outbox takes no write lock). */
  hasDue(now: string): Promise<boolean>;
  markDelivered(id: number, at: string, status: number): Promise<void>;
  /** A failed attempt: retried at `nextAttemptAt`, or given up (`failed`) when it is null. */
  markAttemptFailed(
    id: number,
    attempts: number,
    nextAttemptAt: string | null,
    status: number | null,
    error: string,
  ): Promise<void>;
  /** Newest first. */
  list(options?: {
    readonly state?: DeliveryState;
    readonly beforeId?: number;
    readonly limit?: number;
  }): Promise<Delivery[]>;
}
