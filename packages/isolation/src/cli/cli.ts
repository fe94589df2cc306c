import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { isIppcError } from '@ippc/core';
import { authFrom } from '../bin/options.js';
import { runNetCheck, type Endpoint, type Prober } from '../check/check.js';
import { checkReportJson, formatCheckText, renderCheckSvg, type Topology } from '../check/format.js';
import { createNamespaceProber } from '../check/namespace-prober.js';
import { createIsolationClient, type IsolationClient } from '../client.js';
import { describeRule, type Member, type Rule, type RuleInput } from '../model.js';

// Operator verbs of the isolation provider as a commander program. `ippc-isolationctl` runs it
// alone; the `ippc` CLI mounts the same commands (createIsolationCommand, createNetCheckCommand).
// Every command takes --json.

export interface GlobalOptions {
  service: string;
  token?: string;
  auth?: boolean;
}

export interface IsolationCliOptions {
  /** Makes the client from the global options. Default: a gRPC client to `--service`. */
  connect?: (opts: GlobalOptions) => IsolationClient;
  /** Where results go. Default: standard output. */
  out?: (text: string) => void;
}

/** Renders rows as an aligned text table (first row = header). */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ')).join('\n');
}

function ports(rule: Rule): string {
  if (rule.protocol === 'any') return 'any';
  return `${rule.protocol}${rule.ports.length > 0 ? `/${rule.ports.map((p) => (p.first === p.last ? `${p.first}` : `${p.first}-${p.last}`)).join(',')}` : ''}`;
}

function memberRows(members: Member[]): string[][] {
  return [['AGENT', 'CONTAINER', 'IF', 'NETWORK', 'ADDRESSES', 'GROUPS'], ...members.map((m) => [m.agentId, m.containerId, m.ifName, m.network, m.addresses.join(','), m.groups.join(',') || '(none: not isolated)'])];
}

/** An endpoint of a `check --endpoints` file: an Endpoint plus the namespace it lives in. */
export type EndpointSpec = Endpoint & { netns: string };

/**
 * The `isolation` command: groups, members, rules, routes, agents, address check, and a `check`
 * over namespaces listed in a file.
 */
