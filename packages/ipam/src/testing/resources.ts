// The names, addresses and ports integration tests and benchmarks use, overridable from the
// environment so that several runs (other helpers, CI jobs) can share one machine:
//
//   IPPC_TEST_NS_PREFIX      network namespaces start with `<prefix>-`               (default ipam)
//   IPPC_TEST_BRIDGE_PREFIX  bridges inside those namespaces: `<prefix>0`            (default ipambr)
//   IPPC_TEST_NET            the IPv4 /16 addressed in namespaces: first two octets  (default 10.210)
//   IPPC_TEST_ETCD_PORTS     client port range of test etcds, `first-last`; peers use
//                            the range right above it                                 (default 23790-23799)
//
// Temp dirs follow TMPDIR.

/** Prefix of every network namespace of a run. */
export const TEST_PREFIX = process.env.IPPC_TEST_NS_PREFIX || 'ipam';
/** Prefix of bridge names. */
export const TEST_BRIDGE = process.env.IPPC_TEST_BRIDGE_PREFIX || 'ipambr';
/** First two octets of the IPv4 /16 the tests configure in their namespaces. */
export const TEST_NET = process.env.IPPC_TEST_NET || '10.210';

function etcdPorts(): { client: number[]; peer: number[] } {
  const text = process.env.IPPC_TEST_ETCD_PORTS || '23790-23799';
  const m = /^(\d+)-(\d+)$/.exec(text);
  const first = Number(m?.[1]);
  const last = Number(m?.[2]);
  if (!m || first < 1024 || last < first || last - first > 99 || last + (last - first + 1) > 65535) {
    throw new Error(`IPPC_TEST_ETCD_PORTS=${text}: give a client port range like 23810-23819 (peers use the same number of ports right above it)`);
  }
  const n = last - first + 1;
  return { client: Array.from({ length: n }, (_, i) => first + i), peer: Array.from({ length: n }, (_, i) => last + 1 + i) };
}

/** Client and peer ports a test etcd may take, pairwise. */
export const TEST_ETCD_PORTS = etcdPorts();

if (!/^\d{1,3}\.\d{1,3}$/.test(TEST_NET)) throw new Error(`IPPC_TEST_NET=${TEST_NET}: give the first two octets of a /16, e.g. 10.210`);
if (!/^[a-z][a-z0-9]{0,5}$/.test(TEST_PREFIX)) throw new Error(`IPPC_TEST_NS_PREFIX=${TEST_PREFIX}: 1-6 lowercase letters/digits`);
if (!/^[a-z][a-z0-9]{0,8}$/.test(TEST_BRIDGE)) throw new Error(`IPPC_TEST_BRIDGE_PREFIX=${TEST_BRIDGE}: 1-9 lowercase letters/digits`);
