import type { Command } from 'commander';
import { renderTable } from '@ippc/core';
import type { Member } from '../model.js';
import type { CliContext } from './cli.js';

function memberRows(members: Member[]): string[][] {
  return [
    ['AGENT', 'CONTAINER', 'IF', 'NETWORK', 'ADDRESSES', 'GROUPS'],
    ...members.map((m) => [m.agentId, m.containerId, m.ifName, m.network, m.addresses.join(','), m.groups.join(',') || '(none: not isolated)']),
  ];
}

/** `members`: the attached container interfaces, by agent or group. */
export function addMembersCommand(root: Command, { emit, withClient }: CliContext): void {
  root
    .command('members')
    .description('list attached container interfaces')
    .option('--agent <id>', 'only this agent')
    .option('--group <name>', 'only this group')
    .option('--json', 'print JSON')
    .action(
      withClient(async (client, opts: { agent?: string; group?: string; json?: boolean }) => {
        const members = await client.listMembers({ agentId: opts.agent, group: opts.group });
        emit(opts.json, { members }, () => renderTable(memberRows(members)));
      }),
    );
}