export function createIsolationCommand(options: IsolationCliOptions = {}): Command {
  const out = options.out ?? ((text: string) => console.log(text));
  const emit = (json: boolean | undefined, value: unknown, text: () => string) => out(json ? JSON.stringify(value, null, 2) : text());
  const connect = options.connect ?? ((g: GlobalOptions) => createIsolationClient({ address: g.service, auth: authFrom(g) }));
  const root = new Command('isolation')
    .description('the isolation provider: groups, members, rules, routes, reachability')
    .addOption(new Option('--service <address>', 'isolation service (host:port or unix:/path)').env('IPPC_ISOLATION_ADDRESS').default('localhost:7070'))
    .option('--token <token>', 'cluster token (default: IPPC_TOKEN)')
    .option('--no-auth', 'call without a token');

  /** Runs `fn` with a client made from the global options, and closes it. */
  const withClient =
    <A extends unknown[]>(fn: (client: IsolationClient, ...args: A) => Promise<void>) =>
    async (...args: A) => {
      const cmd = args[args.length - 1] as Command;
      const client = connect(cmd.optsWithGlobals<GlobalOptions>());
      try {
        await fn(client, ...args);
      } finally {
        client.close();
      }
    };

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
            : table([['GROUP', 'MEMBERS', 'ADDRESSES', 'RULES'], ...groups.map((g) => [g.name, String(g.members.length), g.members.flatMap((m) => m.addresses).join(',') || '-', g.ruleIds.join(',') || '-'])]),
        );
      }),
    );

  root
    .command('members')
    .description('list attached container interfaces')
    .option('--agent <id>', 'only this agent')
    .option('--group <name>', 'only this group')
    .option('--json', 'print JSON')
    .action(
      withClient(async (client, opts: { agent?: string; group?: string; json?: boolean }) => {
        const members = await client.listMembers({ agentId: opts.agent, group: opts.group });
        emit(opts.json, { members }, () => table(memberRows(members)));
      }),
    );

  const rules = root.command('rules').description('operator rules on top of the defaults (list, add, remove)');
  rules
    .command('list', { isDefault: true })
    .description('list the rules (precedence: deny, then defaults and allow)')
    .option('--json', 'print JSON')
    .action(
      withClient(async (client, opts: { json?: boolean }) => {
        const list = await client.listRules();
        emit(opts.json, { rules: list }, () =>
          table([['ID', 'ACTION', 'FROM', 'TO', 'TRAFFIC', 'DESCRIPTION'], ...list.map((r) => [r.id, r.action, r.from, r.to, ports(r), r.description])]),
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
      withClient(async (client, opts: { from: string; to: string; port?: string[]; protocol?: RuleInput['protocol']; deny?: boolean; id?: string; description?: string; wait?: string; json?: boolean }) => {
        const res = await client.addRule({ id: opts.id, action: opts.deny ? 'deny' : 'allow', from: opts.from, to: opts.to, protocol: opts.protocol, ports: opts.port, description: opts.description });
        const applied = opts.wait ? await client.awaitApplied(res.revision, Number(opts.wait)) : undefined;
        emit(opts.json, { rule: res.rule, revision: res.revision, changed: res.changed, applied }, () =>
          [`${res.changed ? 'added' : 'already present'}: ${res.rule.id} (${describeRule(res.rule)}) at revision ${res.revision}`, ...(applied ? [appliedText(applied)] : [])].join('\n'),
        );
        if (applied && !applied.allApplied) process.exitCode = 1;
      }),
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
        emit(opts.json, { removed: id, revision: res.revision, applied }, () => [`removed ${id} at revision ${res.revision}`, ...(applied ? [appliedText(applied)] : [])].join('\n'));
        if (applied && !applied.allApplied) process.exitCode = 1;
      }),
    );

  root
    .command('routes')
    .description('routes each agent installs to the other agents’ container subnets')
    .option('--agent <id>', 'only the routes this agent installs')
    .option('--json', 'print JSON')
    .action(
      withClient(async (client, opts: { agent?: string; json?: boolean }) => {
        const routes = await client.listRoutes(opts.agent);
        emit(opts.json, { routes }, () => table([['AGENT', 'DESTINATION', 'VIA', 'OWNER'], ...routes.map((r) => [r.agentId, r.destination, r.via, r.owner])]));
      }),
    );

  const agents = root.command('agents').description('agents known to the service (list, remove)');
  agents
    .command('list', { isDefault: true })
    .description('list agents, their addresses, subnets and how far they have applied')
    .option('--json', 'print JSON')
    .action(
      withClient(async (client, opts: { json?: boolean }) => {
        const res = await client.listAgents();
        emit(opts.json, res, () =>
          table([
            ['AGENT', 'NODE ADDRESSES', 'SUBNETS', 'CONNECTED', 'APPLIED', 'ERROR'],
            ...res.agents.map((a) => [a.id, a.nodeAddresses.join(','), a.subnets.join(','), a.connected ? 'yes' : 'no', `${a.appliedEpoch === res.epoch ? a.appliedRevision : 0}/${res.revision}`, a.lastError || '-']),
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
        emit(opts.json, { removed: id, changed: res.changed, revision: res.revision }, () => (res.changed ? `removed agent ${id} at revision ${res.revision}` : `no agent ${id}`));
      }),
    );

  root
    .command('address')
    .description('the IPAM seam: may these released addresses be handed out again?')
    .argument('<address...>')
    .option('--json', 'print JSON')
    .action(
      withClient(async (client, addresses: string[], opts: { json?: boolean }) => {
        const res = await client.checkAddresses(addresses);
        emit(opts.json, { addresses: res }, () =>
          table([
            ['ADDRESS', 'STATE', 'HELD BY / WAITING FOR'],
            ...res.map((a) => [a.address, a.state, a.state === 'in-use' ? a.holders.map((h) => `${h.agentId}/${h.containerId}/${h.ifName}`).join(',') : a.pendingAgents.join(',') || '-']),
          ]),
        );
      }),
    );

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
  return root;
}

function appliedText(r: { allApplied: boolean; agents: { agentId: string; applied: boolean; latencyMs: number }[] }): string {
  const per = r.agents.map((a) => `${a.agentId} ${a.applied ? `${a.latencyMs.toFixed(0)} ms` : 'not yet'}`).join(', ');
  return `${r.allApplied ? 'applied on every agent' : 'NOT applied on every agent in time'}: ${per || 'no agents'}`;
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

/** Prints an error the way every ippc command does: a code and a message (JSON with --json). */
export function printError(err: unknown, json: boolean): void {
  const body = isIppcError(err) ? err.toJSON() : { code: 'INTERNAL', message: (err as Error)?.message ?? String(err) };
  if (json) console.log(JSON.stringify({ error: body }, null, 2));
  else console.error(`ippc-isolationctl: ${body.code}: ${body.message}`);
}

