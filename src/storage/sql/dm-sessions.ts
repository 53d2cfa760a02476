// OMA-DM exchange persistence (tables: dm_sessions, dm_commands, dm_inventory, device_events,
// dm_checkins): four reads before the session machine runs and a handful of set-based writes of
// the rows the session engine decided on afterwards. No protocol rule lives here (src/dm/ decides;
// this writes).

import type { CertificateStatus } from '../certificates.js';
import type { ResultItem } from '../commands.js';
import type { DigestCredentials } from '../devices.js';
import {
  type CommandWrite,
  type DmSessionStore,
  type ExchangeSnapshot,
  type ExchangeWrites,
  type IdentityLookup,
  NonceSpentError,
  type OpenCommand,
  type PresentedCertificateRecord,
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

const toSession = (deviceId: string, r: SessionRow): StoredSession => ({
  rowId: Number(r.id),
  deviceId,
  sessionId: r.session_id,
  state: r.state,
  status: r.status === 'active' ? 'active' : 'closed',
  updatedAt: r.updated_at,
});

/** An open command, with the session that carries it when that session is among `sessions`. */
function toOpen(r: CommandRow, sessions: ReadonlyMap<number, StoredSession>): OpenCommand {
  const carrier = r.carrier_row === null ? undefined : sessions.get(Number(r.carrier_row));
  return {
    ...toQueued(r),
    state: r.state === 'sent' ? 'sent' : 'pending',
    nodes: parseNodes(r.nodes),
    sentAt: r.sent_at,
    ...(carrier && {
      carrier: { rowId: carrier.rowId, status: carrier.status, updatedAt: carrier.updatedAt },
    }),
  };
}

interface CertificateRow {
  serial: string;
  device_id: string;
  status: string;
  not_before: string;
  not_after: string;
  der: Buffer;
  enrollment_status: string;
}

const CERTIFICATE = `SELECT c.serial, c.device_id, c.status, c.not_before, c.not_after, c.der, e.status AS enrollment_status`;
const CERTIFICATE_FROM = 'FROM certificates c JOIN enrollments e ON e.enrollment_id = c.enrollment_id';

/** What the session engine needs of the device besides its queue, read beside the identity. */
const BASE_FACTS = `(SELECT last_inventory_at FROM dm_checkins WHERE device_id = ?) AS last_inventory_at,
  (SELECT MAX(revision) FROM policy_revisions) AS revision,
  (SELECT value FROM dm_inventory WHERE device_id = ? AND loc_uri = ?) AS inventory_value`;
/** With WNS push on: the PFN the device reported (DMClient CSP `Push/PFN`). */
const PUSH_FACTS = `${BASE_FACTS},
  (SELECT value FROM dm_inventory WHERE device_id = ? AND loc_uri = ?) AS push_pfn`;

interface FactsRow {
  last_inventory_at: string | null;
  revision: number | null;
  inventory_value: string | null;
  push_pfn?: string | null;
}

type Identity = { certificate?: PresentedCertificateRecord; digest?: DigestCredentials };

/**
 * The presented identity's record and the device's facts in one statement (the facts alone when
 * nothing was presented or nothing matched).
 */
async function identityAndFacts(
  c: SqlClient,
  deviceId: string,
  lookup: IdentityLookup | undefined,
  inventoryNode: string,
  pushPfnNode: string | undefined,
): Promise<{ identity: Identity; facts: FactsRow | undefined }> {
  const FACTS = pushPfnNode === undefined ? BASE_FACTS : PUSH_FACTS;
  const factParams = [
    deviceId,
    deviceId,
    inventoryNode,
    ...(pushPfnNode === undefined ? [] : [deviceId, pushPfnNode]),
  ];
  const factsAlone = () => c.get<FactsRow>(`SELECT ${FACTS}`, factParams);
  if (!lookup) return { identity: {}, facts: await factsAlone() };
  if ('digest' in lookup) {
    const row = await c.get<
      FactsRow & {
        appsrv_name: string;
        appsrv_secret: string;
        appsrv_nonce: string;
        client_secret: string;
        client_nonce: string;
      }
    >(
      `SELECT appsrv_name, appsrv_secret, appsrv_nonce, client_secret, client_nonce, ${FACTS} FROM enrollments
        WHERE device_id = ? AND status = 'active'`,
      [...factParams, deviceId],
    );
    if (!row) return { identity: {}, facts: await factsAlone() };
    return {
      identity: {
        digest: {
          appSrv: { name: row.appsrv_name, secret: row.appsrv_secret, nonce: row.appsrv_nonce },
          client: { secret: row.client_secret, nonce: row.client_nonce },
        },
      },
      facts: row,
    };
  }
  const [where, key] =
    'certificateThumbprint' in lookup
      ? ['c.thumbprint = ?', lookup.certificateThumbprint]
      : ['c.serial = ?', lookup.certificateSerial];
  const row = await c.get<CertificateRow & FactsRow>(
    `${CERTIFICATE}, ${FACTS} ${CERTIFICATE_FROM} WHERE ${where}`,
    [...factParams, key],
  );
  if (!row) return { identity: {}, facts: await factsAlone() };
  return {
    identity: {
      certificate: {
        serial: row.serial,
        deviceId: row.device_id,
        status: row.status as CertificateStatus,
        notBefore: row.not_before,
        notAfter: row.not_after,
        der: Buffer.from(row.der),
        enrollmentActive: row.enrollment_status === 'active',
      },
    },
    facts: row,
  };
}

/** One UPDATE for every command the exchange touched (UPDATE … FROM VALUES; SQLite and PostgreSQL). */
async function writeCommands(c: SqlClient, writes: readonly CommandWrite[], sessionRow: number | undefined) {
  if (writes.length === 0) return;
  const params: SqlValue[] = [];
  for (const w of writes) {
    params.push(
      w.commandId,
      w.state,
      w.statusCode,
      w.failureReason,
      w.attempts,
      w.carrier === 'session' ? (sessionRow ?? null) : null,
      JSON.stringify(w.nodes),
      w.sentAt,
      w.completedAt,
    );
  }
  await c.run(
    `UPDATE dm_commands SET state = v.column2, status_code = CAST(v.column3 AS INTEGER),
            failure_reason = v.column4, attempts = CAST(v.column5 AS INTEGER),
            carrier_row = CAST(v.column6 AS BIGINT), nodes = v.column7, sent_at = v.column8,
            completed_at = v.column9
       FROM (VALUES ${writes.map(() => `(${placeholders(9)})`).join(', ')}) AS v
      WHERE dm_commands.command_id = v.column1`,
    params,
  );
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
  if (w.closeSessions.length > 0) {
    await c.run(
      `UPDATE dm_sessions SET status = 'closed', end_reason = ?, ended_at = ?, updated_at = ?
        WHERE id IN (${placeholders(w.closeSessions.length)})`,
      ['superseded', at, at, ...w.closeSessions.map((s) => s.rowId)],
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
  await writeCommands(c, w.commands, rowId);
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
    loadExchange: (deviceId, sessionId, options = {}) =>
      db.read(async (c): Promise<ExchangeSnapshot> => {
        await lockDevice(c, deviceId);
        const { identity, facts } = await identityAndFacts(
          c,
          deviceId,
          options.identity,
          options.inventoryNode ?? '',
          options.pushPfnNode,
        );
        // The device's active sessions, the message's own, and any that talked in the last minute
        // (a superseded session that may still be live carries its commands).
        const sessions = await c.all<SessionRow>(
          `SELECT id, session_id, state, status, updated_at FROM dm_sessions
            WHERE device_id = ? AND (status = 'active' OR session_id = ? OR updated_at > ?) ORDER BY id DESC`,
          [deviceId, sessionId, options.recentSince ?? '9999'],
        );
        // One read, two index-ordered ranges (device, state, priority, seq): what was sent, what waits.
        const queue = await c.all<CommandRow>(
          `SELECT * FROM (SELECT ${COMMAND_COLUMNS}, seq FROM dm_commands WHERE device_id = ? AND state = 'sent') AS sent
           UNION ALL
           SELECT * FROM (SELECT ${COMMAND_COLUMNS}, seq FROM dm_commands WHERE device_id = ? AND state = 'pending'
                           ORDER BY priority DESC, seq LIMIT ?) AS waiting
           ORDER BY priority DESC, seq`,
          [deviceId, deviceId, options.pendingLimit ?? 200],
        );
        const all = sessions.map((r) => toSession(deviceId, r));
        const byRow = new Map(all.map((x) => [x.rowId, x]));
        const session = all.find((x) => x.sessionId === sessionId);
        const inFlight: OpenCommand[] = [];
        const pending: OpenCommand[] = [];
        for (const r of queue) (r.state === 'sent' ? inFlight : pending).push(toOpen(r, byRow));
        return {
          ...identity,
          ...(session && { session }),
          active: all.filter((x) => x.status === 'active'),
          inFlight,
          pending,
          ...(facts?.last_inventory_at && { lastInventoryAt: facts.last_inventory_at }),
          policyRevision: Number(facts?.revision ?? 0),
          ...(facts?.inventory_value != null && { inventoryValue: facts.inventory_value }),
          ...(facts?.push_pfn != null && { pushPfn: facts.push_pfn }),
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
