// Figures of a benchmark's samples, the same way in every package's bench script so that their
// p50 and p95 mean the same thing (nearest rank: the smallest sample with at least p% at or below).

/** Summary of a list of samples (e.g. milliseconds). */
export interface SampleStats {
  n: number;
  p50: number;
  p95: number;
  mean: number;
  min: number;
  max: number;
}

/** The nearest-rank percentile `p` (0-100) of `samples`; NaN when there are none. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/** n, p50, p95, mean, min and max of `samples` (NaN figures when there are none). */
export function summarize(samples: readonly number[]): SampleStats {
  if (samples.length === 0) return { n: 0, p50: NaN, p95: NaN, mean: NaN, min: NaN, max: NaN };
  return {
    n: samples.length,
    p50: percentile(samples, 50),
    p95: percentile(samples, 95),
    mean: samples.reduce((a, b) => a + b, 0) / samples.length,
    min: Math.min(...samples),
    max: Math.max(...samples),
  };
}
