#!/usr/bin/env -S node --import tsx
// ippc-agent: the agent process. Mesos-like flags (`--master=127.0.0.1:5050`,
// `--resources='cpus:2;mem:1024;ports:[31000-31099]'`, `--containerizers=mesos`); structured JSON logs
// on standard error. SIGTERM/SIGINT stop the agent and leave its tasks running (a restarted agent
// recovers them); SIGUSR1 kills its tasks first (Mesos: the agent shuts down for good).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { createLogger, type AuthConfig } from '@ippc/core';
import { parseDuration } from '@ippc/scheduler';
import { agentResources, parseAttributes } from '../flags.js';
import { buildContainerizers, loadModules } from '../modules.js';
import { startAgent } from '../server.js';

const LEVELS: Record<string, string> = { INFO: 'info', WARNING: 'warn', ERROR: 'error', DEBUG: 'debug' };
const list = (s: string | undefined) => (s ?? '').split(',').map((x) => x.trim()).filter(Boolean);

const program = new Command('ippc-agent')
  .description('The ippc agent: runs tasks through containerizers for the master, serves /state, /health, /metrics.')
  .version('0.1.0', '--version')
  .addOption(new Option('--master <host:port>', 'the master to register with').makeOptionMandatory())
  .addOption(new Option('--work_dir <dir>', 'checkpoints and sandboxes').makeOptionMandatory())
  .addOption(new Option('--runtime_dir <dir>', 'runtime checkpoints of containers (default: <work_dir>/run)'))
  .addOption(new Option('--ip <ip>', 'address the agent serves on and reports for tasks on its network').default('127.0.0.1'))
  .addOption(new Option('--ip6 <ip6>', 'IPv6 address also reported for tasks on the agent network'))
  .addOption(new Option('--port <port>', 'HTTP port of /state (0: any free port)').default('5051'))
  .addOption(new Option('--hostname <name>', 'hostname reported to the master (default: --ip)'))
  .addOption(new Option('--resources <spec>', "Mesos resources, e.g. 'cpus:2;mem:1024;ports:[31000-31099]' (default: this machine, ports 31000-32000)"))
  .addOption(new Option('--attributes <spec>', "e.g. 'rack:a;zone:b'"))
  .addOption(new Option('--containerizers <list>', 'containerizers, tried in order').default('mesos'))
  .addOption(new Option('--isolation <list>', 'isolators of the Mesos containerizer, e.g. network/cni (from --modules)').default(''))
  .addOption(new Option('--modules <files>', 'comma-separated module files exporting containerizers and/or isolators'))
  .addOption(new Option('--network_cni_plugins_dir <dirs>', 'for the network/cni isolator module'))
  .addOption(new Option('--network_cni_config_dir <dir>', 'for the network/cni isolator module'))
  .addOption(new Option('--network_cni_root_dir_persist', 'for the network/cni isolator module').default(false))
  .addOption(new Option('--network_cni_metrics <bool>', 'for the network/cni isolator module').default('true'))
  .addOption(new Option('--default_container_dns <json>', 'for the isolator and containerizer modules'))
  .addOption(new Option('--docker <path>', 'for the docker containerizer module').default('docker'))
  .addOption(new Option('--docker_socket <path>', 'for the docker containerizer module').default('/var/run/docker.sock'))
  .addOption(new Option('--executor_shutdown_grace_period <duration>', 'grace period of a kill when the task has no kill policy').default('5secs'))
  .addOption(new Option('--status_update_retry_interval <duration>', 'first retry interval of unacknowledged status updates').default('10secs'))
  .addOption(new Option('--registration_backoff_factor <duration>', 'first delay before re-registering').default('1secs'))
  .addOption(new Option('--recover <mode>', 'reconnect: recover running tasks; cleanup: kill them and start afresh').choices(['reconnect', 'cleanup']).default('reconnect'))
  .addOption(new Option('--token_file <path>', 'file holding the shared secret (else env IPPC_TOKEN)'))
  .addOption(new Option('--no_auth', 'talk to a master that runs without authentication (local play only)').default(false))
  .addOption(new Option('--logging_level <level>', 'INFO, WARNING, ERROR or DEBUG').default('INFO'))
  .showHelpAfterError();

program.parse();
const o = program.opts<Record<string, string | boolean | undefined>>();
const log = createLogger({ component: 'agent', level: LEVELS[String(o.logging_level).toUpperCase()] ?? 'info' });

function fail(message: string): never {
  log.error(message);
  process.stderr.write(`ippc-agent: ${message}\n`);
  process.exit(2);
}

function auth(): AuthConfig {
  if (o.no_auth === true) return { disabled: true };
  const token = o.token_file ? readFileSync(String(o.token_file), 'utf8').trim() : process.env.IPPC_TOKEN;
  if (!token) fail('no shared secret: pass --token_file=PATH or set IPPC_TOKEN (or --no_auth for local play)');
  return { token };
}

try {
  const port = Number(o.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port must be a port number, not '${o.port}'`);
  const workDir = String(o.work_dir);
  const runtimeDir = o.runtime_dir ? String(o.runtime_dir) : join(workDir, 'run');
  const ip = String(o.ip);
  const flags = Object.fromEntries(Object.entries(o).filter(([k, v]) => k !== 'token_file' && v !== undefined).map(([k, v]) => [k, String(v)]));
  const modules = await loadModules(list(o.modules as string | undefined));
  const containerizers = await buildContainerizers(list(String(o.containerizers)), list(String(o.isolation)), modules, {
    flags,
    workDir,
    runtimeDir,
    agentIp: ip,
    ...(o.ip6 ? { agentIp6: String(o.ip6) } : {}),
    hostname: String(o.hostname ?? ip),
    log,
  });
  // onFatal may fire before startAgent returns; it closes whatever has started by then.
  const running: { agent?: Awaited<ReturnType<typeof startAgent>> } = {};
  const started = await startAgent({
    master: String(o.master),
    auth: auth(),
    ip,
    ...(o.ip6 ? { ip6: String(o.ip6) } : {}),
    port,
    ...(o.hostname ? { hostname: String(o.hostname) } : {}),
    workDir,
    resources: agentResources(o.resources as string | undefined),
    attributes: parseAttributes(o.attributes as string | undefined),
    containerizers,
    defaultKillGracePeriodMs: parseDuration(String(o.executor_shutdown_grace_period)),
    statusUpdateRetryIntervalMs: parseDuration(String(o.status_update_retry_interval)),
    registrationBackoffMs: parseDuration(String(o.registration_backoff_factor)),
    recover: o.recover === 'cleanup' ? 'cleanup' : 'reconnect',
    flags,
    log,
    onFatal: (err) => {
      process.stderr.write(`ippc-agent: ${err.message}\n`);
      void (running.agent?.close() ?? Promise.resolve()).finally(() => process.exit(1));
    },
  });
  running.agent = started;
  log.info({ url: started.url, master: o.master, containerizers: containerizers.map((c) => c.name) }, 'agent ready');
  const stop = (signal: string, killTasks: boolean) => {
    log.info({ signal, killTasks }, 'stopping');
    started.close({ killTasks }).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM', false));
  process.once('SIGINT', () => stop('SIGINT', false));
  process.once('SIGUSR1', () => stop('SIGUSR1', true));
} catch (err) {
  fail(err instanceof Error ? err.message : String(err));
}
