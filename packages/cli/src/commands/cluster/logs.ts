import type { Command } from 'commander';
import { clusterName, type Testbed } from '../../context.js';
import { CliError } from '../../errors.js';
import { emit } from '../../output.js';

/** `ippc cluster logs`: the nodes' logs, or one node's. */
export function registerLogs(cluster: Command, testbed: Testbed): void {
  cluster
    .command('logs')
    .description('print the nodes’ logs (the daemons’ JSON lines)')
    .option('--name <name>', 'cluster name (default: IPPC_CLUSTER or ippc)')
    .option('--node <node>', 'only this node: master, services, agent-0, ... or the container name')
    .option('--tail <lines>', 'only the last lines of each log')
    .option('--json', 'print {logs: {node: text}}')
    .addHelpText('after', '\nExamples:\n  ippc cluster logs --node agent-0 --tail 50\n  ippc cluster logs --json')
    .action(async (opts: { name?: string; node?: string; tail?: string; json?: boolean }) => {
      const tail = opts.tail === undefined ? undefined : Number(opts.tail);
      if (tail !== undefined && (!Number.isInteger(tail) || tail < 1))
        throw new CliError('CLI_USAGE', `--tail '${opts.tail}' must be a whole number of lines, 1 or more`);
      const c = await testbed.attachCluster(clusterName(opts.name));
      const nodes = opts.node
        ? c.nodes.filter((n) => n.name === opts.node || n.name === `ippc-${c.name}-${opts.node}` || (n.role === opts.node && n.role !== 'agent'))
        : c.nodes;
      if (nodes.length === 0)
        throw new CliError(
          'CLI_USAGE',
          `--node '${opts.node}' matches no node of ${c.name}; nodes: ${c.nodes.map((n) => n.name.replace(`ippc-${c.name}-`, '')).join(', ')}`,
        );
      const logs: Record<string, string> = {};
      for (const n of nodes) logs[n.name] = await n.logs(tail ? { tail } : {}).catch((e: Error) => `(cannot read the log of ${n.name}: ${e.message})`);
      emit(opts.json, { logs }, () =>
        Object.entries(logs)
          .map(([n, text]) => `==> ${n} <==\n${text.trimEnd()}`)
          .join('\n\n'),
      );
    });
}
