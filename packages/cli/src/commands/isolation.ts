import type { Command, Option } from 'commander';
import { createIsolationClient, createIsolationCommand, type IsolationClient } from '@ippc/isolation';
import { clusterName, realTestbed, type Testbed } from '../context.js';
import { CliError } from '../errors.js';

// `ippc isolation ...`: the isolation provider's operator verbs (groups, members, rules, routes,
// agents, address), from @ippc/isolation, aimed at a cluster's isolation service with its token.

/**
 * An IsolationClient whose calls wait for `connect()` (the isolation package's commands make their
 * client synchronously; finding the cluster is asynchronous). Only promise-returning calls are
 * forwarded; `watch` is not offered here.
 */
export function deferredClient(connect: () => Promise<IsolationClient>): IsolationClient {
  let real: Promise<IsolationClient> | undefined;
  const get = () => (real ??= connect());
  return new Proxy({} as IsolationClient, {
    get(_target, prop: string) {
      if (prop === 'close') return () => void real?.then((c) => c.close()).catch(() => undefined);
      if (prop === 'watch')
        return () => {
          throw new CliError('CLI_USAGE', 'watch is not available through ippc isolation');
        };
      if (prop === 'then') return undefined;
      return (...args: unknown[]) => get().then((c) => (c[prop as keyof IsolationClient] as (...a: unknown[]) => Promise<unknown>)(...args));
    },
  });
}

export function registerIsolation(program: Command, deps: { testbed?: Testbed } = {}): void {
  const testbed = deps.testbed ?? realTestbed;
  const cmd = createIsolationCommand({
    connect: (g) =>
      deferredClient(async () => {
        const cluster = await testbed.attachCluster(clusterName((g as { cluster?: string }).cluster));
        return createIsolationClient({ address: cluster.isolation.grpcAddress, auth: cluster.auth });
      }),
  });
  // The service and token come from the cluster, not from flags.
  for (const long of ['--service', '--token', '--no-auth']) {
    const i = cmd.options.findIndex((o) => o.long === long);
    if (i >= 0) (cmd.options as Option[]).splice(i, 1);
  }
  cmd
    .description('the isolation provider of a cluster: groups, members, operator rules, routes between agents')
    .option('--cluster <name>', 'cluster name (default: IPPC_CLUSTER or ippc)')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  ippc isolation groups',
        '  ippc isolation members --group web --json',
        '  ippc isolation rules add --from web --to db --port 80 --wait 5000',
        '  ippc isolation rules remove <id>',
        '  ippc isolation routes',
      ].join('\n'),
    );
  program.addCommand(cmd);
}
