import { CniError, parseIp, parseIpOrCidr, stripPrefix, type CniRequest, type IpFamily } from '@ippc/core';
import { NetworkInfo_Protocol } from '@ippc/proto';
import { isIpamError } from '../errors.js';
import type { AddressRequest, Label, RangeSpec } from '../types.js';
import type { HandlerContext } from './cni-handler.js';
import { CNI_ERROR_CODES } from './cni-errors.js';
import { familyOfSet, ipsFromCniArgs, mesosNetworkInfo, poolOptions, rangeSets, requireEnv, setContains, type NetConf } from './net-conf.js';
import { formatResult } from './result.js';

/**
 * ADD: a lease for the attachment, from the pools of the config's range sets (ensured on first
 * use), for the addresses Mesos's NetworkInfo asks or else those requested in the config and
 * `CNI_ARGS`; the result in the config's version.
 */
export async function add(ctx: HandlerContext, req: CniRequest, conf: NetConf): Promise<Record<string, unknown>> {
  const { ipam, node, log, pools } = ctx;
  const env = requireEnv(req);
  const sets = rangeSets(conf.ipam);
  const network = conf.name;
  const mesos = mesosNetworkInfo(conf);
  const poolIds: Array<{ id: string; set: RangeSpec[]; family: IpFamily | undefined }> = [];
  for (const set of sets) poolIds.push({ id: await pools.ensure(network, set, poolOptions(conf.ipam)), set, family: familyOfSet(set) });

  const requested: string[] = [...(conf.runtimeConfig?.ips ?? []), ...(conf.args?.cni?.ips ?? []), ...ipsFromCniArgs(req.args)];
  const requests: AddressRequest[] = [];
  if (mesos && mesos.ipAddresses.length > 0) {
    // Mesos (net-modules semantics): one address per entry; an explicit ip_address is reserved, else any of that protocol.
    for (const entry of mesos.ipAddresses) {
      const family: IpFamily = entry.protocol === NetworkInfo_Protocol.IPv6 ? 6 : 4;
      const firstOfFamily = poolIds.find((p) => p.family === family);
      if (entry.ipAddress) {
        const ip = parseIp(entry.ipAddress);
        if (!ip) throw new CniError(CNI_ERROR_CODES.BAD_REQUEST, `network_info.ip_addresses: '${entry.ipAddress}' is not an IP address`);
        const holder = poolIds.find((p) => setContains(p.set, ip)) ?? poolIds.find((p) => p.family === ip.family);
        requests.push({ address: entry.ipAddress, ...(holder ? { pool: holder.id } : {}) });
      } else if (firstOfFamily) requests.push({ pool: firstOfFamily.id });
      else if (sets.length > 0)
        throw new CniError(
          CNI_ERROR_CODES.INVALID_CONFIG,
          `network '${network}' has no IPv${family} range in ipam.ranges, but the task asks for an IPv${family} address`,
        );
      else requests.push({ family });
    }
  } else {
    const left = requested.map((text) => {
      const parsed = parseIpOrCidr(text);
      if (!parsed) throw new CniError(CNI_ERROR_CODES.BAD_REQUEST, `requested IP '${text}' is not an address`);
      return { text: stripPrefix(text), ip: parsed.ip, used: false };
    });
    for (const p of poolIds) {
      const want = left.find((r) => !r.used && setContains(p.set, r.ip));
      if (want) want.used = true;
      requests.push(want ? { pool: p.id, address: want.text } : { pool: p.id });
    }
    for (const r of left.filter((x) => !x.used)) {
      if (poolIds.length > 0) {
        throw new CniError(
          CNI_ERROR_CODES.ADDRESS_OUTSIDE_POOL,
          `requested IP ${r.text} is in no range of network '${network}' (${sets.map((s) => s.map((x) => x.subnet).join('+')).join(', ')}); request an address inside them`,
          'IPAM_ADDRESS_OUTSIDE_POOL',
        );
      }
      requests.push({ address: r.text });
    }
  }
  const labels: Label[] = (mesos?.labels?.labels ?? []).map((l) => ({ key: l.key ?? '', value: l.value ?? '' }));
  const allocate = () =>
    ipam.allocate({ handle: { network, containerId: env.containerId, ifName: env.ifName }, node, owner: node, requests, groups: mesos?.groups ?? [], labels });
  let result;
  try {
    result = await allocate();
  } catch (err) {
    // The service lost its pools (a wiped store): ensure again once.
    if (!isIpamError(err, 'IPAM_UNKNOWN_NETWORK') || sets.length === 0) throw err;
    pools.forget(network);
    for (const set of sets) await pools.ensure(network, set, poolOptions(conf.ipam));
    result = await allocate();
  }
  log.debug({ network, containerId: env.containerId, addresses: result.lease.addresses.map((a) => a.address), existing: result.existing }, 'CNI ADD');
  return formatResult(conf.cniVersion, result.lease, conf.ipam);
}
