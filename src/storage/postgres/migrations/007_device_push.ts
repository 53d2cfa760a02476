import type { Migration } from '../../sql/migration.js';

/** As SQLite migration 8: WNS push state per device. */
export const migration007: Migration = {
  version: 7,
  name: 'device_push',
  sql: `
CREATE TABLE device_push (
  device_id           TEXT PRIMARY KEY REFERENCES devices (device_id),
  due_at              TEXT,
  requested_at        TEXT,
  last_sent_at        TEXT,
  last_channel_uri    TEXT,
  last_result         TEXT,
  last_http_status    INTEGER,
  last_error          TEXT,
  gone_channel_uri    TEXT,
  refused_channel_uri TEXT,
  pushes              INTEGER NOT NULL DEFAULT 0,
  followed_session_id TEXT,
  followed_at         TEXT,
  followed_origin     TEXT
);
CREATE INDEX device_push_due ON device_push (due_at) WHERE due_at IS NOT NULL;
`,
};
