import { Command, Option } from 'commander';
import { isIppcError, type AuthConfig } from '@ippc/core';
import { createIsolationClient, type IsolationClient } from '../client.js';
import { IsolationError } from '../errors.js';
import { addAddressCommand } from './address.js';
import { addAgentsCommand } from './agents.js';
import { addNamespaceCheckCommand } from './check.js';
import { addGroupsCommand } from './groups.js';
import { addMembersCommand } from './members.js';
import { addRoutesCommand } from './routes.js';
import { addRulesCommand } from './rules.js';

// Operator verbs of the isolation provider as a commander program. `ippc-isolationctl` runs it
// alone; the `ippc` CLI mounts the same commands (createIsolationCommand, createNetCheckCommand).
// Every command takes --json. One file per command: groups.ts, members.ts, rules.ts, routes.ts,
// agents.ts, address.ts, check.ts.

export interface GlobalOptions {
  service: string;
  token?: string;
  auth?: boolean;
}

/**
 * The CLI's credentials: `--token`, else IPPC_TOKEN; `--no-auth` disables auth explicitly (local
 * play only). A command line tool, it keeps its kebab-case flags (the daemons take `--token_file`).
 */
function authFrom(opts: { token?: string; auth?: boolean }): AuthConfig {
  if (opts.auth === false) return { disabled: true };
  const token = opts.token ?? process.env.IPPC_TOKEN;
  if (!token) throw new IsolationError('ISOLATION_BAD_REQUEST', 'no cluster token: pass --token, set IPPC_TOKEN, or --no-auth to run without authentication');
  return { token };
}

export interface IsolationCliOptions {
  /** Makes the client from the global options. Default: a gRPC client to `--service`. */
  connect?: (opts: GlobalOptions) => IsolationClient;
  /** Where results go. Default: standard output. */
  out?: (text: string) => void;
}

/** What every command of the program shares. */
export interface CliContext {
  /** Where results go. */
  out(text: string): void;
  /** Prints `value` as JSON with --json, else the text. */
  emit(json: boolean | undefined, value: unknown, text: () => string): void;
  /** Makes the client from the global options. */
  connect(opts: GlobalOptions): IsolationClient;
  /** Runs `fn` with a client made from the global options, and closes it. */
  withClient<A extends unknown[]>(fn: (client: IsolationClient, ...args: A) => Promise<void>): (...args: A) => Promise<void>;
}

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

  const ctx: CliContext = { out, emit, connect, withClient };
  addGroupsCommand(root, ctx);
  addMembersCommand(root, ctx);
  addRulesCommand(root, ctx);
  addRoutesCommand(root, ctx);
  addAgentsCommand(root, ctx);
  addAddressCommand(root, ctx);
  addNamespaceCheckCommand(root, ctx);
  return root;
}

/** Prints an error the way every ippc command does: a code and a message (JSON with --json). */
export function printError(err: unknown, json: boolean): void {
  const body = isIppcError(err) ? err.toJSON() : { code: 'INTERNAL', message: (err as Error)?.message ?? String(err) };
  if (json) console.log(JSON.stringify({ error: body }, null, 2));
  else console.error(`ippc-isolationctl: ${body.code}: ${body.message}`);
}
