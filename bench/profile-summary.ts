// Summarises a V8 `.cpuprofile` (from `npm run bench -- --profile`): self time by function and by
// source file, and inclusive time of our own modules, so the hot path is readable in a terminal.
// Run: npx tsx bench/profile-summary.ts bench/results/profiles/CPU.….cpuprofile [top N]
import { readFileSync } from 'node:fs';
import { isEntryPoint } from './process.js';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface ProfileLine {
  readonly name: string;
  readonly ms: number;
  readonly percent: number;
}

export interface ProfileSummary {
  readonly totalMs: number;
  readonly byFunction: ProfileLine[];
  readonly byFile: ProfileLine[];
  /** Inclusive time of functions in `src/` (what our code and everything it calls costs). */
  readonly inclusive: ProfileLine[];
}

const shortUrl = (url: string) => {
  if (!url) return '(native)';
  const i = url.indexOf('/node_modules/');
  if (i >= 0)
    return url
      .slice(i + 14)
      .split('/')
      .slice(0, 2)
      .join('/');
  const s = url.indexOf('/src/');
  if (s >= 0) return url.slice(s + 1);
  return url.replace(/^file:\/\//, '');
};

export function summarizeProfile(profile: CpuProfile, top = 25): ProfileSummary {
  const self = new Map<number, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    total += dt;
    self.set(id, (self.get(id) ?? 0) + dt);
  });
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  const fnTime = new Map<string, number>();
  const fileTime = new Map<string, number>();
  const inclusive = new Map<string, number>();
  for (const [id, ms] of self) {
    const n = byId.get(id)!;
    const file = shortUrl(n.callFrame.url);
    const fn = `${n.callFrame.functionName || '(anonymous)'} ${file}:${n.callFrame.lineNumber + 1}`;
    fnTime.set(fn, (fnTime.get(fn) ?? 0) + ms);
    fileTime.set(file, (fileTime.get(file) ?? 0) + ms);
    // Inclusive time of each src/ function on the stack, counted once per sample stack.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)!.callFrame;
      const u = shortUrl(f.url);
      if (!u.startsWith('src/')) continue;
      const key = `${f.functionName || '(anonymous)'} ${u}:${f.lineNumber + 1}`;
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + ms);
    }
  }
  const lines = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, ms]) => ({ name, ms: Math.round(ms), percent: Math.round((ms / total) * 1000) / 10 }));
  return {
    totalMs: Math.round(total),
    byFunction: lines(fnTime),
    byFile: lines(fileTime),
    inclusive: lines(inclusive),
  };
}

if (isEntryPoint(import.meta.url)) {
  const [file, topArg] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: npx tsx bench/profile-summary.ts FILE.cpuprofile [top]\n');
    process.exit(2);
  }
  const s = summarizeProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, Number(topArg ?? 25));
  const print = (title: string, list: ProfileLine[]) => {
    process.stdout.write(`\n${title}\n`);
    for (const l of list)
      process.stdout.write(`${String(l.ms).padStart(8)} ms ${String(l.percent).padStart(5)}%  ${l.name}\n`);
  };
  process.stdout.write(`total ${s.totalMs} ms\n`);
  print('self time by file', s.byFile);
  print('self time by function', s.byFunction);
  print('inclusive time (src/)', s.inclusive);
}
