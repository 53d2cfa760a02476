// SQLite implementation of `CommandQueue` (tables from migration 002).
import { randomUUID } from 'node:crypto';
import type { CommandOrigin, DmCommand } from '../../shared/dm-command.js';
import type {
  CommandNodeRecord,
  CommandQueue,
  CommandRecord,
  CommandState,
  EnqueueCommand,
  QueuedCommand,
  ResultItem,
} from '../commands.js';
import type { SqliteDb } from './database.js';

export interface CommandRow {
  command_id: string;
  device_id: string;
  origin: string;
  tag: string | null;
  priority: number;
  payload: string;
  state: string;
  status_code: number | null;
  failure_reason: string | null;
  attempts: number;
  retry_of: string | null;
  actor: string | null;
  created_at: string;
  expires_at: string | null;
  sent_at: string | null;
  completed_at: string | null;
}

/** A row of `dm_sent`: one node of a command sent in a session, with its answer. */
export interface NodeRow {
  session_id: string;
  msg_id: number;
  cmd_id: number;
  command_id: string;
  path: string;
  verb: string;
  targets: string;
  status_code: number | null;
  original_error: string | null;
  results: string | null;
  sent_at: string;
  answered_at: string | null;
}

export function toQueued(row: CommandRow): QueuedCommand {
  return {
    id: row.command_id,
    command: JSON.parse(row.payload) as DmCommand,
    origin: row.origin as CommandOrigin,
    ...(row.tag !== null && { tag: row.tag }),
    attempts: row.attempts,
    priority: row.priority,
  };
}

function toRecord(row: CommandRow): CommandRecord {
  return {
    ...toQueued(row),
    deviceId: row.device_id,
    priority: row.priority,
    state: row.state as CommandState,
    statusCode: row.status_code,
    failureReason: row.failure_reason,
    retryOf: row.retry_of,
    actor: row.actor,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    sentAt: row.sent_at,
    completedAt: row.completed_at,
  };
}

/** The INSERT shared with the session store (which enqueues inside its own transaction). */
export function prepareEnqueue(db: SqliteDb): (c: EnqueueCommand, at: string) => string {
  const insert = db.prepare(`
    INSERT INTO dm_commands (command_id, device_id, origin, tag, priority, payload, state, retry_of, actor,
                             created_at, expires_at)
    VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)`);
  return (c, at) => {
    const id = c.id ?? randomUUID();
    insert.run(
      id,
      c.deviceId,
      c.origin,
      c.tag ?? null,
      c.priority ?? 0,
      JSON.stringify(c.command),
      c.retryOf ?? null,
      c.actor ?? null,
      at,
      c.expiresAt ?? null,
    );
    return id;
  };
}

export function createSqliteCommandQueue(db: SqliteDb): CommandQueue {
  const enqueue = prepareEnqueue(db);
  const getOne = db.prepare<[string], CommandRow>('SELECT * FROM dm_commands WHERE command_id = ?');
  const listAll = db.prepare<[string, number], CommandRow>(
    'SELECT * FROM dm_commands WHERE device_id = ? ORDER BY created_at DESC, rowid DESC LIMIT ?',
  );
  const listInStates = db.prepare<[string, string, number], CommandRow>(`
    SELECT * FROM dm_commands WHERE device_id = ? AND state IN (SELECT value FROM json_each(?))
     ORDER BY created_at DESC, rowid DESC LIMIT ?`);
  const nodes = db.prepare<[string], NodeRow>(`
    SELECT s.session_id, n.msg_id, n.cmd_id, n.command_id, n.path, n.verb, n.targets, n.status_code,
           n.original_error, n.results, n.sent_at, n.answered_at
      FROM dm_sent n JOIN dm_sessions s ON s.id = n.session_row
     WHERE n.command_id = ? ORDER BY n.sent_at, n.session_row, n.msg_id, n.cmd_id`);
  const cancel = db.prepare(
    "UPDATE dm_commands SET state = 'cancelled', completed_at = ? WHERE device_id = ? AND state = 'pending'",
  );
  return {
    async enqueue(command) {
      return enqueue(command, new Date().toISOString());
    },
    async get(commandId) {
      const row = getOne.get(commandId);
      return row && toRecord(row);
    },
    async listForDevice(deviceId, options = {}) {
      const limit = options.limit ?? 50;
      const states = options.states;
      if (!states) return listAll.all(deviceId, limit).map(toRecord);
      const rows = listInStates.all(deviceId, JSON.stringify(states), limit);
      return rows.map(toRecord);
    },
    async listNodes(commandId) {
      return nodes.all(commandId).map(
        (n): CommandNodeRecord => ({
          sessionId: n.session_id,
          msgId: n.msg_id,
          cmdId: n.cmd_id,
          commandId: n.command_id,
          path: n.path,
          verb: n.verb,
          targets: JSON.parse(n.targets) as string[],
          ...(n.status_code !== null && { status: n.status_code }),
          originalError: n.original_error,
          results: n.results ? (JSON.parse(n.results) as ResultItem[]) : [],
          sentAt: n.sent_at,
          answeredAt: n.answered_at,
        }),
      );
    },
    async cancelPending(deviceId) {
      return cancel.run(new Date().toISOString(), deviceId).changes;
    },
  };
}
