// SQLite implementation of `InventoryStore` and `DeviceEventStore` (migration 002).
import type { DeviceEvent, DeviceEventStore } from '../events.js';
import type { InventoryEntry, InventoryStore } from '../inventory.js';
import type { SqliteDb } from './database.js';

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

export function createSqliteInventoryStore(db: SqliteDb): InventoryStore {
  const list = db.prepare<[string], InventoryRow>(
    'SELECT loc_uri, value, format, type, reported_at FROM dm_inventory WHERE device_id = ? ORDER BY loc_uri',
  );
  const getOne = db.prepare<[string, string], InventoryRow>(
    'SELECT loc_uri, value, format, type, reported_at FROM dm_inventory WHERE device_id = ? AND loc_uri = ?',
  );
  const checkIn = db.prepare<
    [string],
    {
      last_checkin_at: string | null;
      last_inventory_at: string | null;
      login_status: string | null;
      sessions: number;
    }
  >('SELECT last_checkin_at, last_inventory_at, login_status, sessions FROM dm_checkins WHERE device_id = ?');
  return {
    async list(deviceId) {
      return list.all(deviceId).map(toEntry);
    },
    async get(deviceId, locUri) {
      const row = getOne.get(deviceId, locUri);
      return row && toEntry(row);
    },
    async checkIn(deviceId) {
      const r = checkIn.get(deviceId);
      return (
        r && {
          lastCheckInAt: r.last_checkin_at,
          lastInventoryAt: r.last_inventory_at,
          loginStatus: r.login_status,
          sessions: r.sessions,
        }
      );
    },
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

export function createSqliteDeviceEventStore(db: SqliteDb): DeviceEventStore {
  const list = db.prepare<[string, number], EventRow>(
    'SELECT * FROM device_events WHERE device_id = ? ORDER BY id DESC LIMIT ?',
  );
  return {
    async list(deviceId, limit = 50) {
      return list.all(deviceId, limit).map(
        (r): DeviceEvent => ({
          id: r.id,
          deviceId: r.device_id,
          alertCode: r.alert_code,
          type: r.type,
          format: r.format,
          mark: r.mark,
          source: r.source,
          data: r.data,
          receivedAt: r.received_at,
        }),
      );
    },
  };
}
