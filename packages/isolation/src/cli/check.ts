import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { runNetCheck, type Endpoint, type Prober } from '../check/check.js';
import { checkReportJson, formatCheckText } from '../check/format.js';
import { createNamespaceProber } from '../check/namespace-prober.js';
import { renderCheckSvg, type Topology } from '../check/svg.js';
import type { Rule } from '../model.js';
import type { CliContext, GlobalOptions } from './cli.js';

/** An endpoint of a `check --endpoints` file: an Endpoint plus the namespace it lives in. */
export type EndpointSpec = Endpoint & { netns: string };

/** `check --endpoints FILE`: the reachability check over namespaces on this machine, with the service's rules and topology. */
export function addNamespaceCheckCommand(root: Command, { out, connect }: CliContext): void {
  root.addCommand(
    createNetCheckCommand({
      out,
      extraOptions: (cmd) => cmd.requiredOption('--endpoints <file>', 'JSON list of endpoints: {id, kind, agentId, address, groups, port?, netns}'),
      async resolve(opts) {
        const specs = JSON.parse(await readFile(String(opts.endpoints), 'utf8')) as EndpointSpec[];
        const client = connect(opts as unknown as GlobalOptions);
        try {
          const [rulesNow, state, routes] = await Promise.all([client.listRules(), client.getState(), client.listRoutes()]);
          const dir = await mkdtemp(join(tmpdir(), 'iso-check-'));
          const prober = createNamespaceProber({ dir, namespaces: Object.fromEntries(specs.map((s) => [s.id, s.netns])) });
          const close = async () => {
            await prober.close();
            await rm(dir, { recursive: true, force: true });
          };
          const endpoints = specs.map(({ netns: _netns, ...e }) => ({ ...e, groups: e.groups ?? [] }));
          try {
            await prober.start(endpoints);
          } catch (err) {
            await close();
            throw err;
          }
          return { endpoints, rules: rulesNow, prober, topology: { agents: state.agents, routes }, close };
        } finally {
          client.close();
        }
      },
    }),
  );
}

/** What `check` needs from its environment (a cluster, or namespaces on this machine). */
export interface NetCheckTarget {
  endpoints: Endpoint[];
  rules: Rule[];
  prober: Prober;
  topology?: Topology;
  close?: () => Promise<void>;
}

export interface NetCheckCommandOptions {
  /** Finds the endpoints, the rules in force and a prober (called with the command's options). */
  resolve(opts: Record<string, unknown>): Promise<NetCheckTarget>;
  /** Adds options of the environment (say, --endpoints or --cluster). */
  extraOptions?: (cmd: Command) => Command;
  out?: (text: string) => void;
  /** Command name. Default `check`. */
  name?: string;
}

/**
 * The reachability check as a command, for `ippc net check` and `ippc-isolationctl check`: prints
 * expected / observed / difference tables (or `--json`), writes `--svg FILE`, and exits 1 unless
 * the result is PASS.
 */
export function createNetCheckCommand(options: NetCheckCommandOptions): Command {
  const out = options.out ?? ((text: string) => console.log(text));
  let cmd = new Command(options.name ?? 'check')
    .description('probe every pair of endpoints and compare with the policy (expected, observed, difference)')
    .option('--port <port>', 'port probed when an endpoint names none', '8080')
    .option('--timeout-ms <ms>', 'per probe', '1000')
    .option('--concurrency <n>', 'probes in flight', '16')
    .option('--svg <file>', 'also write an SVG picture of the matrix and the topology')
    .option('--json', 'print JSON');
  if (options.extraOptions) cmd = options.extraOptions(cmd);
  cmd.action(async (opts: Record<string, unknown>, self: Command) => {
    const all = { ...self.optsWithGlobals(), ...opts };
    const target = await options.resolve(all);
    try {
      const report = await runNetCheck({
        endpoints: target.endpoints,
        rules: target.rules,
        prober: target.prober,
        port: Number(all.port),
        timeoutMs: Number(all.timeoutMs),
        concurrency: Number(all.concurrency),
      });
      if (all.svg) await writeFile(String(all.svg), renderCheckSvg(report, target.topology));
      out(all.json ? JSON.stringify(checkReportJson(report), null, 2) : formatCheckText(report));
      if (report.status !== 'pass') process.exitCode = 1;
    } finally {
      await target.close?.();
    }
  });
  return cmd;
}
