// The inventory the server refreshes on check-in (protocol.md §10.1, §10.2, §10.8): one Get per
// LocURI so every Status/Results maps to exactly one node (§10 general advice).
import type { DmCommand } from '../shared/dm-command.js';

export const DEFAULT_INVENTORY_NODES = [
  './DevDetail/SwV',
  './DevDetail/OEM',
  './DevDetail/FwV',
  './DevDetail/HwV',
  './DevDetail/Ext/Microsoft/DeviceName',
  './DevDetail/Ext/Microsoft/OSPlatform',
  './DevDetail/Ext/Microsoft/SMBIOSSerialNumber',
  './Vendor/MSFT/DeviceStatus/OS/Edition',
  './Vendor/MSFT/DeviceStatus/Compliance/EncryptionCompliance',
  './Vendor/MSFT/DeviceStatus/SecureBootState',
  './Vendor/MSFT/DeviceStatus/TPM/SpecificationVersion',
  './Vendor/MSFT/DeviceStatus/Antivirus/Status',
  './Vendor/MSFT/DeviceStatus/Firewall/Status',
] as const;

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
