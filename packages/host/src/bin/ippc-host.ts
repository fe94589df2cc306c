#!/usr/bin/env -S node --import tsx
// ippc-host: prepare this machine for ippc (bootstrap) or show what it would do (--dry-run).
import { Command } from 'commander';
import { Listr } from 'listr2';
import { bootstrap, planBootstrap, type Action, type Plan } from '../index.js';
import { IppcError } from '@ippc/core';

function describe(action: Action): string {
  switch (action.kind) {
    case 'install-packages':
      return `install ${action.packages.join(' ')}`;
    case 'start-dockerd':
      return 'start dockerd';
    case 'build-base-image':
      return `build base image ${action.ref} (debootstrap, about a minute)`;
    case 'build-node-image':
      return `build node image ${action.ref}`;
  }
}

function summary(plan: Plan) {
  return {
    os: plan.facts.os.prettyName,
    root: plan.facts.isRoot,
    aptMirror: plan.facts.aptMirror ?? null,
    cniPluginDir: plan.facts.cniPluginDir ?? null,
    findings: plan.findings,
    images: plan.images,
    actions: plan.actions.map(describe),
    blockers: plan.blockers,
  };
}

const program = new Command('ippc-host').description('Prepare this machine for ippc: packages, dockerd, and the offline-built images').showHelpAfterError();

program
  .command('bootstrap', { isDefault: true })
  .description('install what is missing, start dockerd, build the base and node images (idempotent)')
  .option('--dry-run', 'print the plan and change nothing')
  .option('--json', 'print a JSON report on standard output')
  .action(async (opts: { dryRun?: boolean; json?: boolean }) => {
    const started = Date.now();
    const plan = await planBootstrap();
    if (opts.dryRun) {
      if (opts.json) console.log(JSON.stringify(summary(plan), null, 2));
      else {
        for (const f of plan.findings) console.log(`${f.ok ? 'ok     ' : 'missing'} ${f.what}`);
        console.log(plan.actions.length ? `would: ${plan.actions.map(describe).join('; ')}` : 'nothing to do');
        for (const b of plan.blockers) console.log(`blocked: ${b}`);
      }
      return;
    }
    let finalPlan: Plan = plan;
    if (plan.actions.length > 0) {
      // One task whose title follows the current action; progress lines show beneath it.
      const tasks = new Listr(
        [
          {
            title: 'bootstrap',
            task: async (_ctx, task) => {
              finalPlan = await bootstrap({
                onAction: (a) => (task.title = describe(a)),
                onProgress: (l) => (task.output = l),
              });
              task.title = 'host ready';
            },
            rendererOptions: { outputBar: 1 },
          },
        ],
        { renderer: process.stderr.isTTY && !opts.json ? 'default' : 'simple', rendererOptions: {}, exitOnError: true },
      );
      await tasks.run();
    }
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    if (opts.json) console.log(JSON.stringify({ ...summary(finalPlan), readyAfterSeconds: Number(seconds) }, null, 2));
    else console.error(`host ready after ${seconds} s: ${finalPlan.images.node} (base ${finalPlan.images.base})`);
    if (finalPlan.actions.length > 0) {
      console.error(`still to do: ${finalPlan.actions.map(describe).join('; ')}`);
      process.exitCode = 1;
    }
  });

program
  .command('images')
  .description('print the image tags for this host (base and node) as JSON')
  .action(async () => {
    const plan = await planBootstrap();
    console.log(JSON.stringify(plan.images));
  });

program.parseAsync().catch((err: unknown) => {
  if (err instanceof IppcError) console.error(`ippc-host: ${err.code}: ${err.message}`);
  else console.error(`ippc-host: ${(err as Error).stack ?? err}`);
  process.exit(1);
});
