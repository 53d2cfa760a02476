// OMA-DM exchange persistence (tables: dm_sessions, dm_commands, dm_inventory, device_events,
// dm_checkins): one read before the session machine runs, and the rows the session engine decided
// on afterwards. No protocol rule lives here (src/dm/ decides; this writes).
import type { ResultItem } from '../commands.js';
import {
  type CarriedCommand,
  type CommandWrite,
  type DmSessionStore,
  type ExchangeWrites,
  NonceSpentError,
  type StoredSession,
} from '../dm-sessions.js';
import { placeholders, type SqlClient, type SqlExecutor, type SqlValue } from './client.js';
import { COMMAND_COLUMNS, type CommandRow, insertCommands, parseNodes, toQueued } from './commands.js';
import { setServerNonce, unenrollDevice } from './devices.js';
import { lockDevice } from './locks.js';

interface SessionRow {
  id: number | string;
  session_id: string;
  state: string;
  status: string;
  updated_at: string;
}

type CarriedRow = CommandRow & { carrier_status: string | null; carrier_updated_at: string | null };

const toSession = (deviceId: string, r: SessionRow): StoredSession => ({
  rowId: Number(r.id),
  deviceId,
  sessionId: r.session_id,
  state: r.state,
  status: r.status === 'active' ? 'active' : 'closed',
  updatedAt: r.updated_at,
});

function toCarried(r: CarriedRow): CarriedCommand {
  return {
    ...toQueued(r),
    nodes: parseNodes(r.nodes),
    ...(r.carrier_row !== null &&
      r.carrier_status !== null && {
        carrier: {
          rowId: Number(r.carrier_row),
          status: r.carrier_status === 'active' ? 'active' : 'closed',
          updatedAt: r.carrier_updated_at!,
        },
      }),
  };
}

/** Columns a CommandWrite may set, in a fixed order. */
async function writeCommand(c: SqlClient, w: CommandWrite, sessionRow: number | undefined): Promise<void> {
  const set: string[] = ['state = ?'];
  const params: SqlValue[] = [w.state];
  const add = (column: string, value: SqlValue) => {
    set.push(`${column} = ?`);
    params.push(value);
  };
  if (w.statusCode !== undefined) add('status_code', w.statusCode);
  if (w.failureReason !== undefined) add('failure_reason', w.failureReason);
  if (w.attempts !== undefined) add('attempts', w.attempts);
  if (w.carrier !== undefined) add('carrier_row', w.carrier === 'session' ? (sessionRow ?? null) : null);
  if (w.nodes !== undefined) add('nodes', JSON.stringify(w.nodes));
  if (w.sentAt !== undefined) add('sent_at', w.sentAt);
  if (w.completedAt !== undefined) add('completed_at', w.completedAt);
  await c.run(`UPDATE dm_commands SET ${set.join(', ')} WHERE command_id = ?`, [...params, w.commandId]);
}

async function upsertInventory(c: SqlClient, deviceId: string, items: readonly ResultItem[], at: string) {
  const latest = [...new Map(items.map((i) => [i.locUri, i])).values()];
  if (latest.length === 0) return;
  await c.run(
    `INSERT INTO dm_inventory (device_id, loc_uri, value, format, type, reported_at)
     VALUES ${latest.map(() => `(${placeholders(6)})`).join(', ')}
     ON CONFLICT (device_id, loc_uri) DO UPDATE SET value = excluded.value, format = excluded.format,
       type = excluded.type, reported_at = excluded.reported_at`,
    latest.flatMap((i) => [deviceId, i.locUri, i.data ?? null, i.format ?? null, i.type ?? null, at]),
  );
}

