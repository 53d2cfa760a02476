// Latency bookkeeping: every sample is kept (a 20-second run is tens of thousands of numbers), so
// percentiles are exact; samples are also bucketed by time for the latency-over-time chart.

export interface LatencySummary {
  readonly count: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly meanMs: number;
}

export interface TimelinePoint {
  /** Seconds since the start of the measured window (bucket start). */
  readonly t: number;
  /** Completed sessions (or enrollments) in the bucket, per second. */
  readonly perSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

const round = (n: number) => Math.round(n * 100) / 100;

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function summarize(samples: readonly number[] | Float64Array): LatencySummary {
  const sorted = Float64Array.from(samples).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    count: sorted.length,
    p50Ms: round(percentile(sorted, 50)),
    p90Ms: round(percentile(sorted, 90)),
    p99Ms: round(percentile(sorted, 99)),
    maxMs: round(sorted.length ? sorted[sorted.length - 1]! : 0),
    meanMs: round(sorted.length ? sum / sorted.length : 0),
  };
}

export class LatencyRecorder {
  private values = new Float64Array(1 << 14);
  private times = new Float64Array(1 << 14);
  private n = 0;
  /** Completion times (seconds) of whole units (sessions, enrollments). */
  private readonly completions: number[] = [];

  /** One message's latency `ms`, finished at `atSec` (seconds since the window started). */
  record(ms: number, atSec: number): void {
    if (this.n === this.values.length) {
      const grow = (a: Float64Array) => {
        const b = new Float64Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.values = grow(this.values);
      this.times = grow(this.times);
    }
    this.values[this.n] = ms;
    this.times[this.n] = atSec;
    this.n++;
  }

  complete(atSec: number): void {
    this.completions.push(atSec);
  }

  get count(): number {
    return this.n;
  }

  summary(): LatencySummary {
    return summarize(this.values.subarray(0, this.n));
  }

  /** Buckets of `bucketSec` over [0, durationSec). */
  timeline(durationSec: number, bucketSec = 1): TimelinePoint[] {
    const buckets = Math.max(1, Math.ceil(durationSec / bucketSec - 1e-6));
    const lat: number[][] = Array.from({ length: buckets }, () => []);
    const done = new Array<number>(buckets).fill(0);
    for (let i = 0; i < this.n; i++) {
      const b = Math.floor(this.times[i]! / bucketSec);
      if (b >= 0 && b < buckets) lat[b]!.push(this.values[i]!);
    }
    for (const t of this.completions) {
      const b = Math.floor(t / bucketSec);
      if (b >= 0 && b < buckets) done[b]!++;
    }
    return lat.map((values, b) => {
      const sorted = Float64Array.from(values).sort();
      return {
        t: b * bucketSec,
        perSec: round(done[b]! / bucketSec),
        p50Ms: round(percentile(sorted, 50)),
        p99Ms: round(percentile(sorted, 99)),
      };
    });
  }
}
