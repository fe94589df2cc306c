import { CniError, containerAddresses, stripPrefix, type CniRequest } from '@ippc/core';
import type { HandlerContext } from './cni-handler.js';
import { CNI_ERROR_CODES } from './cni-errors.js';
import { requireEnv, type NetConf } from './net-conf.js';

/** CHECK: the attachment holds a lease, and `prevResult` has every address of it. */
export async function check(ctx: HandlerContext, req: CniRequest, conf: NetConf): Promise<void> {
  const env = requireEnv(req);
  const lease = await ctx.ipam.getLease({ network: conf.name, containerId: env.containerId, ifName: env.ifName });
  const prev = conf.prevResult;
  if (!prev) return;
  const have = new Set(containerAddresses(prev).map((ip) => stripPrefix(ip.address)));
  const missing = lease.addresses.filter((a) => !have.has(a.address));
  if (missing.length > 0) {
    throw new CniError(
      CNI_ERROR_CODES.CHECK_FAILED,
      `the IPAM lease of ${conf.name}/${env.containerId}/${env.ifName} holds ${missing.map((a) => a.address).join(', ')}, missing from prevResult`,
    );
  }
}
