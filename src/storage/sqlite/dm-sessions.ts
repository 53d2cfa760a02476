// SQLite implementation of `DmSessionStore`: one read before the session machine runs and one
// transaction for everything an exchange produced (design.md; protocol.md §7.7–7.8).
import type { ResultItem, SentRef } from '../commands.js';
import type { DmSessionStore, ExchangeCommit } from '../dm-sessions.js';
import { type CommandRow, type NodeRow, prepareEnqueue, toQueued } from './commands.js';
import type { SqliteDb } from './database.js';
import { prepareEnrollmentWrites } from './devices.js';

type SentRow = Pick<
  NodeRow,
  'msg_id' | 'cmd_id' | 'command_id' | 'path' | 'verb' | 'targets' | 'status_code'
>;

function toRef(r: SentRow): SentRef {
  return {
    msgId: r.msg_id,
    cmdId: r.cmd_id,
    commandId: r.command_id,
    path: r.path,
    verb: r.verb,
    targets: JSON.parse(r.targets) as string[],
    ...(r.status_code !== null && { status: r.status_code }),
  };
}

export function createSqliteDmSessionStore(db: SqliteDb): DmSessionStore {
  const activeSession = db.prepare<[string], { id: number; session_id: string; state: string }>(
    "SELECT id, session_id, state FROM dm_sessions WHERE device_id = ? AND status = 'active' ORDER BY id DESC LIMIT 1",
  );
  const activeSessions = db.prepare<[string], { id: number }>(
    "SELECT id FROM dm_sessions WHERE device_id = ? AND status = 'active'",
  );
  const sentOf = db.prepare<[number], SentRow>(
    `SELECT msg_id, cmd_id, command_id, path, verb, targets, status_code FROM dm_sent
      WHERE session_row = ? ORDER BY msg_id, cmd_id`,
  );
  const inFlightOf = db.prepare<[number], CommandRow>(
    'SELECT * FROM dm_commands WHERE command_id IN (SELECT command_id FROM dm_sent WHERE session_row = ?)',
  );
  const pendingOf = db.prepare<[string, string, number], CommandRow>(
    `SELECT * FROM dm_commands WHERE device_id = ? AND state = 'pending' AND (expires_at IS NULL OR expires_at > ?)
      ORDER BY priority DESC, rowid LIMIT ?`,
  );
  const lastInventory = db.prepare<[string], { last_inventory_at: string | null }>(
    'SELECT last_inventory_at FROM dm_checkins WHERE device_id = ?',
  );

  const expire = db.prepare(`UPDATE dm_commands SET state = 'expired', completed_at = @at
    WHERE device_id = @deviceId AND state = 'pending' AND expires_at IS NOT NULL AND expires_at <= @at`);
  const enqueue = prepareEnqueue(db);
  const insertSession = db.prepare(
    `INSERT INTO dm_sessions (device_id, session_id, state, status, end_reason, started_at, updated_at, ended_at)
     VALUES (@deviceId, @sessionId, @state, @status, @endReason, @at, @at, @endedAt)`,
  );
  const updateSession = db.prepare(
    `UPDATE dm_sessions SET state = @state, status = @status, end_reason = @endReason, updated_at = @at,
            ended_at = @endedAt, messages = messages + 1 WHERE id = @rowId`,
  );
  const closeSession = db.prepare(
    "UPDATE dm_sessions SET status = 'closed', end_reason = ?, ended_at = ?, updated_at = ? WHERE id = ?",
  );
  // Commands of a closed session with no Status go back to the queue, or fail after maxAttempts (§7.8).
  const requeue = db.prepare(`UPDATE dm_commands SET
      state = CASE WHEN attempts >= @max THEN 'failed' ELSE 'pending' END,
      failure_reason = CASE WHEN attempts >= @max THEN 'no status from the device after ' || attempts || ' attempts' END,
      completed_at = CASE WHEN attempts >= @max THEN @at END
    WHERE state = 'sent' AND command_id IN (SELECT command_id FROM dm_sent WHERE session_row = @row)`);
  const insertSent = db.prepare(
    `INSERT INTO dm_sent (session_row, msg_id, cmd_id, command_id, path, verb, targets, sent_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const markSent =
    db.prepare(`UPDATE dm_commands SET attempts = attempts + (state = 'pending'), state = 'sent',
      sent_at = ? WHERE command_id = ? AND state IN ('pending', 'sent')`);
  const setNodeStatus = db.prepare(
    `UPDATE dm_sent SET status_code = ?, original_error = ?, answered_at = ?
      WHERE session_row = ? AND msg_id = ? AND cmd_id = ?`,
  );
  const setCommandDone = db.prepare(
    "UPDATE dm_commands SET state = 'done', status_code = ?, completed_at = ? WHERE command_id = ? AND state = 'sent'",
  );
  const nodeResults = db.prepare<[number, number, number], { results: string | null }>(
    'SELECT results FROM dm_sent WHERE session_row = ? AND msg_id = ? AND cmd_id = ?',
  );
  const setNodeResults = db.prepare(
    'UPDATE dm_sent SET results = ?, answered_at = ? WHERE session_row = ? AND msg_id = ? AND cmd_id = ?',
  );
  const upsertInventory = db.prepare(`
    INSERT INTO dm_inventory (device_id, loc_uri, value, format, type, reported_at) VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (device_id, loc_uri) DO UPDATE SET value = excluded.value, format = excluded.format,
      type = excluded.type, reported_at = excluded.reported_at`);
  const insertEvent = db.prepare(
    `INSERT INTO device_events (device_id, alert_code, type, format, mark, source, data, received_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const failCommand = db.prepare(
    `UPDATE dm_commands SET state = 'failed', failure_reason = ?, completed_at = ?
      WHERE command_id = ? AND state IN ('pending', 'sent')`,
  );
  const cancelAll = db.prepare(`UPDATE dm_commands SET state = 'cancelled', completed_at = ?
      WHERE device_id = ? AND state IN ('pending', 'sent')`);
  const upsertCheckIn = db.prepare(`
    INSERT INTO dm_checkins (device_id, last_checkin_at, last_inventory_at, login_status, sessions)
    VALUES (@deviceId, @at, @inventoryAt, @loginStatus, 1)
    ON CONFLICT (device_id) DO UPDATE SET last_checkin_at = excluded.last_checkin_at,
      last_inventory_at = coalesce(excluded.last_inventory_at, last_inventory_at),
      login_status = coalesce(excluded.login_status, login_status), sessions = sessions + 1`);

  const enrollment = prepareEnrollmentWrites(db);
  // Retention: closed sessions that ended before a cut-off, oldest first, in bounded batches.
  const finishedBefore = db.prepare<[string, number], { id: number }>(
    "SELECT id FROM dm_sessions WHERE status = 'closed' AND ended_at < ? ORDER BY id LIMIT ?",
  );
  const deleteSent = db.prepare('DELETE FROM dm_sent WHERE session_row = ?');
  const deleteSession = db.prepare('DELETE FROM dm_sessions WHERE id = ?');

  const prune = db.transaction((endedBefore: string, limit: number) => {
    let sentNodes = 0;
    const rows = finishedBefore.all(endedBefore, limit);
    for (const { id } of rows) {
      sentNodes += deleteSent.run(id).changes;
      deleteSession.run(id);
    }
    return { sessions: rows.length, sentNodes };
  });

  const commit = db.transaction((c: ExchangeCommit) => {
    const { deviceId, at } = c;
    // The nonce of this reply's Chal, with the rest of the exchange (protocol.md §7.4). A Cred verifies
    // once: if its nonce was spent meanwhile (another server instance), the whole exchange fails.
    if (
      c.nextServerNonce !== undefined &&
      !enrollment.setNextServerNonce(deviceId, c.nextServerNonce, c.spentServerNonce)
    ) {
      throw new Error(`DIGEST nonce of ${deviceId} is no longer the one the exchange verified`);
    }
    expire.run({ deviceId, at });
    if (c.closeOthers) {
      for (const { id } of activeSessions.all(deviceId)) {
        if (id === c.sessionRowId) continue;
        requeue.run({ max: c.maxAttempts, at, row: id });
        closeSession.run('superseded', at, at, id);
      }
    }
    for (const e of c.enqueue) enqueue(e, at);
    const endedAt = c.status === 'closed' ? at : null;
    const row = { state: c.state, status: c.status, endReason: c.endReason ?? null, at, endedAt };
    let rowId = c.sessionRowId;
    if (rowId === undefined) {
      rowId = Number(insertSession.run({ ...row, deviceId, sessionId: c.sessionId }).lastInsertRowid);
    } else updateSession.run({ ...row, rowId });
    for (const ref of c.sent) {
      insertSent.run(
        rowId,
        ref.msgId,
        ref.cmdId,
        ref.commandId,
        ref.path,
        ref.verb,
        JSON.stringify(ref.targets),
        at,
      );
      if (ref.path === '') markSent.run(at, ref.commandId);
    }
    for (const { ref, code, originalError } of c.statuses) {
      setNodeStatus.run(code, originalError ?? null, at, rowId, ref.msgId, ref.cmdId);
      // 213 only acknowledges one chunk of a large object (§7.9); the final status follows.
      if (ref.path === '' && code !== 213) setCommandDone.run(code, at, ref.commandId);
    }
    for (const { ref, items } of c.results) {
      const prior = nodeResults.get(rowId, ref.msgId, ref.cmdId)?.results;
      const all: ResultItem[] = prior ? [...(JSON.parse(prior) as ResultItem[]), ...items] : [...items];
      setNodeResults.run(JSON.stringify(all), at, rowId, ref.msgId, ref.cmdId);
    }
    for (const i of c.inventory) {
      upsertInventory.run(deviceId, i.locUri, i.data ?? null, i.format ?? null, i.type ?? null, at);
    }
    for (const e of c.events) {
      insertEvent.run(
        deviceId,
        e.alertCode,
        e.type,
        e.format ?? null,
        e.mark ?? null,
        e.source ?? null,
        e.data ?? null,
        at,
      );
    }
    for (const r of c.rejected) failCommand.run(r.reason, at, r.commandId);
    if (c.status === 'closed') requeue.run({ max: c.maxAttempts, at, row: rowId });
    if (c.unenrolled) {
      cancelAll.run(at, deviceId);
      enrollment.unenroll(deviceId, at);
    }
    if (c.checkIn) {
      upsertCheckIn.run({
        deviceId,
        at,
        inventoryAt: c.checkIn.inventoryQueued ? at : null,
        loginStatus: c.checkIn.loginStatus ?? null,
      });
    }
  });

  return {
    async loadExchange(deviceId, at, pendingLimit = 200) {
      const active = activeSession.get(deviceId);
      const lastInventoryAt = lastInventory.get(deviceId)?.last_inventory_at ?? undefined;
      return {
        ...(active && {
          active: { rowId: active.id, deviceId, sessionId: active.session_id, state: active.state },
        }),
        sent: active ? sentOf.all(active.id).map(toRef) : [],
        inFlight: active ? inFlightOf.all(active.id).map(toQueued) : [],
        pending: pendingOf.all(deviceId, at, pendingLimit).map(toQueued),
        ...(lastInventoryAt && { lastInventoryAt }),
      };
    },
    async commitExchange(c) {
      commit(c);
    },
    async pruneFinished(endedBefore, limit) {
      return prune(endedBefore, limit);
    },
  };
}
