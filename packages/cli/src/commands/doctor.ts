import type { Command } from 'commander';
import { renderTable } from '@ippc/core';
import { diagnose, type Check } from '@ippc/host';
import { emit } from '../output.js';

const MARK: Record<Check['status'], string> = { ok: 'ok', missing: 'MISSING', fail: 'FAIL', warn: 'warn' };

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('check what this host lacks for ippc and how to fix it (changes nothing)')
    .option('--json', 'print the checks as JSON')
    .action(async (opts: { json?: boolean }) => {
      const d = await diagnose();
      emit(opts.json, { ready: d.ready, checks: d.checks }, () => {
        const rows = [['STATUS', 'CHECK', 'DETAIL / FIX']];
        for (const c of d.checks) rows.push([MARK[c.status], c.what, [c.detail, c.status === 'ok' ? undefined : c.fix].filter(Boolean).join(' — ')]);
        return `${renderTable(rows)}\n\n${d.ready ? 'ready: this host can run an ippc cluster' : 'not ready: fix the lines above (scripts/setup fixes every MISSING one)'}`;
      });
      if (!d.ready) process.exitCode = 1;
    });
}
