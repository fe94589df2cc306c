#!/usr/bin/env -S node --import tsx
// ippc-master: the master process. Mesos-like flags (`--port=5050`, `--agent_ping_timeout=15secs`);
// structured JSON logs on standard error.
import { readFileSync } from 'node:fs';
import { Option } from 'commander';
import {
  checkedOption,
  createDaemonCommand,
  createLogger,
  daemonAuth,
  exitBadFlag,
  loggerLevel,
  loggingLevelOption,
  messageOf,
  noAuthOption,
  tokenFileOption,
} from '@ippc/core';
import { parseCredentials, parseDuration } from '@ippc/mesos';
import { startMaster } from '../server.js';
import { IPPC_VERSION } from '../http/state.js';

const program = createDaemonCommand(
  'ippc-master',
  'The ippc master: framework API and agents channel (gRPC) and /master/state, /health, /metrics (HTTP), all on one port.',
  { version: IPPC_VERSION },
)
  .addOption(new Option('--ip <ip>', 'address to listen on').default('127.0.0.1'))
  .addOption(new Option('--port <port>', 'port to listen on (0: any free port)').default('5050'))
  .addOption(new Option('--advertise_ip <ip>', 'address to advertise in pids and state (default: --ip)'))
  .addOption(new Option('--hostname <name>', 'hostname to advertise (default: the advertised ip)'))
  .addOption(tokenFileOption('file holding the shared secret agents and frameworks must present (else env IPPC_TOKEN)'))
  .addOption(noAuthOption())
  .addOption(
    new Option('--credentials <path>', "principals and secrets for HTTP Basic on the HTTP APIs: Mesos's JSON or 'principal secret' lines (file:// accepted)"),
  )
  .addOption(new Option('--authenticate_http_readonly', 'require credentials on /master/state, /master/tasks and the other read-only endpoints').default(false))
  .addOption(
    checkedOption('--agent_ping_timeout <duration>', 'with --max_agent_ping_timeouts: how long a disconnected agent may stay away', parseDuration).default(
      '15secs',
    ),
  )
  .addOption(new Option('--max_agent_ping_timeouts <n>', 'see --agent_ping_timeout').default('5'))
  .addOption(checkedOption('--allocation_interval <duration>', 'period of the allocator', parseDuration).default('1secs'))
  .addOption(checkedOption('--offer_timeout <duration>', 'rescind offers not used within this time (default: never)', parseDuration))
  .addOption(checkedOption('--framework_heartbeat_interval <duration>', 'period of HEARTBEAT events', parseDuration).default('15secs'))
  .addOption(new Option('--max_completed_frameworks <n>', 'completed frameworks kept in state').default('50'))
  .addOption(new Option('--max_completed_tasks_per_framework <n>', 'completed tasks kept per framework').default('1000'))
  .addOption(loggingLevelOption());

program.parse();
const o = program.opts<Record<string, string | boolean | undefined>>();
const log = createLogger({ component: 'master', level: loggerLevel(String(o.logging_level)) });

/** `--credentials`: the file (a `file://` URL too, as Mesos takes it) parsed, or a bad flag. */
function readCredentials(path: string) {
  const file = path.startsWith('file://') ? path.slice('file://'.length) : path;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return fail(`cannot read --credentials ${file}: ${messageOf(err)}`);
  }
  try {
    return parseCredentials(text);
  } catch (err) {
    return fail(`--credentials ${file}: ${messageOf(err)}`);
  }
}

/** A flag it cannot use, or a failure to start: logged, `ippc-master: <message>` on standard error, exit status 2. */
function fail(message: string): never {
  log.error(message);
  exitBadFlag(program, message);
}

try {
  const port = Number(o.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port must be a port number, not '${o.port}'`);
  const flags = Object.fromEntries(
    Object.entries(o)
      .filter(([k]) => k !== 'token_file')
      .map(([k, v]) => [k, String(v)]),
  );
  const started = await startMaster({
    ip: String(o.ip),
    port,
    ...(o.advertise_ip ? { advertiseIp: String(o.advertise_ip) } : {}),
    ...(o.hostname ? { hostname: String(o.hostname) } : {}),
    auth: daemonAuth(o),
    ...(o.credentials ? { credentials: readCredentials(String(o.credentials)) } : {}),
    authenticateHttpReadonly: o.authenticate_http_readonly === true,
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
