import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Command } from 'commander';
import { createProgram } from './program.js';

function leaves(cmd: Command, path: string[] = []): { path: string; cmd: Command }[] {
  if (cmd.commands.length === 0) return [{ path: path.join(' '), cmd }];
  return cmd.commands.flatMap((c) => leaves(c, [...path, c.name()]));
}

describe('the ippc command tree', () => {
  const program = createProgram();
  const all = leaves(program);

  it('has every verb of the product contract', () => {
    const verbs = all.map((l) => l.path).filter((p) => !p.startsWith('isolation '));
    assert.deepEqual(verbs.sort(), [
      'cluster down',
      'cluster env',
      'cluster logs',
      'cluster status',
      'cluster up',
      'doctor',
      'net check',
      'showcase',
      'task group',
      'task kill',
      'task list',
      'task run',
    ]);
    // The isolation provider's operator verbs, aimed at the cluster (issue 7): groups, members, rules, routes.
    for (const v of ['isolation groups', 'isolation members', 'isolation rules add', 'isolation rules remove', 'isolation rules list', 'isolation routes'])
      assert.ok(
        all.some((l) => l.path === v),
        v,
      );
    const iso = program.commands.find((c) => c.name() === 'isolation')!;
    assert.deepEqual(
      iso.options.map((o) => o.long),
      ['--cluster'],
      'the service and token come from the cluster',
    );
  });

  it('every verb takes --json and has a description and help', () => {
    for (const { path, cmd } of all) {
      assert.ok(
        cmd.options.some((o) => o.long === '--json'),
        `${path} takes --json`,
      );
      assert.ok(cmd.description().length > 10, `${path} has a description`);
      assert.match(cmd.helpInformation(), /Usage: /, `${path} has help`);
    }
  });

  it('every verb but doctor (and the isolation group as a whole) shows examples in its help', () => {
    const withExamples = [
      ...all.filter((l) => l.path !== 'doctor' && !l.path.startsWith('isolation ')),
      { path: 'isolation', cmd: program.commands.find((c) => c.name() === 'isolation')! },
    ];
    for (const { path, cmd } of withExamples) {
      let text = '';
      cmd.configureOutput({ writeOut: (s) => (text += s) });
      cmd.outputHelp();
      assert.match(text, /Examples:\n  ippc /, `${path} --help shows examples`);
    }
  });
});
