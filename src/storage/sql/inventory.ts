// Inventory, device events and check-ins (tables: dm_inventory, device_events, dm_checkins), written
// by the OMA-DM exchange commit (dm-sessions.ts), read here.
import type { CheckInStore, DeviceCheckIn } from '../checkins.js';
import type { DeviceEvent, DeviceEventStore } from '../events.js';
import type { InventoryEntry, InventoryStore } from '../inventory.js';
import type { SqlExecutor } from './client.js';

interface InventoryRow {
  loc_uri: string;
  value: string | null;
  format: string | null;
  type: string | null;
  reported_at: string;
}

const toEntry = (r: InventoryRow): InventoryEntry => ({
  locUri: r.loc_uri,
  value: r.value,
  format: r.format,
  type: r.type,
  reportedAt: r.reported_at,
});

export function sqlInventoryStore(db: SqlExecutor): InventoryStore {
  return {
    list: (deviceId) =>
      db.read(async (c) =>
        (
          await c.all<InventoryRow>(
            'SELECT loc_uri, value, format, type, reported_at FROM dm_inventory WHERE device_id = ? ORDER BY loc_uri',
            [deviceId],
          )
        ).map(toEntry),
      ),
    get: (deviceId, locUri) =>
      db.read(async (c) => {
        const row = await c.get<InventoryRow>(
          'SELECT loc_uri, value, format, type, reported_at FROM dm_inventory WHERE device_id = ? AND loc_uri = ?',
          [deviceId, locUri],
        );
        return row && toEntry(row);
      }),
  };
}

interface CheckInRow {
  device_id: string;
  last_checkin_at: string;
  last_inventory_at: string | null;
  login_status: string | null;
  sessions: number;
}

const toCheckIn = (r: CheckInRow): DeviceCheckIn => ({
  deviceId: r.device_id,
  lastCheckInAt: r.last_checkin_at,
  lastInventoryAt: r.last_inventory_at,
  loginStatus: r.login_status,
  sessions: Number(r.sessions),
});

export function sqlCheckInStore(db: SqlExecutor): CheckInStore {
  return {
    get: (deviceId) =>
      db.read(async (c) => {
        const row = await c.get<CheckInRow>(
          'SELECT * FROM dm_checkins WHERE device_id = ? AND last_checkin_at IS NOT NULL',
          [deviceId],
        );
        return row && toCheckIn(row);
      }),
    list: () =>
      db.read(async (c) =>
        (
          await c.all<CheckInRow>(
            'SELECT * FROM dm_checkins WHERE last_checkin_at IS NOT NULL ORDER BY device_id',
          )
        ).map(toCheckIn),
      ),
  };
}

interface EventRow {
  id: number;
  device_id: string;
  alert_code: number;
  type: string;
  format: string | null;
  mark: string | null;
  source: string | null;
  data: string | null;
  received_at: string;
}

export function sqlDeviceEventStore(db: SqlExecutor): DeviceEventStore {
  return {
    pruneBefore: (before, limit) =>
      db.write((c) =>
        c.run(
          'DELETE FROM device_events WHERE id IN (SELECT id FROM device_events WHERE received_at < ? ORDER BY id LIMIT ?)',
          [before, limit],
        ),
      ),
    list: (deviceId, limit = 50) =>
      db.read(async (c) =>
        (
          await c.all<EventRow>('SELECT * FROM device_events WHERE device_id = ? ORDER BY id DESC LIMIT ?', [
            deviceId,
            limit,
          ])
        ).map(
          (r): DeviceEvent => ({
            id: Number(r.id),
            deviceId: r.device_id,
            alertCode: r.alert_code,
            type: r.type,
            format: r.format,
            mark: r.mark,
            source: r.source,
            data: r.data,
            receivedAt: r.received_at,
          }),
        ),
      ),
  };
}
