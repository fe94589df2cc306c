// ippc's one async mutex: work that must not interleave (checkpoint writes, one container's
// attach and detach, one pool's allocations) runs one call at a time, in the order asked. A call
// runs whether or not the one before it failed; its own result or error goes to its caller.

/** Runs async functions one at a time. */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  /** Runs `fn` once every call made before it has settled. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }
}

/** One {@link Mutex} per key (a container, a pool), forgotten when its last call settles. */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<unknown>>();

  /** Runs `fn` once every call made before it for the same key has settled. */
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const run = (this.tails.get(key) ?? Promise.resolve()).then(fn, fn);
    const tail = run.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return run;
  }

  /** Keys with a call running or waiting. */
  get size(): number {
    return this.tails.size;
  }
}
