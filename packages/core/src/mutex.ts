// ippc's one async mutex: work that must not interleave (checkpoint writes, one container's
// attach and detach, one pool's allocations) runs one call at a time, in the order asked. A call
// runs whether or not the one before it failed; its own result or error goes to its caller.

/** What a queue's tail becomes once a call settles, however it settled. */
const settled = (): void => undefined;

/** Runs async functions one at a time. */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();

  /** Runs `fn` once every call made before it has settled. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.then(settled, settled);
    return run;
  }

  /** Resolves once every call made so far has settled (never rejects): before closing what the calls use. */
  idle(): Promise<void> {
    return this.tail;
  }
}

/** One {@link Mutex} per key (a container, a pool), forgotten when its last call settles. */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `fn` once every call made before it for the same key has settled. */
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const run = (this.tails.get(key) ?? Promise.resolve()).then(fn, fn);
    const tail = run.then(settled, settled);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return run;
  }

  /** Resolves once every call made so far, of every key, has settled (never rejects). */
  async idle(): Promise<void> {
    await Promise.all(this.tails.values());
  }

  /** Keys with a call running or waiting. */
  get size(): number {
    return this.tails.size;
  }
}
