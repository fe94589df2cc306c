import type { Command } from 'commander';
import { renderTable } from '@ippc/core';
import type { CliContext } from './cli.js';

/** `address`: the IPAM seam, whether released addresses may be handed out again. */
export function addAddressCommand(root: Command, { emit, withClient }: CliContext): void {
  root
    .command('address')
    .description('the IPAM seam: may these released addresses be handed out again?')
    .argument('<address...>')
    .option('--json', 'print JSON')
    .action(
      withClient(async (client, addresses: string[], opts: { json?: boolean }) => {
        const res = await client.checkAddresses(addresses);
        emit(opts.json, { addresses: res }, () =>
          renderTable([
            ['ADDRESS', 'STATE', 'HELD BY / WAITING FOR'],
            ...res.map((a) => [
              a.address,
              a.state,
              a.state === 'in-use' ? a.holders.map((h) => `${h.agentId}/${h.containerId}/${h.ifName}`).join(',') : a.pendingAgents.join(',') || '-',
            ]),
          ]),
        );
      }),
    );
}
