#!/usr/bin/env -S node --import tsx
// ippc-master: the master process. Mesos-like flags (`--port=5050`, `--agent_ping_timeout=15secs`);
// structured JSON logs on standard error.
import { Command, Option } from 'commander';
import { authFromFlags, createLogger, messageOf, type AuthConfig } from '@ippc/core';
import { parseDuration } from '@ippc/mesos';
import { startMaster } from '../server.js';
import { IPPC_VERSION } from '../http/state.js';

const LEVELS: Record<string, string> = { INFO: 'info', WARNING: 'warn', ERROR: 'error', DEBUG: 'debug' };

const program = new Command('ippc-master')
  .description('The ippc master: framework API and agents channel (gRPC) and /master/state, /health, /metrics (HTTP), all on one port.')
  .version(IPPC_VERSION, '--version')
  .addOption(new Option('--ip <ip>', 'address to listen on').default('127.0.0.1'))
  .addOption(new Option('--port <port>', 'port to listen on (0: any free port)').default('5050'))
  .addOption(new Option('--advertise_ip <ip>', 'address to advertise in pids and state (default: --ip)'))
  .addOption(new Option('--hostname <name>', 'hostname to advertise (default: the advertised ip)'))
  .addOption(new Option('--token_file <path>', 'file holding the shared secret agents and frameworks must present (else env IPPC_TOKEN)'))
  .addOption(new Option('--no_auth', 'disable authentication (local play only)').default(false))
  .addOption(new Option('--agent_ping_timeout <duration>', 'with --max_agent_ping_timeouts: how long a disconnected agent may stay away').default('15secs'))
  .addOption(new Option('--max_agent_ping_timeouts <n>', 'see --agent_ping_timeout').default('5'))
  .addOption(new Option('--allocation_interval <duration>', 'period of the allocator').default('1secs'))
  .addOption(new Option('--offer_timeout <duration>', 'rescind offers not used within this time (default: never)'))
  .addOption(new Option('--framework_heartbeat_interval <duration>', 'period of HEARTBEAT events').default('15secs'))
  .addOption(new Option('--max_completed_frameworks <n>', 'completed frameworks kept in state').default('50'))
  .addOption(new Option('--max_completed_tasks_per_framework <n>', 'completed tasks kept per framework').default('1000'))
  .addOption(new Option('--logging_level <level>', 'INFO, WARNING, ERROR or DEBUG').default('INFO'))
  .showHelpAfterError();

program.parse();
const o = program.opts<Record<string, string | boolean | undefined>>();
const log = createLogger({ component: 'master', level: LEVELS[String(o.logging_level).toUpperCase()] ?? 'info' });

function fail(message: string): never {
  log.error(message);
  process.stderr.write(`ippc-master: ${message}\n`);
  process.exit(2);
}

function auth(): AuthConfig {
  const config = authFromFlags({ ...(o.token_file ? { tokenFile: String(o.token_file) } : {}), noAuth: o.no_auth === true });
  if (!config) fail('no shared secret: pass --token_file=PATH or set IPPC_TOKEN (or --no_auth for local play)');
  return config;
}

try {
  const port = Number(o.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port must be a port number, not '${o.port}'`);
  const flags = Object.fromEntries(Object.entries(o).filter(([k]) => k !== 'token_file').map(([k, v]) => [k, String(v)]));
  const started = await startMaster({
    ip: String(o.ip),
    port,
    ...(o.advertise_ip ? { advertiseIp: String(o.advertise_ip) } : {}),
    ...(o.hostname ? { hostname: String(o.hostname) } : {}),
    auth: auth(),
    agentReregisterTimeoutMs: parseDuration(String(o.agent_ping_timeout)) * Number(o.max_agent_ping_timeouts),
    allocationIntervalMs: parseDuration(String(o.allocation_interval)),
    ...(o.offer_timeout ? { offerTimeoutMs: parseDuration(String(o.offer_timeout)) } : {}),
    heartbeatIntervalSeconds: parseDuration(String(o.framework_heartbeat_interval)) / 1000,
    maxCompletedFrameworks: Number(o.max_completed_frameworks),
    maxCompletedTasksPerFramework: Number(o.max_completed_tasks_per_framework),
    flags,
    log,
  });
  log.info({ address: started.address, url: started.url, id: started.master.id }, 'master ready');
  const stop = (signal: string) => {
    log.info({ signal }, 'stopping');
    started.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
} catch (err) {
  fail(messageOf(err));
}
