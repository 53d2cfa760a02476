// The webhook outbox (table: webhook_deliveries).
import type { Delivery, DeliveryState, WebhookOutbox } from '../webhooks.js';
import { placeholders, type SqlExecutor, type SqlValue } from './client.js';

interface Row {
  id: number | string;
  event_id: string;
  event_type: string;
  url: string;
  payload: string;
  state: string;
  attempts: number;
  next_attempt_at: string | null;
  last_status: number | null;
  last_error: string | null;
  created_at: string;
  delivered_at: string | null;
}

const toDelivery = (r: Row): Delivery => ({
  id: Number(r.id),
  eventId: r.event_id,
  eventType: r.event_type,
  url: r.url,
  payload: r.payload,
  state: r.state as DeliveryState,
  attempts: Number(r.attempts),
  nextAttemptAt: r.next_attempt_at,
  lastStatus: r.last_status === null ? null : Number(r.last_status),
  lastError: r.last_error,
  createdAt: r.created_at,
  deliveredAt: r.delivered_at,
});

export function sqlWebhookOutbox(db: SqlExecutor): WebhookOutbox {
  return {
    enqueue: (list) =>
      db.write(async (c) => {
        if (list.length === 0) return;
        await c.run(
          `INSERT INTO webhook_deliveries (event_id, event_type, url, payload, state, attempts, next_attempt_at, created_at)
           VALUES ${list.map(() => `(${placeholders(4)}, 'pending', 0, ?, ?)`).join(', ')}`,
          list.flatMap((d) => [d.eventId, d.eventType, d.url, d.payload, d.createdAt, d.createdAt]),
        );
      }),
    claimDue: (now, leaseUntil, limit) =>
      db.write(async (c) => {
        const rows = await c.all<Row>(
          `UPDATE webhook_deliveries SET next_attempt_at = ?
            WHERE id IN (SELECT id FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_at <= ?
                          ORDER BY id LIMIT ?)
              AND state = 'pending' AND next_attempt_at <= ?
            RETURNING *`,
          [leaseUntil, now, limit, now],
        );
        return rows.map(toDelivery).sort((a, b) => a.id - b.id);
      }),
    hasDue: (now) =>
      db.read(async (c) => {
        const rows = await c.all<{ one: number }>(
          `SELECT 1 AS one FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_at <= ? LIMIT 1`,
          [now],
        );
        return rows.length > 0;
      }),
    markDelivered: (id, at, status) =>
      db.write(async (c) => {
        await c.run(
          `UPDATE webhook_deliveries SET state = 'delivered', attempts = attempts + 1, delivered_at = ?,
             last_status = ?, last_error = NULL, next_attempt_at = NULL WHERE id = ?`,
          [at, status, id],
        );
      }),
    markAttemptFailed: (id, attempts, nextAttemptAt, status, error) =>
      db.write(async (c) => {
        await c.run(
          `UPDATE webhook_deliveries SET state = ?, attempts = ?, next_attempt_at = ?, last_status = ?,
             last_error = ? WHERE id = ?`,
          [
            nextAttemptAt === null ? 'failed' : 'pending',
            attempts,
            nextAttemptAt,
            status,
            error.slice(0, 500),
            id,
          ],
        );
      }),
    list: (options = {}) =>
      db.read(async (c) => {
        const where: string[] = [];
        const args: SqlValue[] = [];
        if (options.state) {
          where.push('state = ?');
          args.push(options.state);
        }
        if (options.beforeId !== undefined) {
          where.push('id < ?');
          args.push(options.beforeId);
        }
        const rows = await c.all<Row>(
          `SELECT * FROM webhook_deliveries ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`,
          [...args, options.limit ?? 50],
        );
        return rows.map(toDelivery);
      }),
  };
}
