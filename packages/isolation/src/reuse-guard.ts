import { silentLogger, sleep, type Logger } from '@ippc/core';
import type { IsolationClient } from './client.js';
import type { AddressStatus } from './service/store/store.js';

// The seam for IPAM (issue 3): "an address leaves every allow-set before IPAM may hand it out
// again". IPAM keeps its own release cool-down; before it hands a released address out, it asks
// this guard, which asks the isolation service whether any agent may still hold the address in an
// allow-set. The guard fails closed: when the service cannot answer, nothing is reused.

export interface ReuseGuard {
  /**
   * The addresses among `addresses` that may be handed out now: no member holds them and every
   * registered agent has applied their release. On any error: the empty set (keep them cooling).
   */
  mayReuse(addresses: string[]): Promise<Set<string>>;
  /** The full answer per address (state, holders, agents still behind). Throws on errors. */
  check(addresses: string[]): Promise<AddressStatus[]>;
  /** Polls until `address` is clear; resolves false at the deadline or on errors. */
  waitReleased(address: string, timeoutMs: number): Promise<boolean>;
}

export interface ReuseGuardOptions {
  client: Pick<IsolationClient, 'checkAddresses'>;
  /** Poll interval of waitReleased. Default 50 ms. */
  pollMs?: number;
  logger?: Logger;
}

/**
 * Creates the guard IPAM calls before reusing a released address.
 *
 * @example
 * ```ts
 * const guard = createReuseGuard({ client: createIsolationClient({ address, auth }) });
 * // in IPAM's allocator, for candidates whose cool-down has elapsed:
 * const ok = await guard.mayReuse(candidates);
 * const pick = candidates.find((a) => ok.has(a)); // others stay cooling, asked again next time
 * ```
 */
export function createReuseGuard(options: ReuseGuardOptions): ReuseGuard {
  const log = options.logger ?? silentLogger();
  const pollMs = options.pollMs ?? 50;
  const guard: ReuseGuard = {
    check: (addresses) => options.client.checkAddresses(addresses),
    async mayReuse(addresses) {
      if (addresses.length === 0) return new Set();
      try {
        const res = await options.client.checkAddresses(addresses);
        const ok = new Set<string>();
        // The service answers with canonical text; map back to what the caller passed.
        res.forEach((r, i) => r.state === 'clear' && ok.add(addresses[i]!));
        return ok;
      } catch (err) {
        log.warn({ err, addresses: addresses.length }, 'isolation service did not answer: no address is reused for now');
        return new Set();
      }
    },
    async waitReleased(address, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if ((await guard.mayReuse([address])).has(address)) return true;
        if (Date.now() + pollMs > deadline) return false;
        await sleep(pollMs);
      }
    },
  };
  return guard;
}
