// WNS push state per device (table: device_push; src/storage/push.ts).
import type { DevicePushRow, PushRecord, PushResult, PushStore } from '../push.js';
import { placeholders, type SqlExecutor } from './client.js';

interface Row {
  device_id: string;
  due_at: string | null;
  requested_at: string | null;
  last_sent_at: string | null;
  last_channel_uri: string | null;
  last_result: string | null;
  last_http_status: number | null;
  last_error: string | null;
  gone_channel_uri: string | null;
  refused_channel_uri: string | null;
  pushes: number | string;
  followed_session_id: string | null;
  followed_at: string | null;
  followed_origin: string | null;
}

const toRecord = (r: Row): PushRecord => ({
  deviceId: r.device_id,
  dueAt: r.due_at,
  requestedAt: r.requested_at,
  lastSentAt: r.last_sent_at,
  lastChannelUri: r.last_channel_uri,
  lastResult: r.last_result as PushResult | null,
  lastHttpStatus: r.last_http_status === null ? null : Number(r.last_http_status),
  lastError: r.last_error,
  goneChannelUri: r.gone_channel_uri,
  refusedChannelUri: r.refused_channel_uri,
  pushes: Number(r.pushes),
  followedSessionId: r.followed_session_id,
  followedAt: r.followed_at,
  followedOrigin: r.followed_origin,
});

const COLUMNS = `p.device_id, p.due_at, p.requested_at, p.last_sent_at, p.last_channel_uri, p.last_result,
  p.last_http_status, p.last_error, p.gone_channel_uri, p.refused_channel_uri, p.pushes,
  p.followed_session_id, p.followed_at, p.followed_origin`;

export function sqlPushStore(db: SqlExecutor): PushStore {
  return {
    get: (deviceId) =>
      db.read(async (c) => {
        const row = await c.get<Row>(`SELECT ${COLUMNS} FROM device_push p WHERE p.device_id = ?`, [
          deviceId,
        ]);
        return row && toRecord(row);
      }),
    report: (nodes, deviceIds) =>
      db.read(async (c) => {
        const filter = deviceIds ? `WHERE d.device_id IN (${placeholders(deviceIds.length)})` : '';
        if (deviceIds?.length === 0) return [];
        const rows = await c.all<
          Row & {
            dev: string;
            status: string;
            channel: string | null;
            channel_at: string | null;
            code: string | null;
          }
        >(
          `SELECT d.device_id AS dev,
                  CASE WHEN EXISTS (SELECT 1 FROM enrollments e WHERE e.device_id = d.device_id AND e.status = 'active')
                       THEN 'enrolled' ELSE 'unenrolled' END AS status, ch.value AS channel, ch.reported_at AS channel_at,
                  st.value AS code, ${COLUMNS}
             FROM devices d
             LEFT JOIN dm_inventory ch ON ch.device_id = d.device_id AND ch.loc_uri = ?
             LEFT JOIN dm_inventory st ON st.device_id = d.device_id AND st.loc_uri = ?
             LEFT JOIN device_push p ON p.device_id = d.device_id
             ${filter}
            ORDER BY d.device_id`,
          [nodes.channelUri, nodes.status, ...(deviceIds ?? [])],
        );
        return rows.map(
          (r): DevicePushRow => ({
            deviceId: r.dev,
            deviceStatus: r.status,
            channelUri: r.channel,
            channelReportedAt: r.channel_at,
            deviceStatusCode: r.code,
            ...(r.device_id !== null && { push: toRecord(r) }),
          }),
        );
      }),
    request: (deviceId, at, windowMs) =>
      db.write(async (c) => {
        await c.run('INSERT INTO device_push (device_id) VALUES (?) ON CONFLICT (device_id) DO NOTHING', [
          deviceId,
        ]);
        const windowStart = new Date(Date.parse(at) - windowMs).toISOString();
        const took = await c.run(
          `UPDATE device_push SET requested_at = ?, due_at = NULL
            WHERE device_id = ? AND (requested_at IS NULL OR requested_at <= ?)`,
          [at, deviceId, windowStart],
        );
        if (took > 0) return { sendNow: true };
        const row = await c.get<Pick<Row, 'requested_at' | 'due_at'>>(
          'SELECT requested_at, due_at FROM device_push WHERE device_id = ?',
          [deviceId],
        );
        if (row?.due_at) return { sendNow: false, dueAt: row.due_at };
        const dueAt = new Date(Date.parse(row?.requested_at ?? at) + windowMs).toISOString();
        await c.run('UPDATE device_push SET due_at = ? WHERE device_id = ?', [dueAt, deviceId]);
        return { sendNow: false, dueAt };
      }),
    claimDue: (at, limit) =>
      db.write(async (c) => {
        const due = await c.all<{ device_id: string }>(
          'SELECT device_id FROM device_push WHERE due_at IS NOT NULL AND due_at <= ? ORDER BY due_at LIMIT ?',
          [at, limit],
        );
        const claimed: string[] = [];
        for (const { device_id } of due) {
          // Whoever clears the due time sends the push (several server instances may look).
          const n = await c.run(
            'UPDATE device_push SET due_at = NULL, requested_at = ? WHERE device_id = ? AND due_at IS NOT NULL AND due_at <= ?',
            [at, device_id, at],
          );
          if (n > 0) claimed.push(device_id);
        }
        return claimed;
      }),
    markSending: (deviceId, at, channelUri) =>
      db.write(async (c) => {
        await c.run(
          `INSERT INTO device_push (device_id, last_sent_at, last_channel_uri, pushes) VALUES (?, ?, ?, 1)
           ON CONFLICT (device_id) DO UPDATE SET last_sent_at = excluded.last_sent_at,
             last_channel_uri = excluded.last_channel_uri, pushes = device_push.pushes + 1,
             last_result = NULL, last_http_status = NULL, last_error = NULL`,
          [deviceId, at, channelUri],
        );
      }),
    record: (deviceId, a) =>
      db.write(async (c) => {
        const sent = a.result !== 'refused';
        await c.run(`INSERT INTO device_push (device_id) VALUES (?) ON CONFLICT (device_id) DO NOTHING`, [
          deviceId,
        ]);
        await c.run(
          `UPDATE device_push SET
             last_sent_at = CASE WHEN ? = 1 THEN ? ELSE last_sent_at END,
             last_channel_uri = ?, last_result = ?, last_http_status = ?, last_error = ?,
             gone_channel_uri = CASE WHEN ? = 'gone' THEN ? ELSE gone_channel_uri END,
             refused_channel_uri = CASE WHEN ? = 'refused' THEN ? ELSE NULL END
           WHERE device_id = ?`,
          [
            sent ? 1 : 0,
            a.at,
            a.channelUri,
            a.result,
            a.httpStatus ?? null,
            a.error ?? null,
            a.result,
            a.channelUri,
            a.result,
            a.channelUri,
            deviceId,
          ],
        );
      }),
    markFollowed: (deviceId, s) =>
      db.write(async (c) => {
        const row = await c.get<{ last_sent_at: string }>(
          `UPDATE device_push SET followed_session_id = ?, followed_at = ?, followed_origin = ?
            WHERE device_id = ? AND (last_result IS NULL OR last_result = 'ok') AND last_sent_at IS NOT NULL
              AND (followed_at IS NULL OR followed_at < last_sent_at)
            RETURNING last_sent_at`,
          [s.sessionId, s.at, s.origin ?? null, deviceId],
        );
        return row ? { sentAt: row.last_sent_at } : undefined;
      }),
  };
}
