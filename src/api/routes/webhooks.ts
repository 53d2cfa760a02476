// Webhook delivery state (the outbox, src/storage/webhooks.ts), newest first, with cursor pages.
import { z } from 'zod';
import { DELIVERY_STATES } from '../../storage/webhooks.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { type RouteDef, route } from '../route.js';
import { Cursor, Limit, page } from '../schemas.js';

const WebhookDelivery = z
  .strictObject({
    id: z.number().int(),
    eventId: z.string().describe('webhook-id: the same for every endpoint and attempt'),
    eventType: z.string(),
    url: z.string(),
    state: z.enum(DELIVERY_STATES),
    attempts: z.number().int(),
    nextAttemptAt: z.string().nullable(),
    lastStatus: z.number().int().nullable(),
    lastError: z.string().nullable(),
    createdAt: z.string(),
    deliveredAt: z.string().nullable(),
    payload: z.unknown().describe('the JSON body sent'),
  })
  .meta({ id: 'WebhookDelivery' });

export const webhookRoutes: RouteDef[] = [
  route({
    method: 'get',
    path: '/webhooks/deliveries',
    tag: 'webhooks',
    role: 'auditor',
    summary: 'Webhook deliveries with their state, attempts and last answer',
    query: z.strictObject({ state: z.enum(DELIVERY_STATES).optional(), limit: Limit, cursor: Cursor }),
    csv: 'items',
    responses: { 200: { description: 'one page of deliveries', schema: page(WebhookDelivery) } },
    handler: async ({ storage, query }) => {
      const before = decodeCursor(query.cursor, (v): v is number => Number.isInteger(v));
      const rows = await storage.webhooks.list({
        ...(query.state && { state: query.state }),
        ...(before !== undefined && { beforeId: before }),
        limit: query.limit + 1,
      });
      const items = rows
        .slice(0, query.limit)
        .map((d) => ({ ...d, payload: JSON.parse(d.payload) as unknown }));
      const nextCursor = rows.length > query.limit ? encodeCursor(items.at(-1)!.id) : null;
      return { body: { items, nextCursor } };
    },
  }),
];
