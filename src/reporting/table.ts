// Plain-text table of the compliance report for the terminal, laid out by cli-table3: columns as
// wide as their widest cell in terminal columns (string-width, the measure cli-table3 uses), so CJK
// names and emoji stay aligned; no borders, two spaces between columns, a dashed rule under the header.
import Table from 'cli-table3';
import displayWidth from 'string-width';
import type { DeviceComplianceReport } from './compliance.js';

const NO_BORDER = Object.fromEntries(
  [
    'top',
    'top-mid',
    'top-left',
    'top-right',
    'bottom',
    'bottom-mid',
    'bottom-left',
    'bottom-right',
    'left',
    'left-mid',
    'mid',
    'mid-mid',
    'right',
    'right-mid',
    'middle',
  ].map((k) => [k, '']),
);

export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const table = new Table({
    chars: NO_BORDER,
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 2, compact: true },
  });
  const widths = header.map((h, i) =>
    Math.max(displayWidth(h), ...rows.map((r) => displayWidth(r[i] ?? ''))),
  );
  table.push(
    [...header],
    widths.map((w) => '-'.repeat(w)),
    ...rows.map((r) => header.map((_, i) => r[i] ?? '')),
  );
  return table
    .toString()
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n');
}

export function complianceTable(devices: readonly DeviceComplianceReport[]): string {
  if (devices.length === 0) return 'no devices';
  const rows = devices.map((d) => {
    const s = d.settings;
    return [
      d.deviceId,
      d.user ?? '',
      d.enrolled ? d.state : `${d.state} (unenrolled)`,
      `${s.verified}/${Object.values(s).reduce((a, b) => a + b, 0) - s.removed}`,
      [
        s.failed && `${s.failed} failed`,
        s.drifted && `${s.drifted} drifted`,
        s.conflict && `${s.conflict} conflict`,
        s.pending + s.sent + s.applied && `${s.pending + s.sent + s.applied} in progress`,
      ]
        .filter(Boolean)
        .join(', '),
      d.reasons.join('; '),
    ];
  });
  return formatTable(['DEVICE', 'USER', 'COMPLIANCE', 'VERIFIED', 'SETTINGS', 'REASONS'], rows);
}
