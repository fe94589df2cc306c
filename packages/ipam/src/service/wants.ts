import { formatIp, parseIp, type IpFamily } from '@ippc/core';
import { bad, IpamError } from '../errors.js';
import { describeAssignable, isReserved, rangeOf } from '../pool.js';
import type { AddressRequest, AllocateRequest } from '../types.js';
import type { ServiceContext } from './context.js';
import type { PoolState } from './pool-state.js';
import { poolsOf } from './pools.js';

// Wants: an Allocate request resolved against the network's pools, before picking: one want per
// requested address (or per family of the node's pools when the request names none), each with
// the pools it may come from; requests that no pool can satisfy are refused here.

/** What one wanted address resolved to, before picking. */
export interface Want {
  pools: PoolState[];
  address?: bigint;
  family: IpFamily;
}

export async function resolveWants(ctx: ServiceContext, req: AllocateRequest, network: string): Promise<Want[]> {
  const pools = await poolsOf(ctx, network);
  const node = req.node ?? '';
  const affine = node ? pools.filter((p) => p.pool.spec.node === node) : [];
  const defaults = affine.length > 0 ? affine : pools.filter((p) => !p.pool.spec.node);
  const requests: AddressRequest[] = req.requests && req.requests.length > 0 ? req.requests : [];
  if (requests.length === 0) {
    if (defaults.length === 0) {
      throw new IpamError(
        'IPAM_UNKNOWN_NETWORK',
        `network '${network}' has no pool for node '${node}' (its pools belong to ${[...new Set(pools.map((p) => p.pool.spec.node))].join(', ')}); ` +
          `define a pool for this node or name a pool in the request`,
        { details: { network, node } },
      );
    }
    const families = [...new Set(defaults.map((p) => p.pool.family))].sort();
    return families.map((family) => ({ family, pools: defaults.filter((p) => p.pool.family === family) }));
  }
  const seen = new Set<string>();
  return requests.map((r, i): Want => {
    if (r.family !== undefined && r.family !== 4 && r.family !== 6) throw bad(`request ${i}: family must be 4 or 6, not ${String(r.family)}`);
    let candidates = pools;
    if (r.pool) {
      const p = pools.find((x) => x.pool.id === r.pool);
      if (!p) {
        throw new IpamError(
          'IPAM_UNKNOWN_NETWORK',
          `network '${network}' has no pool '${r.pool}' (pools: ${pools.map((x) => x.pool.id).join(', ')}); ensure the pool first`,
          {
            details: { network, pool: r.pool },
          },
        );
      }
      candidates = [p];
    }
    if (r.address) {
      const ip = parseIp(r.address);
      if (!ip) throw bad(`request ${i}: '${r.address}' is not an IP address`);
      if (r.family && r.family !== ip.family) throw bad(`request ${i}: ${r.address} is not an IPv${r.family} address`);
      const text = formatIp(ip.family, ip.value);
      if (seen.has(text)) throw bad(`request ${i}: ${text} is requested twice`);
      seen.add(text);
      const inRange = candidates.filter((p) => p.pool.family === ip.family && rangeOf(p.pool, ip.value));
      const holder = inRange[0];
      if (!holder) {
        const ranges = candidates.filter((p) => p.pool.family === ip.family).map((p) => `${p.pool.id}: ${describeAssignable(p.pool)}`);
        throw new IpamError(
          'IPAM_ADDRESS_OUTSIDE_POOL',
          `${text} is outside every pool of network '${network}'${r.pool ? ` named in the request (${r.pool})` : ''}; ` +
            (ranges.length > 0 ? `request an address within ${ranges.join('; ')}` : `the network has no IPv${ip.family} pool`),
          { details: { network, address: text } },
        );
      }
      if (isReserved(holder.pool, ip.value)) {
        const gw = holder.pool.ranges.some((x) => x.gateway === ip.value);
        throw new IpamError(
          'IPAM_ADDRESS_OUTSIDE_POOL',
          `${text} is ${gw ? 'the gateway' : 'reserved (network, broadcast or excluded address)'} of pool '${holder.pool.id}' in network '${network}' and is never assigned; ` +
            `request another address within ${describeAssignable(holder.pool)}`,
          { details: { network, address: text, pool: holder.pool.id } },
        );
      }
      return { family: ip.family, pools: [holder], address: ip.value };
    }
    const family = r.family ?? (r.pool ? candidates[0]!.pool.family : 4);
    const inFamily = (r.pool ? candidates : defaults).filter((p) => p.pool.family === family);
    if (inFamily.length === 0) {
      throw new IpamError(
        'IPAM_UNKNOWN_NETWORK',
        `network '${network}' has no IPv${family} pool${node ? ` for node '${node}'` : ''}; define one or ask for another family`,
        {
          details: { network, family },
        },
      );
    }
    return { family, pools: inFamily };
  });
}
