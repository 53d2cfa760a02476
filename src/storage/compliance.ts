// What devices report for compliance (DeviceStatus, BitLocker and DevDetail node values) and the
// evaluated compliance per device.

export const COMPLIANCE_STATES = ['compliant', 'noncompliant', 'in_grace', 'unknown'] as const;
export type ComplianceState = (typeof COMPLIANCE_STATES)[number];

export interface ReportedFact {
  readonly path: string;
  /** Null when the device answered the Get with an error status. */
  readonly value: string | null;
  readonly statusCode: number;
  readonly reportedAt: string;
}

export interface DeviceComplianceRecord {
  readonly deviceId: string;
  readonly state: ComplianceState;
  readonly reasons: readonly string[];
  /** Start of the current run of failed conditions (grace periods count from here). */
  readonly failingSince: string | null;
  readonly graceEndsAt: string | null;
  /** Rules whose noncompliance actions already ran in the current failing run. */
  readonly actionsDone: readonly string[];
  readonly evaluatedAt: string;
  /** When compliance last queued Gets for its facts. */
  readonly factsRequestedAt: string | null;
}

export interface ComplianceStore {
  recordFacts(deviceId: string, facts: readonly ReportedFact[]): Promise<void>;
  getFacts(deviceId: string): Promise<ReportedFact[]>;
  saveCompliance(record: DeviceComplianceRecord): Promise<void>;
  getCompliance(deviceId: string): Promise<DeviceComplianceRecord | undefined>;
  listCompliance(): Promise<DeviceComplianceRecord[]>;
}
