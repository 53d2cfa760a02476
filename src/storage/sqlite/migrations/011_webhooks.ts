import type { Migration } from '../../sql/migration.js';

/** The webhook outbox (docs/api.md "Webhooks"): one row per event and endpoint, with its delivery state. */
export const migration011: Migration = {
  version: 11,
  name: 'webhooks',
  sql: `
CREATE TABLE webhook_deliveries (
  id              INTEGER PRIMARY KEY,
  event_id        TEXT NOT NULL,
  event_type      TEXT NOT NULL,
  url             TEXT NOT NULL,
  payload         TEXT NOT NULL,
  state           TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at TEXT,
  last_status     INTEGER,
  last_error      TEXT,
  created_at      TEXT NOT NULL,
  delivered_at    TEXT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
`,
};
