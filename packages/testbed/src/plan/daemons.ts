import { PATHS, PORTS } from './layout.js';
import type { DaemonSpec, PlanContext } from './types.js';

// The daemons of the master's node and of the services node, with their flags (the agent's are in agent.ts).

/** The master: the scheduler API and `/master/state` on one port. */
export function masterDaemons(pc: PlanContext): DaemonSpec[] {
  const { config, resolve, master, noAuth } = pc;
  return [
    {
      name: 'master',
      argv: [
        ...resolve('master', 'ippc-master').argv,
        '--ip=0.0.0.0',
        `--advertise_ip=${master}`,
        `--port=${PORTS.master}`,
        `--allocation_interval=${config.master.allocationInterval}`,
        ...(noAuth ? ['--no_auth'] : []),
      ],
      probe: { http: { port: PORTS.master, path: '/health' } },
    },
  ];
}

/** The services node: the IPAM service, the isolation provider and DNS. */
export function servicesDaemons(pc: PlanContext): DaemonSpec[] {
  const { config, resolve, master, noAuth } = pc;
  return [
    {
      name: 'ipam',
      argv: [
        ...resolve('ipam', 'ippc-ipam-server').argv,
        `--listen=0.0.0.0:${PORTS.ipamGrpc}`,
        `--http=0.0.0.0:${PORTS.ipamHttp}`,
        `--data_dir=${PATHS.ipamData}`,
        `--cooldown=${config.ipam.cooldownSeconds}secs`,
        ...(noAuth ? ['--no_auth'] : []),
      ],
      probe: { grpc: { port: PORTS.ipamGrpc, service: 'ippc.ipam.v1.Ipam' } },
    },
    {
      name: 'isolation',
      argv: [
        ...resolve('isolation', 'ippc-isolation-server').argv,
        `--listen=0.0.0.0:${PORTS.isolationGrpc}`,
        `--metrics_listen=0.0.0.0:${PORTS.isolationHttp}`,
        `--data_file=${PATHS.isolationData}`,
        ...(noAuth ? ['--no_auth'] : []),
      ],
      probe: { grpc: { port: PORTS.isolationGrpc, service: 'ippc.isolation.v1.Isolation' } },
    },
    {
      name: 'dns',
      argv: [
        ...resolve('dns', 'ippc-dns').argv,
        `--master=http://${master}:${PORTS.master}`,
        `--domain=${config.dns.domain}`,
        `--listen=0.0.0.0:${PORTS.dns}`,
        `--http=0.0.0.0:${PORTS.dnsHttp}`,
        '--refresh=500ms',
        '--json',
      ],
      // 200 once it has read the master's state (503 before).
      probe: { http: { port: PORTS.dnsHttp, path: '/health' } },
    },
  ];
}
