// The names and addresses integration tests and benchmarks create, overridable from the
// environment so that several runs (other helpers, CI jobs) can share one machine without
// touching each other's namespaces:
//
//   IPPC_TEST_NS_PREFIX      network namespaces and temp dirs start with `<prefix>-`  (default iso)
//   IPPC_TEST_BRIDGE_PREFIX  bridges inside those namespaces: `<prefix>0`, `<prefix>1` (default isobr)
//   IPPC_TEST_NET            the IPv4 /16 the tests address, as its first two octets  (default 10.240)
//   IPPC_TEST_NET6           the IPv6 ULA /32, as its first two groups                (default fd10:240)

/** Prefix of every namespace and temp dir of a run. */
export const TEST_PREFIX = process.env.IPPC_TEST_NS_PREFIX || 'iso';
/** Prefix of bridge names (`<prefix>0`: the cluster network; `<prefix>1`: an agent's CNI bridge). */
export const TEST_BRIDGE = process.env.IPPC_TEST_BRIDGE_PREFIX || 'isobr';
/** First two octets of the IPv4 /16 (`<net>.0.0/24` cluster network, `<net>.<i>.0/24` agent i). */
export const TEST_NET = process.env.IPPC_TEST_NET || '10.240';
/** First two groups of the IPv6 /32 (`<net6>::/64` cluster network, `<net6>:0:<i>::/64` agent i). */
export const TEST_NET6 = process.env.IPPC_TEST_NET6 || 'fd10:240';

if (!/^\d{1,3}\.\d{1,3}$/.test(TEST_NET)) throw new Error(`IPPC_TEST_NET=${TEST_NET}: give the first two octets of a /16, e.g. 10.240`);
if (!/^[0-9a-f]{1,4}:[0-9a-f]{1,4}$/i.test(TEST_NET6)) throw new Error(`IPPC_TEST_NET6=${TEST_NET6}: give the first two groups of a ULA /32, e.g. fd10:240`);
if (!/^[a-z][a-z0-9]{0,5}$/.test(TEST_PREFIX)) throw new Error(`IPPC_TEST_NS_PREFIX=${TEST_PREFIX}: 1-6 lowercase letters/digits`);
if (!/^[a-z][a-z0-9]{0,8}$/.test(TEST_BRIDGE)) throw new Error(`IPPC_TEST_BRIDGE_PREFIX=${TEST_BRIDGE}: 1-9 lowercase letters/digits`);
