import type { Command } from 'commander';
import { renderTable } from '@ippc/core';
import type { CliContext } from './cli.js';

/** `agents list|remove`: the agents the service knows, and deregistering one that is gone. */
export function addAgentsCommand(root: Command, { emit, withClient }: CliContext): void {
  const agents = root.command('agents').description('agents known to the service (list, remove)');
  agents
    .command('list', { isDefault: true })
    .description('list agents, their addresses, subnets and how far they have applied')
    .option('--json', 'print JSON')
    .action(
      withClient(async (client, opts: { json?: boolean }) => {
        const res = await client.listAgents();
        emit(opts.json, res, () =>
          renderTable([
            ['AGENT', 'NODE ADDRESSES', 'SUBNETS', 'CONNECTED', 'APPLIED', 'ERROR'],
            ...res.agents.map((a) => [
              a.id,
              a.nodeAddresses.join(','),
              a.subnets.join(','),
              a.connected ? 'yes' : 'no',
              `${a.appliedEpoch === res.epoch ? a.appliedRevision : 0}/${res.revision}`,
              a.lastError || '-',
            ]),
          ]),
        );
      }),
    );
  agents
    .command('remove <id>')
    .description('deregister an agent that is gone for good (its routes and members go; releases it held back are freed)')
    .option('--json', 'print JSON')
    .action(
      withClient(async (client, id: string, opts: { json?: boolean }) => {
        const res = await client.deregisterAgent(id);
        emit(opts.json, { removed: id, changed: res.changed, revision: res.revision }, () =>
          res.changed ? `removed agent ${id} at revision ${res.revision}` : `no agent ${id}`,
        );
      }),
    );
}
