import type { Command } from 'commander';
import { clusterName, type Testbed } from '../../context.js';
import { emit } from '../../output.js';

/** `ippc cluster down`: removes everything labelled with the cluster. */
export function registerDown(cluster: Command, testbed: Testbed): void {
  cluster
    .command('down')
    .description('remove a cluster: every container, network and volume labelled with it (tasks included)')
    .option('--name <name>', 'cluster name (default: IPPC_CLUSTER or ippc)')
    .option('--json', 'print what was removed as JSON')
    .addHelpText('after', '\nExamples:\n  ippc cluster down\n  ippc cluster down --name dev --json')
    .action(async (opts: { name?: string; json?: boolean }) => {
      const name = clusterName(opts.name);
      const report = await testbed.removeCluster(name);
      emit(opts.json, { name, ...report }, () =>
        report.containers + report.networks + report.volumes === 0 && report.errors.length === 0
          ? `no cluster named ${name}: nothing to remove`
          : `cluster ${name} removed: ${report.containers} containers, ${report.networks} networks, ${report.volumes} volumes${report.errors.length ? `\nerrors (run it again to finish):\n- ${report.errors.join('\n- ')}` : ''}`,
      );
      if (report.errors.length > 0) process.exitCode = 1;
    });
}
