// The floor with SQLite: what a check-in must cost at least on this machine. A bare `node:http`
// server that does the real SyncML parse and encode and only the minimal durable writes a session
// needs, on a copy of the pre-loaded database (same rows, same indexes):
//   every message: the certificate and its enrollment (one indexed read);
//   package 1: pending commands, session insert, one multi-row insert of what was sent, mark-sent,
//     check-in and inventory (DevInfo) upserts;
//   later messages: session read, status and done updates, inventory upsert (Results), close.
// Exchanges that arrive in one event-loop turn share one COMMIT (group commit, as the server
// does), or each commits alone (`groupCommit: false`, for reference). Replies leave after COMMIT.
// Runs as a child process with the server's IPC protocol (ready, stats, stop).
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Database from 'better-sqlite3';
import { STATUS } from '../src/codec/syncml/codes.js';
import { encodeSyncMl, type ServerMessage } from '../src/codec/syncml/encode.js';
import { parseSyncMl } from '../src/codec/syncml/parse.js';
import type { SyncMlCommand, SyncMlMessage } from '../src/codec/syncml/types.js';
import { DEFAULT_INVENTORY_NODES, inventoryCommands } from '../src/dm/inventory.js';
import { buildCommand, CmdIdCounter } from '../src/dm/outgoing.js';
import type { DmCommand } from '../src/shared/dm-command.js';
import type { SentRef } from '../src/storage/commands.js';
import { isEntryPoint } from './process.js';
import { answerStats } from './process-stats.js';

export interface FloorSqliteInput {
  /** The database copy (the server's schema, pre-loaded devices). */
  readonly file: string;
  readonly groupCommit: boolean;
  /** Header carrying the device certificate (base64 DER). */
  readonly certHeader: string;
}

const INVENTORY_MS = 24 * 3_600_000;

interface Pending {
  readonly msg: SyncMlMessage;
  readonly cert: string;
  readonly res: http.ServerResponse;
  reply?: string;
  error?: unknown;
}

function hdrStatus(msg: SyncMlMessage, code: number): SyncMlCommand {
  return {
    kind: 'Status',
    cmdId: 1,
    msgRef: msg.header.msgId,
    cmdRef: 0,
    cmd: 'SyncHdr',
    data: String(code),
  };
}

