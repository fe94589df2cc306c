import type { Command } from 'commander';
import { renderTable } from '@ippc/core';
import type { CliContext } from './cli.js';

/** `routes`: the routes each agent installs to the others' subnets. */
export function addRoutesCommand(root: Command, { emit, withClient }: CliContext): void {
  root
    .command('routes')
    .description('routes each agent installs to the other agents’ container subnets')
    .option('--agent <id>', 'only the routes this agent installs')
    .option('--json', 'print JSON')
    .action(
      withClient(async (client, opts: { agent?: string; json?: boolean }) => {
        const routes = await client.listRoutes(opts.agent);
        emit(opts.json, { routes }, () =>
          renderTable([['AGENT', 'DESTINATION', 'VIA', 'OWNER'], ...routes.map((r) => [r.agentId, r.destination, r.via, r.owner])]),
        );
      }),
    );
}
