// The inventory the server refreshes on check-in (docs/protocol-notes.md#csps): one Get per
// LocURI so every Status/Results maps to exactly one node (§10 general advice).
import type { DmCommand } from '../shared/dm-command.js';

/**
 * `true` when the device accepts large objects (OMA-DM 1.2 DevDetail MO, `LrgObj`); a device that
 * says `false` must get every item whole, within its MaxMsgSize.
 */
export const LARGE_OBJECT_NODE = './DevDetail/LrgObj';

export const DEFAULT_INVENTORY_NODES = [
  './DevDetail/SwV',
  './DevDetail/OEM',
  './DevDetail/FwV',
  './DevDetail/HwV',
  './DevDetail/Ext/Microsoft/DeviceName',
  './DevDetail/Ext/Microsoft/OSPlatform',
  './DevDetail/Ext/Microsoft/SMBIOSSerialNumber',
  LARGE_OBJECT_NODE,
  './Vendor/MSFT/DeviceStatus/OS/Edition',
  './Vendor/MSFT/DeviceStatus/Compliance/EncryptionCompliance',
  './Vendor/MSFT/DeviceStatus/SecureBootState',
  './Vendor/MSFT/DeviceStatus/TPM/SpecificationVersion',
  './Vendor/MSFT/DeviceStatus/Antivirus/Status',
  './Vendor/MSFT/DeviceStatus/Firewall/Status',
] as const;

/** The reported `./DevDetail/LrgObj` value (bool format) as a flag; undefined when absent or unreadable. */
export function largeObjectSupport(value: string | null | undefined): boolean | undefined {
  const v = value?.trim().toLowerCase();
  return v === 'true' ? true : v === 'false' ? false : undefined;
}

/** Inventory reads go before ordinary work, after device actions (actions.ts ACTION_PRIORITY). */
export const INVENTORY_PRIORITY = 10;

export function inventoryCommands(nodes: readonly string[]): DmCommand[] {
  return nodes.map((target) => ({ verb: 'Get', items: [{ target }] }));
}

/** Is a refresh due? Never refreshed, or the last one is at least `intervalMinutes` old. */
export function inventoryDue(
  lastInventoryAt: string | undefined,
  now: Date,
  intervalMinutes: number,
): boolean {
  if (!lastInventoryAt) return true;
  return now.getTime() - Date.parse(lastInventoryAt) >= intervalMinutes * 60_000;
}
