// ippc's one backoff: the delay before the next attempt grows by `factor` from `initialMs` up to
// `maxMs` and comes back to `initialMs` on success. Jitter takes up to a fraction of each delay off
// at random, so that many clients that lost the same server do not come back in step.

export interface BackoffOptions {
  /** The first delay. */
  initialMs: number;
  /** The longest delay. */
  maxMs: number;
  /** Growth per attempt. Default 2. */
  factor?: number;
  /** Fraction (0 to 1) of each delay that may be taken off at random. Default 0.5 ("equal jitter"); 0 for none. */
  jitter?: number;
}

/** Delays for retries: `next()` before each retry, `reset()` after a success. */
export class Backoff {
  private base: number;

  constructor(private readonly options: BackoffOptions) {
    this.base = options.initialMs;
  }

  /** The delay before the next attempt (with jitter); the one after grows. */
  next(): number {
    const base = this.base;
    this.base = Math.min(base * (this.options.factor ?? 2), this.options.maxMs);
    return base * (1 - (this.options.jitter ?? 0.5) * Math.random());
  }

  /** The delay the next call to `next()` starts from, before jitter. */
  get currentMs(): number {
    return this.base;
  }

  /** Back to `initialMs` (after a success). */
  reset(): void {
    this.base = this.options.initialMs;
  }
}
