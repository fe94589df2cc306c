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
    assert.deepEqual(all.map((l) => l.path).sort(), ['cluster down', 'cluster logs', 'cluster status', 'cluster up', 'doctor', 'net check', 'showcase', 'task kill', 'task list', 'task run']);
  });

  it('every verb takes --json and has a description and help', () => {
    for (const { path, cmd } of all) {
      assert.ok(cmd.options.some((o) => o.long === '--json'), `${path} takes --json`);
      assert.ok(cmd.description().length > 10, `${path} has a description`);
      assert.match(cmd.helpInformation(), /Usage: /, `${path} has help`);
    }
  });

  it('every verb but doctor shows examples in its help', () => {
    for (const { path, cmd } of all.filter((l) => l.path !== 'doctor')) {
      let text = '';
      cmd.configureOutput({ writeOut: (s) => (text += s) });
      cmd.outputHelp();
      assert.match(text, /Examples:\n  ippc /, `${path} --help shows examples`);
    }
  });
});
