// CSV for auditors (RFC 4180): one row per device × setting with every timestamp; a device with
// no settings still gets one row with its compliance state. Cells that a spreadsheet would run as
// a formula are prefixed with a quote (CSV injection). Quoting and line endings are csv-stringify's.
import { stringify } from 'csv-stringify/sync';
import type { ReportStores } from './compliance.js';
import { complianceReport, toSettingRow } from './compliance.js';

export const CSV_COLUMNS = [
  'device_id',
  'user',
  'enrolled',
  'compliance_state',
  'compliance_reasons',
  'compliance_evaluated_at',
  'last_check_in_at',
  'policy',
  'setting_path',
  'setting_state',
  'desired_value',
  'delivered_value',
  'reported_value',
  'status_code',
  'reason',
  'sent_at',
  'applied_at',
  'verified_at',
  'reported_at',
  'next_check_at',
  'updated_at',
] as const;

const FORMULA_START = /^[=+@\t\r]|^-(?!\d+(\.\d+)?$)/;

/** The cell as text, with a leading quote when a spreadsheet would run it as a formula. */
function cellText(value: unknown): string {
  if (value === null || value === undefined) return '';
  const s = String(value);
  return FORMULA_START.test(s) ? `'${s}` : s;
}

/** RFC 4180 records: CRLF after every record, fields quoted when they hold `,`, `"`, CR or LF. */
export function csvLines(records: readonly (readonly unknown[])[]): string {
  return stringify(
    records.map((r) => r.map(cellText)),
    // A bare CR or LF inside a field is quoted too (the library checks only for the CRLF delimiter).
    { record_delimiter: 'windows', eof: true, quoted_match: /[\r\n]/ },
  );
}

/** One cell as it appears in the file (without the record delimiter). */
export function csvCell(value: unknown): string {
  return csvLines([[value]]).slice(0, -2);
}

export async function complianceCsv(stores: ReportStores): Promise<string> {
  const devices = await complianceReport(stores);
  const settings = await stores.deviceSettings.querySettings();
  const byDevice = new Map<string, typeof settings>();
  for (const s of settings) byDevice.set(s.deviceId, [...(byDevice.get(s.deviceId) ?? []), s]);
  const records: unknown[][] = [[...CSV_COLUMNS]];
  for (const d of devices) {
    const head = [
      d.deviceId,
      d.user,
      d.enrolled,
      d.state,
      d.reasons.join('; '),
      d.evaluatedAt,
      d.lastCheckInAt,
    ];
    const rows = (byDevice.get(d.deviceId) ?? []).map(toSettingRow);
    if (rows.length === 0) records.push([...head, ...Array(CSV_COLUMNS.length - head.length).fill(null)]);
    for (const r of rows) {
      records.push([
        ...head,
        r.policy,
        r.path,
        r.state,
        r.desiredValue,
        r.deliveredValue,
        r.reportedValue,
        r.statusCode,
        r.reason,
        r.sentAt,
        r.appliedAt,
        r.verifiedAt,
        r.reportedAt,
        r.nextCheckAt,
        r.updatedAt,
      ]);
    }
  }
  return csvLines(records);
}
