import { chmod, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { Cluster } from '@ippc/testbed';
import { clusterName, type Testbed } from '../../context.js';
import { emit } from '../../output.js';

// `ippc cluster env`, the kubeconfig of an ippc cluster: what a framework or a tool outside this
// repository needs to reach a running cluster, as shell exports (`eval "$(ippc cluster env)"`) or
// JSON. The token is a secret: it is printed only as asked (in the exports, or written to a file
// readable by its owner alone with --token-file).

/** Where a cluster's parts answer, and its credential. */
export interface ClusterEnv {
  IPPC_CLUSTER: string;
  /** The master's HTTP base URL: `/master/state`, the scheduler HTTP API at `/api/v1/scheduler`. */
  IPPC_MASTER_URL: string;
  /** `host:port` of the master's gRPC framework API (the same port as HTTP). */
  IPPC_MASTER: string;
  /** Mesos's convention for where the master is (`host:port`), read by many Mesos tools. */
  MESOS_MASTER: string;
  /** The DNS server (port 53, UDP and TCP) that answers `<task>.<framework>.<domain>`. */
  IPPC_DNS: string;
  IPPC_DNS_DOMAIN: string;
  IPPC_IPAM: string;
  IPPC_ISOLATION: string;
  /** The shared secret (`Authorization: Bearer <token>`), unless written to a file or auth is off. */
  IPPC_TOKEN?: string;
  IPPC_TOKEN_FILE?: string;
}

export async function clusterEnv(c: Cluster, tokenFile?: string): Promise<ClusterEnv> {
  const env: ClusterEnv = {
    IPPC_CLUSTER: c.name,
    IPPC_MASTER_URL: c.master.url,
    IPPC_MASTER: c.master.grpcAddress,
    MESOS_MASTER: c.master.grpcAddress,
    IPPC_DNS: c.dns.address,
    IPPC_DNS_DOMAIN: c.config.dns.domain,
    IPPC_IPAM: c.ipam.grpcAddress,
    IPPC_ISOLATION: c.isolation.grpcAddress,
  };
  if ('token' in c.auth) {
    if (tokenFile) {
      const path = resolve(tokenFile);
      await writeFile(path, `${c.auth.token}\n`, { mode: 0o600 });
      await chmod(path, 0o600);
      env.IPPC_TOKEN_FILE = path;
    } else env.IPPC_TOKEN = c.auth.token;
  }
  return env;
}

/** POSIX shell exports, values single-quoted. */
export function exportsText(env: ClusterEnv): string {
  return Object.entries(env)
    .map(([k, v]) => `export ${k}='${String(v).replace(/'/g, `'\\''`)}'`)
    .join('\n');
}

/** `ippc cluster env`. */
export function registerEnv(cluster: Command, testbed: Testbed): void {
  cluster
    .command('env')
    .description('print what a framework or tool needs to reach the cluster: master URL, gRPC address, token, DNS, IPAM, isolation')
    .option('--name <name>', 'cluster name (default: IPPC_CLUSTER or ippc)')
    .option('--token-file <path>', 'write the token to this file (mode 0600) and print IPPC_TOKEN_FILE instead of the token')
    .option('--json', 'print the values as a JSON object')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  ippc cluster env --name demo                 # export lines; use them with: eval "$(ippc cluster env)"',
        '  ippc cluster env --token-file ~/.ippc-token --json',
        '  then: curl -s -H "Authorization: Bearer $IPPC_TOKEN" "$IPPC_MASTER_URL/master/state"',
      ].join('\n'),
    )
    .action(async (opts: { name?: string; tokenFile?: string; json?: boolean }) => {
      const env = await clusterEnv(await testbed.attachCluster(clusterName(opts.name)), opts.tokenFile);
      emit(opts.json, env, () => exportsText(env));
    });
}
