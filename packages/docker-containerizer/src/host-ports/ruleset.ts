import { normalizeHostPorts, type HostPort } from './host-port-forwarder.js';

// The nftables table that carries published host ports from the agent's network namespace to the
// daemon's host, written whole each time and loaded with `nft -f -` in one transaction: the
// `table` line makes the delete succeed when the table is new, so the script is idempotent, and a
// rejected script leaves the previous table as it was.
//
//   prerouting  a packet from another host (or a task of this agent) to an address of this
//               namespace, on a published port: to `via`, the daemon's host seen from here
//   output      the same for the agent's own connections, 127.0.0.1 included (with the sysctl
//               net.ipv4.conf.all.route_localnet=1, a DNATed loopback packet may leave)
//   postrouting the forwarded packets leave with this namespace's address, so the answers come
//               back through it and are un-NATed (a peer, or 127.0.0.1, would not be answered)

/** The nft script that makes the table hold exactly `ports`, forwarded to `via`. */
export function hostPortsRuleset(table: string, via: string, ports: Iterable<HostPort>): string {
  const elements = normalizeHostPorts(ports).map((p) => `${p.protocol} . ${p.hostPort}`);
  const match = 'fib daddr type local meta l4proto . th dport @published';
  return [
    `table ip ${table}`,
    `delete table ip ${table}`,
    `table ip ${table} {`,
    `  set published {`,
    `    type inet_proto . inet_service`,
    ...(elements.length > 0 ? [`    elements = { ${elements.join(', ')} }`] : []),
    `  }`,
    `  chain prerouting {`,
    `    type nat hook prerouting priority dstnat; policy accept;`,
    `    ${match} dnat to ${via}`,
    `  }`,
    `  chain output {`,
    `    type nat hook output priority -100; policy accept;`,
    `    ${match} dnat to ${via}`,
    `  }`,
    `  chain postrouting {`,
    `    type nat hook postrouting priority srcnat; policy accept;`,
    `    ct status dnat ip daddr ${via} meta l4proto . th dport @published masquerade`,
    `  }`,
    `}`,
    '',
  ].join('\n');
}
