// What a virtual Windows device says about itself: the facts a real Windows 10/11 PC reports in
// enrollment (docs/protocol-notes.md#request-security-token), in package 1 (#package-1 DevInfo) and through DevDetail /
// DeviceStatus Gets (§10.1, §10.2, §10.8). Profiles are deterministic per seed so fleets and
// recorded fixtures are reproducible.
import { createHash } from 'node:crypto';

export interface SimulatedProfile {
  /** MDM DeviceID: 32 upper-case hex chars (docs/protocol-notes.md#request-security-token), also `./DevInfo/DevId`. */
  readonly deviceId: string;
  /** Hardware id, 64 upper-case hex chars. */
  readonly hwDevId: string;
  readonly deviceName: string;
  readonly manufacturer: string;
  readonly model: string;
  /** `Major.Minor.Build.QFE`, e.g. `10.0.19045.4529`. */
  readonly osVersion: string;
  /** Decimal product type (48 Pro, 4 Enterprise, …). */
  readonly osEdition: string;
  readonly osPlatform: string;
  readonly language: string;
  readonly macs: readonly string[];
  readonly serialNumber: string;
  /** `Full` (user enrollment) or `Device`. */
  readonly enrollmentType: 'Full' | 'Device';
  /** LoginStatus reported in package 1 (docs/protocol-notes.md#generic-alerts). */
  readonly loginStatus: 'user' | 'others' | 'none';
  /** Extra node values (path → value) that override catalog defaults. */
  readonly nodes?: Readonly<Record<string, string>>;
}

const MODELS = [
  ['LENOVO', '20XW0026US', 'Windows 10 Pro', '48'],
  ['Dell Inc.', 'Latitude 5420', 'Windows 10 Enterprise', '4'],
  ['HP', 'HP EliteBook 840 G8 Notebook PC', 'Windows 10 Pro', '48'],
  ['Microsoft Corporation', 'Surface Laptop 4', 'Windows 10 Enterprise', '4'],
  ['VMware, Inc.', 'VMware7,1', 'Windows 10 Enterprise Evaluation', '72'],
] as const;
const BUILDS = ['10.0.19045.4529', '10.0.22631.4037', '10.0.22621.3880', '10.0.26100.1742'] as const;

function hex(seed: string, label: string, length: number): string {
  return createHash('sha256')
    .update(`${label}:${seed}`)
    .digest('hex')
    .toUpperCase()
    .slice(0, length)
    .padEnd(length, '0');
}

/** A plausible, reproducible profile; `seed` picks the hardware and ids. */
export function makeProfile(seed: string, overrides: Partial<SimulatedProfile> = {}): SimulatedProfile {
  const pick = Number.parseInt(hex(seed, 'pick', 8), 16);
  const [manufacturer, model, osPlatform, osEdition] = MODELS[pick % MODELS.length]!;
  const osVersion = BUILDS[(pick >>> 8) % BUILDS.length]!;
  const mac = hex(seed, 'mac', 12).match(/../g)!.join('-');
  return {
    deviceId: hex(seed, 'device', 32),
    hwDevId: hex(seed, 'hw', 64),
    deviceName: `DESKTOP-${hex(seed, 'name', 7)}`,
    manufacturer,
    model,
    osVersion,
    osEdition,
    osPlatform,
    language: 'en-US',
    macs: [mac],
    serialNumber: hex(seed, 'serial', 10),
    enrollmentType: 'Full',
    loginStatus: 'user',
    ...overrides,
  };
}

/** Whether the device accepts large objects (OMA-DM 1.2 DevDetail MO). */
export const LARGE_OBJECT_NODE = './DevDetail/LrgObj';

/** DevInfo values in the order Windows sends them in package 1 (docs/protocol-notes.md#package-1). */
export function devInfo(profile: SimulatedProfile): ReadonlyArray<readonly [string, string]> {
  return [
    ['./DevInfo/DevId', profile.deviceId],
    ['./DevInfo/Man', profile.manufacturer],
    ['./DevInfo/Mod', profile.model],
    ['./DevInfo/DmV', '1.3'],
    ['./DevInfo/Lang', profile.language],
  ];
}

/** Node values the device reports for its own hardware and state (docs/protocol-notes.md#csps). */
export function profileNodes(profile: SimulatedProfile): Record<string, string> {
  const nodes: Record<string, string> = {};
  for (const [path, value] of devInfo(profile)) nodes[path] = value;
  Object.assign(nodes, {
    './DevDetail/DevTyp': profile.model,
    './DevDetail/OEM': profile.manufacturer,
    './DevDetail/FwV': '1.0.0',
    './DevDetail/HwV': '1.0',
    './DevDetail/SwV': profile.osVersion,
    [LARGE_OBJECT_NODE]: 'true',
    './DevDetail/URI/MaxDepth': '0',
    './DevDetail/URI/MaxTotLen': '0',
    './DevDetail/URI/MaxSegLen': '0',
    './DevDetail/Ext/Microsoft/OSPlatform': profile.osPlatform,
    './DevDetail/Ext/Microsoft/ProcessorArchitecture': '9',
    './DevDetail/Ext/Microsoft/DeviceName': profile.deviceName,
    './DevDetail/Ext/Microsoft/DNSComputerName': profile.deviceName,
    './DevDetail/Ext/Microsoft/TotalStorage': '243155',
    './DevDetail/Ext/Microsoft/TotalRAM': '16384',
    './DevDetail/Ext/Microsoft/SMBIOSSerialNumber': profile.serialNumber,
    './DevDetail/Ext/Microsoft/LocalTime': '2025-01-01T09:00:00.0000000-00:00',
    './Vendor/MSFT/DMClient/HWDevID': profile.hwDevId,
    './Vendor/MSFT/DeviceStatus/SecureBootState': '1',
    './Vendor/MSFT/DeviceStatus/Compliance/EncryptionCompliance': '1',
    './Vendor/MSFT/DeviceStatus/TPM/SpecificationVersion': '2.0',
    './Vendor/MSFT/DeviceStatus/OS/Edition': profile.osEdition,
    './Vendor/MSFT/DeviceStatus/OS/Mode': '0',
    './Vendor/MSFT/DeviceStatus/Antivirus/Status': '0',
    './Vendor/MSFT/DeviceStatus/Antivirus/SignatureStatus': '1',
    './Vendor/MSFT/DeviceStatus/Antispyware/Status': '0',
    './Vendor/MSFT/DeviceStatus/Antispyware/SignatureStatus': '1',
    './Vendor/MSFT/DeviceStatus/Firewall/Status': '0',
    './Vendor/MSFT/DeviceStatus/UAC/Status': '1',
    './Vendor/MSFT/DeviceStatus/DomainName': '',
    './Vendor/MSFT/DeviceStatus/Battery/Status': '1',
    './Vendor/MSFT/DeviceStatus/Battery/EstimatedChargeRemaining': '100',
    './Vendor/MSFT/DeviceStatus/Battery/EstimatedRuntime': '-1',
    './Device/Vendor/MSFT/BitLocker/Status/DeviceEncryptionStatus': '0',
  });
  return { ...nodes, ...(profile.nodes ?? {}) };
}
