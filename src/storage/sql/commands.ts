// The per-device command queue (table: dm_commands; MS-MDM 2.2.1: commands wait for the device's
// next session). Each command keeps its node records: every node as sent (session, MsgID, CmdID)
// with the device's Status code and Results, so outcomes survive any server instance.
import type { CommandOrigin, DmCommand } from '../../shared/dm-command.js';
import {
  COMMAND_STATES,
  type CommandNode,
  type CommandQueue,
  type CommandRecord,
  type CommandState,
  type EnqueueCommand,
  type QueuedCommand,
} from '../commands.js';
import { placeholders, type SqlClient, type SqlExecutor } from './client.js';
import { timeOrderedId } from './ids.js';

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
  carrier_row: number | string | null;
  nodes: string;
}

export const COMMAND_COLUMNS = `command_id, device_id, origin, tag, priority, payload, state, status_code,
  failure_reason, attempts, retry_of, actor, created_at, expires_at, sent_at, completed_at, carrier_row, nodes`;

export function toQueued(row: CommandRow): QueuedCommand {
  return {
    id: row.command_id,
    command: JSON.parse(row.payload) as DmCommand,
    origin: row.origin as CommandOrigin,
    ...(row.tag !== null && { tag: row.tag }),
    attempts: row.attempts,
    priority: row.priority,
    ...(row.expires_at !== null && { expiresAt: row.expires_at }),
  };
}

/** Node records as stored (JSON); a missing status is an outstanding node. */
export function parseNodes(json: string): CommandNode[] {
  const nodes = JSON.parse(json) as (CommandNode & { status?: number | null })[];
  return nodes.map(({ status, ...n }) => ({
    ...n,
    originalError: n.originalError ?? null,
    results: n.results ?? [],
    answeredAt: n.answeredAt ?? null,
    ...(status !== null && status !== undefined && { status }),
  }));
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

/** Rows per multi-row INSERT. */
const BATCH = 200;

/** Inserts commands in queue order; returns their ids. */
export async function insertCommands(
  c: SqlClient,
  list: readonly EnqueueCommand[],
  at: string,
): Promise<string[]> {
  const ids = list.map((e) => e.id ?? timeOrderedId());
  for (let i = 0; i < list.length; i += BATCH) {
    const batch = list.slice(i, i + BATCH);
    await c.run(
      `INSERT INTO dm_commands (command_id, device_id, origin, tag, priority, payload, state, retry_of, actor,
                                created_at, expires_at)
       VALUES ${batch.map(() => `(${placeholders(6)}, 'pending', ${placeholders(4)})`).join(', ')}`,
      batch.flatMap((e, j) => [
        ids[i + j]!,
        e.deviceId,
        e.origin,
        e.tag ?? null,
        e.priority ?? 0,
        JSON.stringify(e.command),
        e.retryOf ?? null,
        e.actor ?? null,
        at,
        e.expiresAt ?? null,
      ]),
    );
  }
  return ids;
}

export function sqlCommandQueue(db: SqlExecutor): CommandQueue {
  return {
    pruneFinished: (before, limit) =>
      db.write((c) =>
        c.run(
          `DELETE FROM dm_commands WHERE seq IN (
             SELECT seq FROM dm_commands
              WHERE state IN ('done', 'failed', 'expired', 'cancelled') AND completed_at < ?
              ORDER BY seq LIMIT ?)`,
          [before, limit],
        ),
      ),
    enqueue: (command) =>
      db.write(async (c) => (await insertCommands(c, [command], new Date().toISOString()))[0]!),
    get: (commandId) =>
      db.read(async (c) => {
        const row = await c.get<CommandRow>(
          `SELECT ${COMMAND_COLUMNS} FROM dm_commands WHERE command_id = ?`,
          [commandId],
        );
        return row && toRecord(row);
      }),
    listForDevice: (deviceId, options = {}) =>
      db.read(async (c) => {
        const limit = options.limit ?? 50;
        const states = options.states;
        const inStates = states ? `AND state IN (${placeholders(states.length)})` : '';
        const rows = await c.all<CommandRow>(
          `SELECT ${COMMAND_COLUMNS} FROM dm_commands WHERE device_id = ? ${inStates} ORDER BY seq DESC LIMIT ?`,
          [deviceId, ...(states ?? []), limit],
        );
        return rows.map(toRecord);
      }),
    listNodes: (commandId) =>
      db.read(async (c) => {
        const row = await c.get<{ nodes: string }>('SELECT nodes FROM dm_commands WHERE command_id = ?', [
          commandId,
        ]);
        return row ? parseNodes(row.nodes) : [];
      }),
    countByState: () =>
      db.read(async (c) => {
        const counts = Object.fromEntries(COMMAND_STATES.map((s) => [s, 0])) as Record<CommandState, number>;
        for (const r of await c.all<{ state: CommandState; n: number | string }>(
          'SELECT state, COUNT(*) AS n FROM dm_commands GROUP BY state',
        ))
          counts[r.state] = Number(r.n);
        return counts;
      }),
    cancel: (commandId) =>
      db.write(
        async (c) =>
          (await c.run(
            "UPDATE dm_commands SET state = 'cancelled', completed_at = ? WHERE command_id = ? AND state = 'pending'",
            [new Date().toISOString(), commandId],
          )) > 0,
      ),
    cancelPending: (deviceId) =>
      db.write((c) =>
        c.run(
          "UPDATE dm_commands SET state = 'cancelled', completed_at = ? WHERE device_id = ? AND state = 'pending'",
          [new Date().toISOString(), deviceId],
        ),
      ),
  };
}
