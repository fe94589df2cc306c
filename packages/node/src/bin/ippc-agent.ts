#!/usr/bin/env -S node --import tsx
// ippc-agent: the agent process, a complete ippc node. Mesos-like flags (`--master=127.0.0.1:5050`,
// `--resources='cpus:2;mem:1024;ports:[31000-31099]'`, `--containerizers=docker,mesos`,
// `--isolation=network/cni`, `--network_cni_*`), plus ippc's for the node daemons it can run in its
// own process (IPAM node daemon, isolation node daemon) and for installing the default networks and
// ippc's CNI plugins. Structured JSON logs on standard error. SIGTERM/SIGINT stop the agent and
// leave its tasks running (a restarted agent recovers them); SIGUSR1 kills its tasks first (Mesos:
// the agent shuts down for good).
import { join } from 'node:path';
import { InvalidArgumentError, Option } from 'commander';
import {
  checkedOption,
  createDaemonCommand,
  createLogger,
  createMetricsRegistry,
  daemonAuth,
  exitBadFlag,
  loggerLevel,
  loggingLevelOption,
  messageOf,
  noAuthOption,
  tokenFileOption,
  type AuthConfig,
} from '@ippc/core';
import { parseDuration } from '@ippc/mesos';
import { parseNetworkSubnets, type DefaultNetworkName } from '../cni-networks.js';
import { flagBool, parseDefaultContainerDns } from '../cni-options.js';
import { agentResources, parseAttributes, readHttpCredentials } from '../agent-flags.js';
import { buildContainerizers, loadModules, resolveIsolation } from '../modules.js';
import { startNodeServices, type NodeServices, type NodeServicesOptions } from '../node-services.js';
import { startAgent } from '@ippc/agent';

