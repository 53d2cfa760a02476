// A hand-written SVG chart of latency and throughput over time (no charting dependency): one
// panel of per-second p50/p99 message latency, one of sessions per second, a line per series, and
// the targets drawn as dashed lines so a regression shows at a glance.
import type { TimelinePoint } from './stats.js';

export interface ChartSeries {
  readonly label: string;
  readonly color: string;
  readonly points: readonly TimelinePoint[];
}

export interface ChartOptions {
  readonly title: string;
  readonly series: readonly ChartSeries[];
  /** Dashed reference lines. */
  readonly latencyTargetMs?: number;
  readonly rateTarget?: number;
  readonly rateLabel?: string;
}

const W = 900;
const PANEL_H = 230;
const M = { left: 64, right: 170, top: 44, gap: 56, bottom: 40 };

const esc = (s: string) =>
  s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));

/** A "nice" axis maximum at or above `v`. */
export function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function panel(
  top: number,
  title: string,
  unit: string,
  lines: { color: string; dash?: string; label: string; values: [number, number][] }[],
  maxT: number,
  target?: number,
  cap?: number,
): string {
  const plotW = W - M.left - M.right;
  const highest = Math.max(target ?? 0, ...lines.flatMap((l) => l.values.map(([, y]) => y)));
  const maxY = niceMax(Math.min(highest, cap ?? highest) * 1.05);
  const x = (t: number) => M.left + (maxT > 0 ? (t / maxT) * plotW : 0);
  // Values above the axis (a warm-up spike) are drawn on the top edge, so the rest stays readable.
  const y = (v: number) => top + PANEL_H - (Math.min(v, maxY) / maxY) * PANEL_H;
  let s = `<text x="${M.left}" y="${top - 10}" font-weight="bold">${esc(title)}${highest > maxY ? ` (clipped at ${fmt(maxY)}; highest ${fmt(highest)})` : ''}</text>`;
  for (let i = 0; i <= 4; i++) {
    const v = (maxY * i) / 4;
    s += `<line x1="${M.left}" x2="${M.left + plotW}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`;
    s += `<text x="${M.left - 6}" y="${y(v) + 4}" text-anchor="end">${fmt(v)}</text>`;
  }
  s += `<text x="14" y="${top + PANEL_H / 2}" transform="rotate(-90 14 ${top + PANEL_H / 2})" text-anchor="middle">${esc(unit)}</text>`;
  const ticks = Math.min(10, Math.max(1, Math.floor(maxT)));
  for (let i = 0; i <= ticks; i++) {
    const t = (maxT * i) / ticks;
    s += `<text x="${x(t)}" y="${top + PANEL_H + 16}" text-anchor="middle">${fmt(t)}</text>`;
  }
  if (target !== undefined) {
    s += `<line x1="${M.left}" x2="${M.left + plotW}" y1="${y(target)}" y2="${y(target)}" stroke="#c00" stroke-dasharray="6 4"/>`;
    s += `<text x="${M.left + plotW - 4}" y="${y(target) - 4}" text-anchor="end" fill="#c00">target ${fmt(target)}</text>`;
  }
  lines.forEach((l, i) => {
    if (l.values.length === 0) return;
    const d = l.values
      .map(([t, v], k) => `${k === 0 ? 'M' : 'L'}${x(t).toFixed(1)},${y(v).toFixed(1)}`)
      .join(' ');
    s += `<path d="${d}" fill="none" stroke="${l.color}" stroke-width="2"${l.dash ? ` stroke-dasharray="${l.dash}"` : ''}/>`;
    const ly = top + 14 + i * 18;
    s += `<line x1="${W - M.right + 12}" x2="${W - M.right + 36}" y1="${ly - 4}" y2="${ly - 4}" stroke="${l.color}" stroke-width="2"${l.dash ? ` stroke-dasharray="${l.dash}"` : ''}/>`;
    s += `<text x="${W - M.right + 42}" y="${ly}">${esc(l.label)}</text>`;
  });
  s += `<rect x="${M.left}" y="${top}" width="${plotW}" height="${PANEL_H}" fill="none" stroke="#888"/>`;
  return s;
}

export function renderChart(options: ChartOptions): string {
  const maxT = Math.max(1, ...options.series.flatMap((s) => s.points.map((p) => p.t + 1)));
  const mid = (p: TimelinePoint): number => p.t + 0.5;
  const latency = options.series.flatMap((s) => [
    {
      color: s.color,
      label: `${s.label} p99`,
      values: s.points.map((p): [number, number] => [mid(p), p.p99Ms]),
    },
    {
      color: s.color,
      dash: '3 3',
      label: `${s.label} p50`,
      values: s.points.map((p): [number, number] => [mid(p), p.p50Ms]),
    },
  ]);
  const rate = options.series.map((s) => ({
    color: s.color,
    label: s.label,
    values: s.points.map((p): [number, number] => [mid(p), p.perSec]),
  }));
  // Latency axis: at most 3× the median per-second p99 (or 2× the target), so one spike cannot flatten the chart.
  const p99s = options.series.flatMap((s) => s.points.map((p) => p.p99Ms)).sort((a, b) => a - b);
  const median = p99s[Math.floor(p99s.length / 2)] ?? 0;
  const latencyCap = Math.max(3 * median, 2 * (options.latencyTargetMs ?? 0), 1);
  const top2 = M.top + PANEL_H + M.gap;
  const height = top2 + PANEL_H + M.bottom;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" ` +
    `font-family="sans-serif" font-size="11">` +
    `<rect width="100%" height="100%" fill="#fff"/>` +
    `<text x="${M.left}" y="20" font-size="14" font-weight="bold">${esc(options.title)}</text>` +
    panel(
      M.top,
      'Message latency per second (ms)',
      'ms',
      latency,
      maxT,
      options.latencyTargetMs,
      latencyCap,
    ) +
    panel(
      top2,
      options.rateLabel ?? 'Completed sessions per second',
      'per second',
      rate,
      maxT,
      options.rateTarget,
    ) +
    `<text x="${M.left + (W - M.left - M.right) / 2}" y="${height - 6}" text-anchor="middle">seconds into the measured window</text>` +
    '</svg>\n'
  );
}
