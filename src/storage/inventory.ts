// Per-device inventory: the last value the device reported for each node, with when
// (docs/protocol-notes.md#csps; DevInfo from package 1 and Results of every Get).

export interface InventoryEntry {
  readonly locUri: string;
  readonly value: string | null;
  readonly format: string | null;
  readonly type: string | null;
  /** ISO-8601 UTC. */
  readonly reportedAt: string;
}

export interface InventoryStore {
  /** The device's inventory, sorted by LocURI. */
  list(deviceId: string): Promise<InventoryEntry[]>;
  get(deviceId: string, locUri: string): Promise<InventoryEntry | undefined>;
}
