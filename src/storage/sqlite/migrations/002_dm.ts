// OMA-DM management: command queue, sessions and the (session, MsgID, CmdID) → command map,
// inventory, device events, check-ins and the admin audit log (docs/protocol-notes.md#server-replies, #end-of-session, #generic-alerts, #csps).
import type { Migration } from '../../sql/migration.js';

export const migration002: Migration = {
  version: 2,
  name: 'dm',
  sql: `
CREATE TABLE dm_commands (
  command_id     TEXT PRIMARY KEY,
  device_id      TEXT NOT NULL REFERENCES devices (device_id),
  origin         TEXT NOT NULL,
  tag            TEXT,
  priority       INTEGER NOT NULL DEFAULT 0,
  payload        TEXT NOT NULL,
  state          TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'done', 'failed', 'expired', 'cancelled')),
  status_code    INTEGER,
  failure_reason TEXT,
  attempts       INTEGER NOT NULL DEFAULT 0,
  retry_of       TEXT,
  actor          TEXT,
  created_at     TEXT NOT NULL,
  expires_at     TEXT,
  sent_at        TEXT,
  completed_at   TEXT
) STRICT;
CREATE INDEX dm_commands_queue ON dm_commands (device_id, state, priority DESC);
CREATE INDEX dm_commands_device ON dm_commands (device_id, created_at);

CREATE TABLE dm_sessions (
  id          INTEGER PRIMARY KEY,
  device_id   TEXT NOT NULL REFERENCES devices (device_id),
  session_id  TEXT NOT NULL,
  state       TEXT NOT NULL,
  status      TEXT NOT NULL CHECK (status IN ('active', 'closed')),
  end_reason  TEXT,
  messages    INTEGER NOT NULL DEFAULT 1,
  started_at  TEXT NOT NULL,
  updated_at  TEXT NOT NULL,
  ended_at    TEXT
) STRICT;
CREATE INDEX dm_sessions_device ON dm_sessions (device_id, status);

CREATE TABLE dm_sent (
  session_row    INTEGER NOT NULL REFERENCES dm_sessions (id),
  msg_id         INTEGER NOT NULL,
  cmd_id         INTEGER NOT NULL,
  command_id     TEXT NOT NULL REFERENCES dm_commands (command_id),
  path           TEXT NOT NULL,
  verb           TEXT NOT NULL,
  targets        TEXT NOT NULL,
  status_code    INTEGER,
  original_error TEXT,
  results        TEXT,
  sent_at        TEXT NOT NULL,
  answered_at    TEXT,
  PRIMARY KEY (session_row, msg_id, cmd_id)
) STRICT;
CREATE INDEX dm_sent_command ON dm_sent (command_id);

CREATE TABLE dm_inventory (
  device_id   TEXT NOT NULL REFERENCES devices (device_id),
  loc_uri     TEXT NOT NULL,
  value       TEXT,
  format      TEXT,
  type        TEXT,
  reported_at TEXT NOT NULL,
  PRIMARY KEY (device_id, loc_uri)
) STRICT, WITHOUT ROWID;

CREATE TABLE dm_checkins (
  device_id         TEXT PRIMARY KEY REFERENCES devices (device_id),
  last_checkin_at   TEXT,
  last_inventory_at TEXT,
  login_status      TEXT,
  sessions          INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE device_events (
  id          INTEGER PRIMARY KEY,
  device_id   TEXT NOT NULL REFERENCES devices (device_id),
  alert_code  INTEGER NOT NULL,
  type        TEXT NOT NULL,
  format      TEXT,
  mark        TEXT,
  source      TEXT,
  data        TEXT,
  received_at TEXT NOT NULL
) STRICT;
CREATE INDEX device_events_device ON device_events (device_id, id);

CREATE TABLE audit_log (
  id        INTEGER PRIMARY KEY,
  at        TEXT NOT NULL,
  actor     TEXT NOT NULL,
  action    TEXT NOT NULL,
  device_id TEXT,
  details   TEXT NOT NULL
) STRICT;
CREATE INDEX audit_log_device ON audit_log (device_id, id);
`,
};