async function commit(c: SqlClient, w: ExchangeWrites): Promise<number | undefined> {
  const { deviceId, at } = w;
  if (w.nonce && !(await setServerNonce(c, deviceId, w.nonce.next, w.nonce.spent)) && w.nonce.spent) {
    throw new NonceSpentError(`DIGEST nonce of ${deviceId} is no longer the one the exchange verified`);
  }
  for (const s of w.closeSessions) {
    await c.run(
      "UPDATE dm_sessions SET status = 'closed', end_reason = ?, ended_at = ?, updated_at = ? WHERE id = ?",
      [s.reason, at, at, s.rowId],
    );
  }
  let rowId: number | undefined;
  const s = w.session;
  if (s) {
    const endedAt = s.status === 'closed' ? at : null;
    if (s.rowId === undefined) {
      const row = await c.get<{ id: number | string }>(
        `INSERT INTO dm_sessions (device_id, session_id, state, status, end_reason, started_at, updated_at, ended_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
        [deviceId, s.sessionId, s.state, s.status, s.endReason ?? null, at, at, endedAt],
      );
      rowId = Number(row!.id);
    } else {
      rowId = s.rowId;
      await c.run(
        `UPDATE dm_sessions SET state = ?, status = ?, end_reason = ?, updated_at = ?, ended_at = ?,
                messages = messages + 1 WHERE id = ?`,
        [s.state, s.status, s.endReason ?? null, at, endedAt, rowId],
      );
    }
  }
  if (w.enqueue.length > 0) await insertCommands(c, w.enqueue, at);
  for (const cw of w.commands) await writeCommand(c, cw, rowId);
  await upsertInventory(c, deviceId, w.inventory, at);
  if (w.events.length > 0) {
    await c.run(
      `INSERT INTO device_events (device_id, alert_code, type, format, mark, source, data, received_at)
       VALUES ${w.events.map(() => `(${placeholders(8)})`).join(', ')}`,
      w.events.flatMap((e) => [
        deviceId,
        e.alertCode,
        e.type,
        e.format ?? null,
        e.mark ?? null,
        e.source ?? null,
        e.data ?? null,
        at,
      ]),
    );
  }
  if (w.unenroll) {
    await c.run(
      "UPDATE dm_commands SET state = 'cancelled', completed_at = ? WHERE device_id = ? AND state IN ('pending', 'sent')",
      [at, deviceId],
    );
    await unenrollDevice(c, deviceId, at);
  }
  if (w.checkIn) {
    await c.run(
      `INSERT INTO dm_checkins (device_id, last_checkin_at, last_inventory_at, login_status, sessions)
       VALUES (?, ?, ?, ?, 1)
       ON CONFLICT (device_id) DO UPDATE SET last_checkin_at = excluded.last_checkin_at,
         last_inventory_at = coalesce(excluded.last_inventory_at, dm_checkins.last_inventory_at),
         login_status = coalesce(excluded.login_status, dm_checkins.login_status),
         sessions = dm_checkins.sessions + 1`,
      [deviceId, at, w.checkIn.inventoryQueued ? at : null, w.checkIn.loginStatus ?? null],
    );
  }
  return rowId;
}

export function sqlDmSessionStore(db: SqlExecutor): DmSessionStore {
  return {
    loadExchange: (deviceId, sessionId, pendingLimit = 200) =>
      db.read(async (c) => {
        await lockDevice(c, deviceId);
        const sessions = await c.all<SessionRow>(
          `SELECT id, session_id, state, status, updated_at FROM dm_sessions
            WHERE device_id = ? AND (status = 'active' OR session_id = ?) ORDER BY id DESC`,
          [deviceId, sessionId],
        );
        const inFlight = await c.all<CarriedRow>(
          `SELECT ${COMMAND_COLUMNS.replace(/(\w+)/g, 'c.$1')}, s.status AS carrier_status,
                  s.updated_at AS carrier_updated_at
             FROM dm_commands c LEFT JOIN dm_sessions s ON s.id = c.carrier_row
            WHERE c.device_id = ? AND c.state = 'sent' ORDER BY c.seq`,
          [deviceId],
        );
        const pending = await c.all<CommandRow>(
          `SELECT ${COMMAND_COLUMNS} FROM dm_commands WHERE device_id = ? AND state = 'pending'
            ORDER BY priority DESC, seq LIMIT ?`,
          [deviceId, pendingLimit],
        );
        const checkIn = await c.get<{ last_inventory_at: string | null }>(
          'SELECT last_inventory_at FROM dm_checkins WHERE device_id = ?',
          [deviceId],
        );
        const all = sessions.map((r) => toSession(deviceId, r));
        const session = all.find((x) => x.sessionId === sessionId);
        return {
          ...(session && { session }),
          active: all.filter((x) => x.status === 'active'),
          inFlight: inFlight.map(toCarried),
          pending: pending.map(toQueued),
          ...(checkIn?.last_inventory_at && { lastInventoryAt: checkIn.last_inventory_at }),
        };
      }),
    commitExchange: (w) => db.write((c) => commit(c, w)),
    pruneFinished: (endedBefore, limit) =>
      db.write(async (c) => {
        const rows = await c.all<{ id: number | string }>(
          "SELECT id FROM dm_sessions WHERE status = 'closed' AND ended_at < ? ORDER BY id LIMIT ?",
          [endedBefore, limit],
        );
        if (rows.length === 0) return { sessions: 0 };
        const ids = rows.map((r) => Number(r.id));
        await c.run(`DELETE FROM dm_sessions WHERE id IN (${placeholders(ids.length)})`, ids);
        return { sessions: ids.length };
      }),
  };
}
