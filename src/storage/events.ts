// Device events: generic alerts (1224/1226) other than the ones the session engine acts on
// (docs/protocol-notes.md#generic-alerts), stored as they arrived.

export interface DeviceEvent {
  readonly id: number;
  readonly deviceId: string;
  readonly alertCode: number;
  /** Meta/Type of the alert item ('' when none). */
  readonly type: string;
  readonly format: string | null;
  readonly mark: string | null;
  readonly source: string | null;
  readonly data: string | null;
  readonly receivedAt: string;
}

export interface DeviceEventStore {
  /** Newest first. */
  list(deviceId: string, limit?: number): Promise<DeviceEvent[]>;
  /** Deletes up to `limit` events received before `before` (ISO), oldest first; resolves with the count. */
  pruneBefore(before: string, limit: number): Promise<number>;
}
