// Plain-text table of the compliance report for the terminal.
import type { DeviceComplianceReport } from './compliance.js';

export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
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
