import type { Migration } from '../../sql/migration.js';

/**
 * The session engine writes the rows it decided on (docs/architecture.md "Transactions and locks"):
 * - `dm_commands` gets an explicit queue order (`seq`), the session that carries a sent command
 *   (`carrier_row`) and its node records (`nodes`, JSON: every node as sent with the device's
 *   Status and Results), which replace the `dm_sent` table;
 * - one check-in table: `device_checkins` is folded into `dm_checkins`;
 * - failed sign-ins per user name (`login_failures`), shared by every server process;
 * - case-insensitive UPN lookups through an index on lower(upn), as on PostgreSQL.
 * Sessions still active are closed and their sent commands go back to the queue: their state
 * documents predate the node records, and the device's next check-in opens a new session anyway.
 */
export const migration006: Migration = {
  version: 6,
  name: 'explicit_transactions',
  sql: `
CREATE TABLE dm_commands_v6 (
  seq            INTEGER PRIMARY KEY,
  command_id     TEXT NOT NULL UNIQUE,
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
  completed_at   TEXT,
  carrier_row    INTEGER,
  nodes          TEXT NOT NULL DEFAULT '[]'
) STRICT;

INSERT INTO dm_commands_v6 (seq, command_id, device_id, origin, tag, priority, payload, state, status_code,
    failure_reason, attempts, retry_of, actor, created_at, expires_at, sent_at, completed_at, nodes)
  SELECT c.rowid, c.command_id, c.device_id, c.origin, c.tag, c.priority, c.payload,
         CASE WHEN c.state = 'sent' THEN 'pending' ELSE c.state END,
         c.status_code, c.failure_reason, c.attempts, c.retry_of, c.actor, c.created_at, c.expires_at,
         c.sent_at, c.completed_at,
         coalesce((SELECT json_group_array(json(node)) FROM (
            SELECT json_object('sessionId', s.session_id, 'msgId', n.msg_id, 'cmdId', n.cmd_id,
                     'commandId', n.command_id, 'path', n.path, 'verb', n.verb, 'targets', json(n.targets),
                     'status', n.status_code, 'originalError', n.original_error,
                     'results', json(coalesce(n.results, '[]')), 'sentAt', n.sent_at,
                     'answeredAt', n.answered_at) AS node
              FROM dm_sent n JOIN dm_sessions s ON s.id = n.session_row
             WHERE n.command_id = c.command_id
             ORDER BY n.sent_at, n.session_row, n.msg_id, n.cmd_id)), '[]')
    FROM dm_commands c ORDER BY c.rowid;

DROP TABLE dm_sent;
DROP TABLE dm_commands;
ALTER TABLE dm_commands_v6 RENAME TO dm_commands;
CREATE INDEX dm_commands_queue ON dm_commands (device_id, state, priority DESC, seq);
CREATE INDEX dm_commands_device ON dm_commands (device_id, seq);

UPDATE dm_sessions SET status = 'closed', end_reason = 'superseded', ended_at = updated_at
 WHERE status = 'active';
CREATE INDEX dm_sessions_device_session ON dm_sessions (device_id, session_id);

INSERT INTO dm_checkins (device_id, last_checkin_at, last_inventory_at, login_status, sessions)
  SELECT k.device_id, k.last_at, NULL, CASE WHEN k.user_logged_on = 1 THEN 'user' END, k.count
    FROM device_checkins k JOIN devices d ON d.device_id = k.device_id
   WHERE true
  ON CONFLICT (device_id) DO NOTHING;
DROP TABLE device_checkins;

CREATE TABLE login_failures (
  key      TEXT PRIMARY KEY,
  first_at TEXT NOT NULL,
  count    INTEGER NOT NULL
) STRICT;

CREATE INDEX users_upn_lower ON users (lower(upn));
`,
};
