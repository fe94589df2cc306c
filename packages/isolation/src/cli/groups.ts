import type { Command } from 'commander';
import { renderTable } from '@ippc/core';
import type { CliContext } from './cli.js';

/** `groups`: the groups with their members and the rules that name them. */
export function addGroupsCommand(root: Command, { emit, withClient }: CliContext): void {
  root
    .command('groups')
    .description('list groups with their members and the rules that name them')
    .option('--json', 'print JSON')
    .action(
      withClient(async (client, opts: { json?: boolean }) => {
        const groups = await client.listGroups();
        emit(opts.json, { groups }, () =>
          groups.length === 0
            ? 'no groups yet: containers join groups through NetworkInfo.groups'
            : renderTable([
                ['GROUP', 'MEMBERS', 'ADDRESSES', 'RULES'],
                ...groups.map((g) => [g.name, String(g.members.length), g.members.flatMap((m) => m.addresses).join(',') || '-', g.ruleIds.join(',') || '-']),
              ]),
        );
      }),
    );
}
