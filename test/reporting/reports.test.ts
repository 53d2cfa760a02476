// Reports read from the database: the per-device summary, the auditor CSV and /metrics.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { complianceReport, deviceComplianceReport } from '../../src/reporting/compliance.js';
import { CSV_COLUMNS, complianceCsv, csvCell } from '../../src/reporting/csv.js';
import { createServerMetrics } from '../../src/reporting/metrics.js';
import { complianceTable } from '../../src/reporting/table.js';
import type { DeviceSettingRecord } from '../../src/storage/device-settings.js';
import type { Storage } from '../../src/storage/index.js';
import { openSqliteStorage } from '../../src/storage/sqlite/index.js';
import { enrollInStorage } from '../policy-delivery/engine.js';

const AT = '2026-03-01T10:00:00.000Z';
let storage: Storage;

const row = (deviceId: string, path: string, patch: Partial<DeviceSettingRecord>): DeviceSettingRecord => ({
  deviceId,
  path,
  state: 'verified',
  policy: 'baseline',
  desiredValue: '0',
  format: 'int',
  plan: null,
  deliveredValue: '0',
  reportedValue: '0',
  statusCode: 200,
  reason: null,
  added: true,
  driftRetries: 0,
  failRetries: 0,
  sentAt: AT,
  appliedAt: AT,
  verifiedAt: AT,
  reportedAt: AT,
  nextCheckAt: null,
  updatedAt: AT,
  ...patch,
});

beforeEach(async () => {
  storage = openSqliteStorage({ file: ':memory:' });
  await enrollInStorage(storage, 'DEV1', { user: 'alice@contoso.com' });
  await enrollInStorage(storage, 'DEV2', { user: 'bob@contoso.com' });
  await enrollInStorage(storage, 'DEV3', { user: '=cmd|calc' });
  await storage.deviceSettings.saveDeviceSettings([
    row('DEV1', './Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera', {}),
    row('DEV1', './Device/Vendor/MSFT/Policy/Config/Experience/AllowCortana', {
      state: 'failed',
      statusCode: 500,
      reason: 'apply failed: command failed on the device',
      verifiedAt: null,
    }),
    row('DEV2', './Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera', {
      state: 'drifted',
      reportedValue: '1',
      reason: 'drifted: device reports "1", expected "0"',
    }),
  ]);
  await storage.compliance.saveCompliance({
    deviceId: 'DEV2',
    state: 'noncompliant',
    reasons: ['baseline: firewall disabled', 'baseline: OS version 10.0.19044 is older than 10.0.19045'],
    failingSince: AT,
    graceEndsAt: AT,
    actionsDone: ['baseline'],
    evaluatedAt: AT,
    factsRequestedAt: AT,
  });
  await storage.dmSessions.commitExchange({
    deviceId: 'DEV1',
    at: AT,
    session: { sessionId: '1', state: '{}', status: 'closed' },
    closeSessions: [],
    enqueue: [],
    commands: [],
    inventory: [],
    events: [],
    unenroll: false,
    checkIn: { loginStatus: 'user', inventoryQueued: false },
  });
});
afterEach(async () => {
  await storage.close();
});

describe('compliance report', () => {
  it('summarises every device, unknown when never evaluated', async () => {
    const report = await complianceReport(storage);
    expect(
      report.map((d) => [d.deviceId, d.state, d.settings.verified, d.settings.failed, d.settings.drifted]),
    ).toEqual([
      ['DEV1', 'unknown', 1, 1, 0],
      ['DEV2', 'noncompliant', 0, 0, 1],
      ['DEV3', 'unknown', 0, 0, 0],
    ]);
    expect(report[0]?.lastCheckInAt).toBe(AT);
    const table = complianceTable(report);
    expect(table.split('\n')[0]).toMatch(/^DEVICE\s+USER\s+COMPLIANCE\s+VERIFIED\s+SETTINGS\s+REASONS$/);
    expect(table).toMatch(/DEV1\s+alice@contoso.com\s+unknown\s+1\/2\s+1 failed/);
    const detail = await deviceComplianceReport(storage, 'DEV1');
    expect(detail?.settingDetails.map((s) => s.state)).toEqual(['verified', 'failed']);
    expect(await deviceComplianceReport(storage, 'NOPE')).toBeUndefined();
  });
});

describe('auditor CSV', () => {
  it('has one row per device × setting (or one per device without settings) with timestamps', async () => {
    const lines = (await complianceCsv(storage)).split('\r\n');
    expect(lines.at(-1)).toBe('');
    expect(lines[0]).toBe(CSV_COLUMNS.join(','));
    const body = lines.slice(1, -1);
    expect(body).toHaveLength(4);
    expect(body[1]).toBe(
      `DEV1,alice@contoso.com,true,unknown,,,${AT},baseline,./Device/Vendor/MSFT/Policy/Config/Experience/AllowCortana,failed,0,0,0,500,apply failed: command failed on the device,${AT},${AT},,${AT},,${AT}`,
    );
    expect(body[2]).toContain(
      ',noncompliant,baseline: firewall disabled; baseline: OS version 10.0.19044 is older than 10.0.19045,',
    );
    expect(body[2]).toContain(',"drifted: device reports ""1"", expected ""0""",');
    // A cell a spreadsheet would run as a formula is defused.
    expect(body[3]).toBe(`DEV3,'=cmd|calc,true,unknown,,,${','.repeat(14)}`);
  });

  it('quotes separators and keeps negative numbers', () => {
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('line\nbreak')).toBe('"line\nbreak"');
    expect(csvCell('-1')).toBe('-1');
    expect(csvCell('-SUM(A1)')).toBe("'-SUM(A1)");
    expect(csvCell('@x')).toBe("'@x");
    expect(csvCell(null)).toBe('');
    expect(csvCell('cr\ronly')).toBe('"cr\ronly"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('\t=1+1')).toBe("'\t=1+1");
    expect(csvCell('+1,=2')).toBe(`"'+1,=2"`);
    expect(csvCell(true)).toBe('true');
    expect(csvCell(0)).toBe('0');
  });
});

describe('/metrics', () => {
  it('exposes device, setting, check-in and outcome counts in the Prometheus format', async () => {
    const { registry, dm } = createServerMetrics(storage);
    // What the session engine counts as the device answers (src/dm/session.ts).
    dm.commandOutcome('policy', 'Add', '5xx');
    const text = await registry.metrics();
    expect(text).toContain('# TYPE mdm_devices gauge');
    expect(text).toContain('mdm_devices{compliance_state="noncompliant"} 1');
    expect(text).toContain('mdm_devices{compliance_state="unknown"} 2');
    expect(text).toContain('mdm_policy_settings{state="failed"} 1');
    expect(text).toContain('mdm_policy_settings{state="removed"} 0');
    expect(text).toContain('mdm_checkins_total 1');
    expect(text).toContain('mdm_command_outcomes_total{origin="policy",verb="Add",class="5xx"} 1');
    // Scraping twice does not double counters.
    expect(await registry.metrics()).toContain('mdm_checkins_total 1');
  });
});