export function startFloorSqlite(input: FloorSqliteInput): Promise<{ server: http.Server; port: number }> {
  const db = new Database(input.file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.exec(`CREATE TABLE IF NOT EXISTS floor_sent (
    session_row INTEGER NOT NULL, msg_id INTEGER NOT NULL, cmd_id INTEGER NOT NULL, command_id TEXT NOT NULL,
    status_code INTEGER, PRIMARY KEY (session_row, msg_id, cmd_id)) WITHOUT ROWID`);
  const identity = db.prepare<
    [string],
    { device_id: string; not_after: string; status: string; last_inventory_at: string | null }
  >(
    `SELECT c.device_id, c.not_after, e.status, k.last_inventory_at FROM certificates c
       JOIN enrollments e ON e.enrollment_id = c.enrollment_id
       LEFT JOIN dm_checkins k ON k.device_id = c.device_id WHERE c.thumbprint = ?`,
  );
  const pendingOf = db.prepare<[string], { command_id: string; payload: string }>(
    `SELECT command_id, payload FROM dm_commands WHERE device_id = ? AND state = 'pending'
      ORDER BY priority DESC, seq LIMIT 200`,
  );
  const insertSession = db.prepare<[string, string, string, string, string]>(
    `INSERT INTO dm_sessions (device_id, session_id, state, status, started_at, updated_at)
     VALUES (?, ?, ?, 'active', ?, ?) RETURNING id`,
  );
  const sessionOf = db.prepare<[string, string], { id: number; state: string }>(
    "SELECT id, state FROM dm_sessions WHERE device_id = ? AND session_id = ? AND status = 'active'",
  );
  const closeSession = db.prepare(
    "UPDATE dm_sessions SET status = 'closed', end_reason = 'completed', ended_at = ?, updated_at = ? WHERE id = ?",
  );
  const checkIn =
    db.prepare(`INSERT INTO dm_checkins (device_id, last_checkin_at, last_inventory_at, login_status, sessions)
    VALUES (?, ?, ?, 'user', 1) ON CONFLICT (device_id) DO UPDATE SET last_checkin_at = excluded.last_checkin_at,
      last_inventory_at = coalesce(excluded.last_inventory_at, dm_checkins.last_inventory_at),
      sessions = dm_checkins.sessions + 1`);
  const statements = new Map<string, Database.Statement>();
  const multi = (sql: string) => {
    let s = statements.get(sql);
    if (!s) {
      s = db.prepare(sql);
      statements.set(sql, s);
    }
    return s;
  };
  const rows = (n: number, cols: number) =>
    Array.from({ length: n }, () => `(${Array.from({ length: cols }, () => '?').join(', ')})`).join(', ');
  const upsertInventory = (deviceId: string, items: { locUri: string; data?: string }[], at: string) => {
    if (items.length === 0) return;
    multi(`INSERT INTO dm_inventory (device_id, loc_uri, value, reported_at) VALUES ${rows(items.length, 4)}
      ON CONFLICT (device_id, loc_uri) DO UPDATE SET value = excluded.value, reported_at = excluded.reported_at`).run(
      ...items.flatMap((i) => [deviceId, i.locUri, i.data ?? null, at]),
    );
  };

  /** One exchange inside the open transaction; returns the reply. */
  function exchange(p: Pending): string {
    const { msg } = p;
    const h = msg.header;
    const tp = createHash('sha1').update(Buffer.from(p.cert, 'base64')).digest('hex').toUpperCase();
    const id = identity.get(tp);
    const at = new Date().toISOString();
    const header = { sessionId: h.sessionId, msgId: h.msgId, target: h.source, source: h.target };
    if (!id || id.device_id !== h.source || id.status !== 'active' || id.not_after < at) {
      return encodeSyncMl({ header, commands: [hdrStatus(msg, STATUS.FORBIDDEN)], final: true });
    }
    if (h.msgId === 1) {
      const commands: { id: string; command: DmCommand }[] = pendingOf
        .all(h.source)
        .map((r) => ({ id: r.command_id, command: JSON.parse(r.payload) as DmCommand }));
      const due = !id.last_inventory_at || Date.now() - Date.parse(id.last_inventory_at) >= INVENTORY_MS;
      const queue = [
        ...(due
          ? inventoryCommands(DEFAULT_INVENTORY_NODES).map((command, i) => ({ id: `inv-${i}`, command }))
          : []),
        ...commands,
      ];
      const ids = new CmdIdCounter(2);
      const refs: SentRef[] = [];
      const built = queue.map((q) => buildCommand(q.command, q.id, 1, ids, refs));
      const session = insertSession.get(h.source, h.sessionId, JSON.stringify({ sent: refs }), at, at) as {
        id: number;
      };
      multi(
        `INSERT INTO floor_sent (session_row, msg_id, cmd_id, command_id) VALUES ${rows(refs.length, 4)}`,
      ).run(...refs.flatMap((r) => [session.id, r.msgId, r.cmdId, r.commandId]));
      if (commands.length > 0) {
        multi(
          `UPDATE dm_commands SET state = 'sent', attempts = attempts + 1, sent_at = ? WHERE command_id IN (${commands.map(() => '?').join(', ')})`,
        ).run(at, ...commands.map((c) => c.id));
      }
      checkIn.run(h.source, at, due ? at : null);
      const devInfo = msg.commands.flatMap((c) =>
        c.kind === 'Replace'
          ? c.items.map((i) => ({ locUri: i.source ?? i.target ?? '', data: i.data }))
          : [],
      );
      upsertInventory(h.source, devInfo, at);
      const reply: ServerMessage = { header, commands: [hdrStatus(msg, STATUS.OK), ...built], final: true };
      return encodeSyncMl(reply);
    }
    const session = sessionOf.get(h.source, h.sessionId);
    if (!session) return encodeSyncMl({ header, commands: [hdrStatus(msg, STATUS.NOT_FOUND)], final: true });
    const sent = (JSON.parse(session.state) as { sent: SentRef[] }).sent;
    const byRef = new Map(sent.map((r) => [`${r.msgId}/${r.cmdId}`, r]));
    const statuses: [number, number, number][] = [];
    const done: [string, number][] = [];
    const results: { locUri: string; data?: string }[] = [];
    for (const c of msg.commands) {
      if (c.kind === 'Status' && c.cmdRef) {
        const ref = byRef.get(`${c.msgRef}/${c.cmdRef}`);
        if (!ref) continue;
        statuses.push([c.msgRef, c.cmdRef, Number(c.data)]);
        if (!ref.commandId.startsWith('inv-')) done.push([ref.commandId, Number(c.data)]);
      } else if (c.kind === 'Results') {
        for (const i of c.items) results.push({ locUri: i.source ?? '', data: i.data });
      }
    }
    if (statuses.length > 0) {
      multi(
        `UPDATE floor_sent SET status_code = v.column3 FROM (VALUES ${rows(statuses.length, 3)}) AS v
          WHERE floor_sent.session_row = ? AND floor_sent.msg_id = v.column1 AND floor_sent.cmd_id = v.column2`,
      ).run(...statuses.flat(), session.id);
    }
    if (done.length > 0) {
      multi(
        `UPDATE dm_commands SET state = 'done', status_code = v.column2, completed_at = ?
           FROM (VALUES ${rows(done.length, 2)}) AS v WHERE dm_commands.command_id = v.column1`,
      ).run(at, ...done.flat());
    }
    upsertInventory(h.source, results, at);
    closeSession.run(at, at, session.id);
    return encodeSyncMl({ header, commands: [hdrStatus(msg, STATUS.OK)], final: true });
  }

  let queue: Pending[] = [];
  let scheduled = false;
  function commitBatch(batch: Pending[]) {
    db.exec('BEGIN IMMEDIATE');
    for (const p of batch) {
      try {
        p.reply = exchange(p);
      } catch (err) {
        p.error = err;
      }
    }
    db.exec('COMMIT');
    for (const p of batch) answer(p);
  }
  function answer(p: Pending) {
    if (p.error !== undefined || p.reply === undefined) {
      p.res.writeHead(500).end();
      return;
    }
    p.res.writeHead(200, {
      'content-type': 'application/vnd.syncml.dm+xml; charset=utf-8',
      'content-length': Buffer.byteLength(p.reply),
    });
    p.res.end(p.reply);
  }
  function submit(p: Pending) {
    if (!input.groupCommit) {
      commitBatch([p]);
      return;
    }
    queue.push(p);
    if (scheduled) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      const batch = queue;
      queue = [];
      commitBatch(batch);
    });
  }

  const header = input.certHeader.toLowerCase();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        const msg = parseSyncMl(Buffer.concat(chunks), { maxBytes: 1024 * 1024 });
        submit({ msg, cert: String(req.headers[header] ?? ''), res });
      } catch {
        res.writeHead(400).end();
      }
    });
  });
  server.keepAliveTimeout = 65_000;
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as AddressInfo).port })),
  );
}

/** Entry of the child process: input in BENCH_FLOOR_INPUT (JSON). */
export function startChild(): void {
  const input = JSON.parse(process.env.BENCH_FLOOR_INPUT ?? '{}') as FloorSqliteInput;
  startFloorSqlite(input).then(({ server, port }) => {
    answerStats(() => {
      server.closeAllConnections();
      server.close(() => process.exit(0));
    });
    process.send?.({ type: 'ready', port });
  });
}

if (isEntryPoint(import.meta.url)) startChild();
