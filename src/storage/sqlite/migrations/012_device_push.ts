import type { Migration } from '../../sql/migration.js';

/**
 * WNS push per device (Microsoft "Push notification support for device management"): the last
 * push sent and its answer, a channel WNS called gone (410) or the server refused, a coalesced push
 * still due, and the session that followed the last push. The channel URI itself is inventory
 * (`dm_inventory`, `…/DMClient/Provider/{ProviderID}/Push/ChannelURI`).
 */
export const migration012: Migration = {
  version: 12,
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
) STRICT;
CREATE INDEX device_push_due ON device_push (due_at) WHERE due_at IS NOT NULL;
`,
};
