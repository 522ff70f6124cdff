// The decisions of bench:throughput's saturation search, apart from its I/O: is a stage's lag flat or
// growing over a step, was the load asked for produced, and is the step sustainable. Pure functions.

export interface Point {
  /** Wall time, ms. */
  readonly t: number;
  readonly value: number;
}

export type Trend = 'flat' | 'growing' | 'shrinking';

/** Least-squares slope of the points, in value units per second (0 for fewer than two points). */
export function slopePerSecond(points: readonly Point[]): number {
  if (points.length < 2) return 0;
  const n = points.length;
  const mt = points.reduce((a, p) => a + p.t, 0) / n;
  const mv = points.reduce((a, p) => a + p.value, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.t - mt) * (p.value - mv);
    den += (p.t - mt) ** 2;
  }
  return den === 0 ? 0 : (num / den) * 1000;
}

export interface TrendOptions {
  /** What the stage moves per second: a lag growing by more than `relative` of it is growing. */
  readonly throughputPerS: number;
  /** Share of the throughput a lag may gain per second and still count as flat (default 2 %). */
  readonly relative?: number;
  /** A lag that ends below this is flat whatever its slope (a few batches in flight). */
  readonly floor: number;
}

export interface LagTrend {
  readonly trend: Trend;
  readonly slopePerS: number;
  readonly last: number;
  readonly max: number;
}

/**
 * Flat, growing or shrinking: the lag's slope against the stage's own throughput. A queue that gains 2 % of
 * what it moves every second will never drain while the load lasts; one that ends under `floor` is keeping up.
 */
export function lagTrend(points: readonly Point[], opts: TrendOptions): LagTrend {
  const slope = slopePerSecond(points);
  const last = points.at(-1)?.value ?? 0;
  const max = points.reduce((m, p) => Math.max(m, p.value), 0);
  const limit = (opts.relative ?? 0.02) * Math.max(opts.throughputPerS, 1);
  const trend: Trend = last > opts.floor && slope > limit ? 'growing' : slope < -limit ? 'shrinking' : 'flat';
  return { trend, slopePerS: slope, last, max };
}

/** Nearest-rank percentile of an ascending array (NaN when empty). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export interface StepFacts {
  readonly askedOrdersPerS: number;
  readonly achievedOrdersPerS: number;
  readonly lags: Readonly<Record<string, LagTrend>>;
  /** Commit → queryable latencies sampled in the step (ms). */
  readonly latencyCount: number;
  readonly p99Ms: number;
}

export interface StepVerdict {
  readonly loadProduced: boolean;
  readonly sustainable: boolean;
  /** Why not, in words a person can act on; empty when sustainable. */
  readonly reasons: readonly string[];
}

/** Achieved under this share of the asked rate means the load was not produced. */
export const LOAD_PRODUCED_SHARE = 0.9;
export const P99_TARGET_MS = 2000;

/**
 * Sustainable = the load asked was produced, no stage's lag grows, and p99 commit → queryable ≤ 2 s.
 * A step whose load was not produced is never sustainable: its latencies describe a lighter load.
 */
export function judgeStep(f: StepFacts): StepVerdict {
  const reasons: string[] = [];
  const loadProduced = f.achievedOrdersPerS >= LOAD_PRODUCED_SHARE * f.askedOrdersPerS;
  if (!loadProduced)
    reasons.push(
      `load NOT produced: ${f.achievedOrdersPerS.toFixed(0)} of ${f.askedOrdersPerS} orders/s asked (< ${LOAD_PRODUCED_SHARE * 100} %)`,
    );
  for (const [stage, l] of Object.entries(f.lags)) {
    if (l.trend === 'growing')
      reasons.push(
        `${stage} lag growing (+${Math.round(l.slopePerS).toLocaleString('en')}/s, ends at ${Math.round(l.last).toLocaleString('en')})`,
      );
  }
  if (f.latencyCount === 0) reasons.push('no commit → queryable sample reached Druid during the step');
  else if (f.p99Ms > P99_TARGET_MS)
    reasons.push(`p99 commit → queryable ${Math.round(f.p99Ms)} ms > ${P99_TARGET_MS} ms`);
  return { loadProduced, sustainable: reasons.length === 0, reasons };
}

export interface JudgedStep {
  readonly askedOrdersPerS: number;
  readonly achievedRowChangesPerS: number;
  readonly verdict: StepVerdict;
}

/** The highest achieved row-change rate among sustainable steps, or undefined when none was. */
export function sustainableCeiling(steps: readonly JudgedStep[]): JudgedStep | undefined {
  return steps
    .filter((s) => s.verdict.sustainable)
    .reduce<JudgedStep | undefined>(
      (best, s) => (!best || s.achievedRowChangesPerS > best.achievedRowChangesPerS ? s : best),
      undefined,
    );
}

export interface CpuCost {
  /** Microseconds of CPU per row change written, per process, largest first. */
  readonly perProcessUs: readonly (readonly [string, number])[];
  readonly totalUs: number;
  /** Row changes/s the machine's cores could carry at this cost per row change (all cores busy). */
  readonly ceilingRowChangesPerS: number;
  /** The total cost per row change that the target rate leaves on these cores. */
  readonly budgetUsAt: (rowChangesPerS: number) => number;
}

/**
 * The system-level profile as a cost: CPU time each process spent per row change written. Measured on a step
 * that every stage kept up with, its total bounds the rate the box can carry (cores ÷ cost), and set against a
 * target's budget (cores ÷ target) it names where the CPU goes.
 */
export function cpuCostPerRowChange(
  cpuPctOfCore: readonly (readonly [string, number])[],
  rowChangesPerS: number,
  cores: number,
): CpuCost {
  if (!(rowChangesPerS > 0))
    throw new RangeError(`cpuCostPerRowChange: rowChangesPerS must be > 0, got ${rowChangesPerS}`);
  const perProcessUs = cpuPctOfCore
    .map(([name, pct]) => [name, ((pct / 100) * 1e6) / rowChangesPerS] as const)
    .sort((a, b) => b[1] - a[1]);
  const totalUs = perProcessUs.reduce((sum, [, us]) => sum + us, 0);
  return {
    perProcessUs,
    totalUs,
    ceilingRowChangesPerS: totalUs > 0 ? (cores * 1e6) / totalUs : Infinity,
    budgetUsAt: (target: number) => (cores * 1e6) / target,
  };
}
