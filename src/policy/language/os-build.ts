// Windows build numbers (`10.0.19045`, `10.0.22631.4037`) and the catalog's `MSFT:OsBuildVersion`,
// which may list several builds: the release that introduced a node, then servicing updates of older
// releases that received it (`10.0.22000, 10.0.19043.1202, 10.0.19042.1202`).

export function parseBuild(text: string): number[] | undefined {
  const t = text.trim();
  if (!/^\d+(\.\d+){2,3}$/.test(t)) return undefined;
  const parts = t.split('.').map(Number);
  while (parts.length < 4) parts.push(0);
  return parts;
}

export function compareBuilds(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < 4; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** The oldest build listed in an `OsBuildVersion` value, or undefined when none parses. */
export function oldestBuild(osBuildVersion: string): { text: string; parts: number[] } | undefined {
  let best: { text: string; parts: number[] } | undefined;
  for (const entry of osBuildVersion.split(/[,;]/)) {
    const parts = parseBuild(entry);
    if (parts && (!best || compareBuilds(parts, best.parts) < 0)) best = { text: entry.trim(), parts };
  }
  return best;
}

/** True when a device running `target` (or newer) has a node introduced in `osBuildVersion`. */
export function buildSupports(target: string, osBuildVersion: string): boolean {
  const t = parseBuild(target);
  const oldest = oldestBuild(osBuildVersion);
  if (!t || !oldest) return true;
  return compareBuilds(t, oldest.parts) >= 0;
}
