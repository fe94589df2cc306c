import { Option, type Command } from 'commander';
import { renderTable } from '@ippc/core';
import { describeRule, type Rule, type RuleInput } from '../model.js';
import type { CliContext } from './cli.js';

function ports(rule: Rule): string {
  if (rule.protocol === 'any') return 'any';
  return `${rule.protocol}${rule.ports.length > 0 ? `/${rule.ports.map((p) => (p.first === p.last ? `${p.first}` : `${p.first}-${p.last}`)).join(',')}` : ''}`;
}

function appliedText(r: { allApplied: boolean; agents: { agentId: string; applied: boolean; latencyMs: number }[] }): string {
  const per = r.agents.map((a) => `${a.agentId} ${a.applied ? `${a.latencyMs.toFixed(0)} ms` : 'not yet'}`).join(', ');
  return `${r.allApplied ? 'applied on every agent' : 'NOT applied on every agent in time'}: ${per || 'no agents'}`;
}

/** `rules list|add|remove`: the operator rules, optionally waiting until every agent applied a change. */
export function addRulesCommand(root: Command, { emit, withClient }: CliContext): void {
  const rules = root.command('rules').description('operator rules on top of the defaults (list, add, remove)');
  rules
    .command('list', { isDefault: true })
    .description('list the rules (precedence: deny, then defaults and allow)')
    .option('--json', 'print JSON')
    .action(
      withClient(async (client, opts: { json?: boolean }) => {
        const list = await client.listRules();
        emit(opts.json, { rules: list }, () =>
          renderTable([['ID', 'ACTION', 'FROM', 'TO', 'TRAFFIC', 'DESCRIPTION'], ...list.map((r) => [r.id, r.action, r.from, r.to, ports(r), r.description])]),
        );
      }),
    );
  rules
    .command('add')
    .description("allow (or --deny) traffic from group A to group B; '*' means any")
    .requiredOption('--from <group>', "source group, or '*'")
    .requiredOption('--to <group>', "destination group, or '*'")
    .option('--port <port>', 'a port or range, optionally with protocol: 80, 8000-8080, 53/udp (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .addOption(new Option('--protocol <protocol>', 'tcp, udp, sctp or any').choices(['tcp', 'udp', 'sctp', 'any']))
    .option('--deny', 'a deny rule (beats the defaults and allow rules)')
    .option('--id <id>', 'a rule id of your own (default: derived from the content)')
    .option('--description <text>', 'why the rule exists')
    .option('--wait <ms>', 'wait until every agent applied it (prints how long each took)')
    .option('--json', 'print JSON')
    .action(
      withClient(
        async (
          client,
          opts: {
            from: string;
            to: string;
            port?: string[];
            protocol?: RuleInput['protocol'];
            deny?: boolean;
            id?: string;
            description?: string;
            wait?: string;
            json?: boolean;
          },
        ) => {
          const res = await client.addRule({
            id: opts.id,
            action: opts.deny ? 'deny' : 'allow',
            from: opts.from,
            to: opts.to,
            protocol: opts.protocol,
            ports: opts.port,
            description: opts.description,
          });
          const applied = opts.wait ? await client.awaitApplied(res.revision, Number(opts.wait)) : undefined;
          emit(opts.json, { rule: res.rule, revision: res.revision, changed: res.changed, applied }, () =>
            [
              `${res.changed ? 'added' : 'already present'}: ${res.rule.id} (${describeRule(res.rule)}) at revision ${res.revision}`,
              ...(applied ? [appliedText(applied)] : []),
            ].join('\n'),
          );
          if (applied && !applied.allApplied) process.exitCode = 1;
        },
      ),
    );
  rules
    .command('remove <id>')
    .description('remove a rule by id')
    .option('--wait <ms>', 'wait until every agent applied the removal')
    .option('--json', 'print JSON')
    .action(
      withClient(async (client, id: string, opts: { wait?: string; json?: boolean }) => {
        const res = await client.removeRule(id);
        const applied = opts.wait ? await client.awaitApplied(res.revision, Number(opts.wait)) : undefined;
        emit(opts.json, { removed: id, revision: res.revision, applied }, () =>
          [`removed ${id} at revision ${res.revision}`, ...(applied ? [appliedText(applied)] : [])].join('\n'),
        );
        if (applied && !applied.allApplied) process.exitCode = 1;
      }),
    );
}