const list = (s: string | undefined) =>
  (s ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
const DEFAULT_PLUGIN_DIRS = '/usr/lib/cni:/opt/cni/bin';

/** A Mesos-style boolean flag: `--name`, `--name=true`, `--name=false`; any other value is a bad flag. */
const bool = (flags: string, description: string, fallback: boolean) =>
  new Option(`${flags} [bool]`, description)
    .default(String(fallback))
    .preset('true')
    .argParser((v: string) => {
      try {
        return String(flagBool(v, fallback));
      } catch (err) {
        throw new InvalidArgumentError((err as Error).message);
      }
    });

const program = createDaemonCommand(
  'ippc-agent',
  'The ippc agent: runs tasks through containerizers for the master, serves /state, /health, /metrics; optionally runs the node daemons of ippc.',
  { version: '0.1.0' },
)
  .addOption(new Option('--master <host:port>', 'the master to register with').makeOptionMandatory())
  .addOption(new Option('--work_dir <dir>', 'checkpoints and sandboxes').makeOptionMandatory())
  .addOption(new Option('--runtime_dir <dir>', 'runtime checkpoints of containers (default: <work_dir>/run)'))
  .addOption(new Option('--ip <ip>', 'address the agent serves on and (without --advertise_ip) reports for tasks on its network').default('127.0.0.1'))
  .addOption(
    new Option(
      '--advertise_ip <ip>',
      "Mesos's: the address advertised to the master and reported for tasks on the agent's network, when --ip is only where the agent listens (e.g. 0.0.0.0: executors in Docker containers reach it on every network its container is on)",
    ),
  )
  .addOption(new Option('--ip6 <ip6>', 'IPv6 address also reported for tasks on the agent network'))
  .addOption(new Option('--port <port>', 'HTTP port of /state (0: any free port)').default('5051'))
  .addOption(new Option('--hostname <name>', 'hostname reported to the master (default: --ip)'))
  .addOption(new Option('--resources <spec>', "Mesos resources, e.g. 'cpus:2;mem:1024;ports:[31000-31099]' (default: this machine, ports 31000-32000)"))
  .addOption(new Option('--attributes <spec>', "e.g. 'rack:a;zone:b'"))
  .addOption(new Option('--containerizers <list>', 'containerizers, tried in order: mesos, docker, or from --modules').default('mesos'))
  .addOption(new Option('--isolation <list>', 'isolators of the Mesos containerizer (network/cni is added when no network/* isolator is named)').default(''))
  .addOption(new Option('--modules <files>', 'comma-separated module files exporting containerizers and/or isolators'))
  // network/cni (Mesos's flags)
  .addOption(new Option('--network_cni_config_dir <dir>', 'CNI network configuration files (found by their "name")'))
  .addOption(new Option('--network_cni_plugins_dir <dirs>', `CNI plugin search path, ':'-separated (e.g. ${DEFAULT_PLUGIN_DIRS})`))
  .addOption(bool('--network_cni_root_dir_persist', 'keep CNI checkpoints under --work_dir instead of --runtime_dir (DEL after a reboot)', false))
  .addOption(bool('--network_cni_metrics', 'per-container network counters on /metrics, /state and /monitor/statistics', true))
  .addOption(
    checkedOption(
      '--network_cni_plugin_timeout <duration>',
      'kill a CNI plugin run that takes longer (the launch fails; ippc, not Mesos)',
      parseDuration,
    ).default('120secs'),
  )
  .addOption(new Option('--default_container_dns <json>', 'Mesos ContainerDNSInfo JSON (or file:///path): DNS for CNI networks whose plugins return none'))
  // docker
  .addOption(new Option('--docker <path>', 'accepted for Mesos compatibility; ippc drives the daemon through its API (--docker_socket)').default('docker'))
  .addOption(new Option('--docker_socket <path>', "the Docker daemon's socket").default('/var/run/docker.sock'))
  .addOption(
    new Option('--docker_host_network <mode>', "what HOST means: 'host', or 'container:<id>' when the agent itself runs in that container").default('host'),
  )
  .addOption(
    new Option(
      '--docker_host_ports_via <address>',
      "the agent is a container and the daemon publishes host ports on its own host, reached from here at this IPv4 address (the gateway): forward the agent's addresses and localhost there",
    ),
  )
  .addOption(new Option('--docker_work_dir_host_path <dir>', "the daemon-side path of --work_dir (an agent in a container), or 'none' to mount no sandbox"))
  .addOption(
    new Option(
      '--docker_scope <name>',
      "tells this agent's containers apart on a shared daemon; its orphans are reaped (default: --hostname if given, else the machine's host name)",
    ),
  )
  .addOption(new Option('--docker_labels <list>', "extra labels on every container, 'k1=v1;k2=v2'"))
  .addOption(bool('--docker_kill_orphans', 'remove containers of this scope the agent does not know, at start', true))
  .addOption(bool('--docker_pull_images', 'pull images missing on the daemon (ippc builds its images offline)', false))
  .addOption(new Option('--sandbox_directory <dir>', 'where the sandbox appears inside Docker containers').default('/mnt/mesos/sandbox'))
  .addOption(bool('--cgroups_enable_cfs', 'cap Docker tasks at their cpus (CFS quota)', false))
  // node daemons and installation (ippc)
  .addOption(
    new Option(
      '--install_cni_plugins <dir>',
      'install ippc-ipam (and ippc-isolation with --isolation_service) into this folder at start; put first in the search path',
    ),
  )
  .addOption(
    new Option(
      '--install_cni_networks <spec>',
      "write the default networks with this agent's subnets into --network_cni_config_dir, e.g. 'ippc-bridge=10.236.1.0/24,fd10:236:1::/64;ippc-ptp=10.236.2.0/24;ippc-local=10.236.3.0/24'",
    ),
  )
  .addOption(new Option('--cni_bridge_name <name>', 'Linux bridge of ippc-bridge').default('ippc0'))
  .addOption(new Option('--cni_local_bridge_name <name>', 'Linux bridge of ippc-local').default('ippc1'))
  .addOption(new Option('--cni_local_data_dir <dir>', "host-local's store for ippc-local (default: <work_dir>/cni/networks)"))
  .addOption(new Option('--ipam_service <host:port>', 'run the IPAM node daemon in this process, talking to this IPAM service'))
  .addOption(new Option('--ipam_socket <path>', 'unix socket of the IPAM node daemon (ipam.daemonSocket)').default('/run/ippc/ipam.sock'))
  .addOption(new Option('--ipam_node <name>', 'this node on IPAM leases (default: --hostname)'))
  .addOption(new Option('--isolation_service <host:port>', 'run the isolation node daemon (enforcer) in this process, talking to this isolation service'))
  .addOption(new Option('--isolation_socket <path>', 'unix socket of the ippc-isolation plugin').default('/run/ippc/isolation.sock'))
  .addOption(new Option('--isolation_agent_id <id>', 'this agent at the isolation service (default: --hostname)'))
  .addOption(new Option('--isolation_node_address <list>', "this agent's address(es) other agents route its subnets to (default: --ip and --ip6)"))
  .addOption(new Option('--isolation_subnets <list>', "this agent's container subnets (default: the subnets of --install_cni_networks)"))
  .addOption(new Option('--isolation_table <name>', 'nftables table (family inet) of the enforcer').default('ippc_isolation'))
  .addOption(bool('--isolation_routes', "install routes to other agents' subnets", true))
  .addOption(new Option('--isolation_data_dir <dir>', "the enforcer's checkpoint (default: <work_dir>/isolation)"))
  // control plane
  .addOption(
    checkedOption('--executor_shutdown_grace_period <duration>', 'grace period of a kill when the task has no kill policy', parseDuration).default('5secs'),
  )
  .addOption(
    checkedOption(
      '--executor_registration_timeout <duration>',
      'how long a custom executor has to subscribe once its container started; then it is destroyed and its tasks fail',
      parseDuration,
    ).default('1mins'),
  )
  .addOption(
    checkedOption(
      '--executor_reregistration_timeout <duration>',
      'how long a recovered custom executor has to subscribe again after an agent restart; then it is destroyed and its tasks end',
      parseDuration,
    ).default('2secs'),
  )
  .addOption(
    checkedOption('--status_update_retry_interval <duration>', 'first retry interval of unacknowledged status updates', parseDuration).default('10secs'),
  )
  .addOption(checkedOption('--registration_backoff_factor <duration>', 'first delay before re-registering', parseDuration).default('1secs'))
  .addOption(
    new Option('--recover <mode>', 'reconnect: recover running tasks; cleanup: kill them and start afresh')
      .choices(['reconnect', 'cleanup'])
      .default('reconnect'),
  )
  .addOption(tokenFileOption('file holding the shared secret (else env IPPC_TOKEN); also used with the IPAM and isolation services'))
  .addOption(noAuthOption('talk to a master (and services) without authentication, and take any caller on /api/v1 (local play only)'))
  .addOption(
    new Option(
      '--http_credentials <path>',
      "principals and secrets for HTTP Basic on the agent's HTTP endpoints, beside the cluster token: Mesos's JSON or 'principal secret' lines (file:// accepted)",
    ),
  )
  .addOption(bool('--authenticate_http_readwrite', 'require the cluster token (or --http_credentials) on the operator API, POST /api/v1 (Mesos: false)', true))
  .addOption(
    bool(
      '--authenticate_http_readonly',
      'require the cluster token (or --http_credentials) on /state, /monitor/statistics, /containers, /metrics/snapshot',
      false,
    ),
  )
  .addOption(loggingLevelOption());

program.parse();
const o = program.opts<Record<string, string | boolean | undefined>>();
const log = createLogger({ component: 'agent', level: loggerLevel(String(o.logging_level)) });
const str = (k: string) => (o[k] === undefined || o[k] === '' ? undefined : String(o[k]));

/** A flag it cannot use, or a failure to start: logged, `ippc-agent: <message>` on standard error, exit status 2. */
function fail(message: string): never {
  log.error(message);
  exitBadFlag(program, message);
}

/** What the node daemons and installers are asked to do, from the flags. */
function nodeServicesOptions(workDir: string, hostname: string, ip: string, authConfig: AuthConfig): Omit<NodeServicesOptions, 'log' | 'metrics'> {
  const out: Omit<NodeServicesOptions, 'log' | 'metrics'> = {};
  const pluginDir = str('install_cni_plugins');
  if (pluginDir) {
    out.pluginDir = pluginDir;
    const path = (str('network_cni_plugins_dir') ?? DEFAULT_PLUGIN_DIRS).split(':').filter(Boolean);
    // The installed plugins must be found: their folder goes first in the search path.
    if (!path.includes(pluginDir)) o.network_cni_plugins_dir = [pluginDir, ...path].join(':');
  }
  const networksSpec = str('install_cni_networks');
  const subnets = networksSpec ? parseNetworkSubnets(networksSpec) : {};
  if (networksSpec) {
    const configDir = str('network_cni_config_dir');
    if (!configDir) fail('--install_cni_networks writes into --network_cni_config_dir: give that folder too');
    if (!str('network_cni_plugins_dir')) o.network_cni_plugins_dir = DEFAULT_PLUGIN_DIRS;
    const usesIpam = (['ippc-bridge', 'ippc-ptp'] as DefaultNetworkName[]).some((n) => subnets[n]);
    if (usesIpam && !str('ipam_service'))
      log.warn(
        '--install_cni_networks writes networks on ippc-ipam but no --ipam_service is given: a node daemon must listen on --ipam_socket, or their ADDs fail',
      );
    out.networks = {
      configDir,
      subnets,
      ipamSocket: String(o.ipam_socket),
      ...(str('isolation_service') ? { isolationSocket: String(o.isolation_socket) } : {}),
      bridgeName: String(o.cni_bridge_name),
      localBridgeName: String(o.cni_local_bridge_name),
      localDataDir: str('cni_local_data_dir') ?? join(workDir, 'cni', 'networks'),
    };
  }
  const ipamService = str('ipam_service');
  if (ipamService) out.ipam = { service: ipamService, auth: authConfig, socketPath: String(o.ipam_socket), node: str('ipam_node') ?? hostname };
  const isolationService = str('isolation_service');
  if (isolationService) {
    const nodeAddresses = str('isolation_node_address') ? list(str('isolation_node_address')) : [ip, ...(str('ip6') ? [String(o.ip6)] : [])];
    // By default the subnets of the installed networks, in the families the agent has a node
    // address of (other agents route a subnet through an address of its family).
    const families = new Set(nodeAddresses.map((a) => (a.includes(':') ? 6 : 4)));
    const installed = Object.values(subnets).flat();
    const isolationSubnets = str('isolation_subnets') ? list(str('isolation_subnets')) : installed.filter((x) => families.has(x.includes(':') ? 6 : 4));
    const unrouted = str('isolation_subnets') ? [] : installed.filter((x) => !isolationSubnets.includes(x));
    if (unrouted.length > 0)
      log.warn(
        { subnets: unrouted },
        'not announced to the isolation service: this agent has no node address of their family (--ip6 or --isolation_node_address)',
      );
    out.isolation = {
      service: isolationService,
      auth: authConfig,
      agentId: str('isolation_agent_id') ?? hostname,
      nodeAddresses,
      subnets: isolationSubnets,
      socketPath: String(o.isolation_socket),
      dataDir: str('isolation_data_dir') ?? join(workDir, 'isolation'),
      table: String(o.isolation_table),
      manageRoutes: o.isolation_routes !== 'false',
    };
  }
  return out;
}

let services: NodeServices | undefined;
try {
  const port = Number(o.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port must be a port number, not '${o.port}'`);
  const workDir = String(o.work_dir);
  const runtimeDir = o.runtime_dir ? String(o.runtime_dir) : join(workDir, 'run');
  // Mesos's pair: --ip is where the agent listens, --advertise_ip (default --ip) how others reach it.
  const ip = String(o.advertise_ip ?? o.ip);
  if (ip === '0.0.0.0' || ip === '::') fail(`--ip=${ip} listens on every address: give --advertise_ip, the address the master and tasks reach the agent at`);
  const hostname = String(o.hostname ?? ip);
  // Two agents on one machine (one daemon) must not reap each other's containers.
  if (!str('docker_scope') && str('hostname')) o.docker_scope = String(o.hostname);
  const authConfig = daemonAuth(o);
  const credentials = str('http_credentials') ? readHttpCredentials(String(o.http_credentials)) : undefined;
  // Mesos validates this flag at start, whatever the isolators.
  parseDefaultContainerDns(str('default_container_dns'));
  const metrics = createMetricsRegistry('agent');
  const nodeOptions = nodeServicesOptions(workDir, hostname, ip, authConfig);
  // After nodeServicesOptions: it may have put the plugin folder into the search path.
  const flags = Object.fromEntries(
    Object.entries(o)
      .filter(([k, v]) => k !== 'token_file' && v !== undefined)
      .map(([k, v]) => [k, String(v)]),
  );
  const containerizerNames = list(String(o.containerizers));
  const isolation = resolveIsolation(list(String(o.isolation)), containerizerNames);
  const modules = await loadModules(list(o.modules as string | undefined));
  // The daemons first: recovery below may run CNI DEL, which reaches them through the plugins.
  if (Object.keys(nodeOptions).length > 0) services = await startNodeServices({ ...nodeOptions, log, metrics });
  const containerizers = await buildContainerizers(containerizerNames, isolation, modules, {
    flags,
    workDir,
    runtimeDir,
    agentIp: ip,
    ...(o.ip6 ? { agentIp6: String(o.ip6) } : {}),
    hostname,
    log,
    metrics,
    ...(services?.cniPlugins ? { cniPlugins: services.cniPlugins } : {}),
  });
  // onFatal may fire before startAgent returns; it closes whatever has started by then.
  const running: { agent?: Awaited<ReturnType<typeof startAgent>> } = {};
  const started = await startAgent({
    master: String(o.master),
    auth: authConfig,
    ip,
    bindIp: String(o.ip),
    ...(o.ip6 ? { ip6: String(o.ip6) } : {}),
    port,
    ...(o.hostname ? { hostname: String(o.hostname) } : {}),
    workDir,
    resources: agentResources(o.resources as string | undefined),
    attributes: parseAttributes(o.attributes as string | undefined),
    containerizers,
    defaultKillGracePeriodMs: parseDuration(String(o.executor_shutdown_grace_period)),
    executorRegistrationTimeoutMs: parseDuration(String(o.executor_registration_timeout)),
    executorReregistrationTimeoutMs: parseDuration(String(o.executor_reregistration_timeout)),
    statusUpdateRetryIntervalMs: parseDuration(String(o.status_update_retry_interval)),
    registrationBackoffMs: parseDuration(String(o.registration_backoff_factor)),
    recover: o.recover === 'cleanup' ? 'cleanup' : 'reconnect',
    ...(credentials ? { credentials } : {}),
    authenticateHttpReadwrite: o.authenticate_http_readwrite !== 'false',
    authenticateHttpReadonly: o.authenticate_http_readonly === 'true',
    flags,
    log,
    metrics,
    ...(services ? { health: services.health } : {}),
    onFatal: (err) => {
      process.stderr.write(`ippc-agent: ${err.message}\n`);
      void (running.agent?.close() ?? Promise.resolve()).then(() => services?.close()).finally(() => process.exit(1));
    },
  });
  running.agent = started;
  log.info(
    { url: started.url, master: o.master, containerizers: containerizers.map((c) => c.name), isolation, daemons: Object.keys(services?.health() ?? {}) },
    'agent ready',
  );
  const stop = (signal: string, killTasks: boolean) => {
    log.info({ signal, killTasks }, 'stopping');
    started
      .close({ killTasks })
      .then(() => services?.close())
      .then(
        () => process.exit(0),
        () => process.exit(1),
      );
  };
  process.once('SIGTERM', () => stop('SIGTERM', false));
  process.once('SIGINT', () => stop('SIGINT', false));
  process.once('SIGUSR1', () => stop('SIGUSR1', true));
} catch (err) {
  await services?.close().catch(() => undefined);
  fail(messageOf(err));
}
