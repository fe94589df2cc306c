import { CniError, type CniRequest } from '@ippc/core';
import type { HandlerContext } from './cni-handler.js';
import { CNI_ERROR_CODES } from './cni-errors.js';
import { requireEnv, type NetConf } from './net-conf.js';

/** CHECK: the attachment holds a lease, and `prevResult` has every address of it. */
export async function check(ctx: HandlerContext, req: CniRequest, conf: NetConf): Promise<void> {
  const env = requireEnv(req);
  const lease = await ctx.ipam.getLease({ network: conf.name, containerId: env.containerId, ifName: env.ifName });
  const prev = conf.prevResult;
  if (!prev) return;
  const have = new Set<string>();
  for (const ip of prev.ips ?? []) if (ip.address) have.add(ip.address.split('/')[0]!);
  if (prev.ip4?.ip) have.add(prev.ip4.ip.split('/')[0]!);
  if (prev.ip6?.ip) have.add(prev.ip6.ip.split('/')[0]!);
  const missing = lease.addresses.filter((a) => !have.has(a.address));
  if (missing.length > 0) {
    throw new CniError(CNI_ERROR_CODES.CHECK_FAILED, `the IPAM lease of ${conf.name}/${env.containerId}/${env.ifName} holds ${missing.map((a) => a.address).join(', ')}, missing from prevResult`);
  }
}
