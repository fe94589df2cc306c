import { randomBytes, randomUUID } from 'node:crypto';
import Docker from 'dockerode';
import { GenericContainer } from 'testcontainers';
import type { AuthConfig, Logger } from '@ippc/core';
import { planBootstrap } from '@ippc/host';
import { type AgentJson, type MasterStateJson } from '@ippc/mesos';
import { connectScheduler, fetchMasterState, type Scheduler, type SchedulerOptions } from '@ippc/scheduler';
import { compileConfig, type ClusterConfig, type ClusterConfigInput } from './config.js';
import { TestbedError } from './errors.js';
import { LABEL, OWNER } from './labels.js';
import { execIn } from './docker-exec.js';
import { NodeHandle, until, type ClusterNode, type StopSignal } from './node.js';
import { PATHS, PORTS } from './plan/layout.js';
import { planCluster } from './plan/plan.js';
import type { ClusterPlan, DaemonName, DaemonSpec, NodeRole, NodeSpec } from './plan/spec.js';
import { startReaper, type Reaper } from './reaper.js';
import { defaultWorkspaceDir, MOUNT } from './workspace.js';

/** An agent node: its `/state`, its slice of ports and subnets, its id at the master. */
export interface AgentNode extends ClusterNode {
  readonly index: number;
  /** `http://<address>:5051` (`/state`, `/health`, `/metrics`). */
  readonly url: string;
  /** Each container network's subnet on this agent. */
  readonly subnets: Record<string, { ipv4: string; ipv6?: string }>;
  /** The host ports it offers. */
  readonly ports: { first: number; last: number };
  /** Its agent id at the master (`<master id>-S<n>`), read from `/master/state`. */
  agentId(): Promise<string>;
  /** Stops the agent process; its tasks keep running (`SIGKILL`: a crash). */
  stop(options?: { signal?: StopSignal; timeoutMs?: number }): Promise<void>;
  /** Starts the agent process again; resolves once it answers and is registered with the master. */
  start(options?: { timeoutMs?: number }): Promise<void>;
  /** `stop` then `start`. */
  restart(options?: { signal?: StopSignal; timeoutMs?: number }): Promise<void>;
}

/** A component daemon reachable on the cluster network: the master, the IPAM, the isolation provider, DNS. */
export interface Service {
  readonly daemon: DaemonName;
  /** The container it runs in (the IPAM, the isolation provider and DNS share the services node). */
  readonly node: ClusterNode;
  /** The node's address on the cluster network. */
  readonly address: string;
  /** `host:port` of its gRPC API (the master serves HTTP on the same port); DNS: its UDP/TCP port. */
  readonly grpcAddress: string;
  /** Base URL of its HTTP endpoints (`/health`, `/metrics`; the master's `/master/state`). */
  readonly url: string;
  /** Stops the daemon (a crash with `SIGKILL`); the container stays. */
  stop(options?: { signal?: StopSignal; timeoutMs?: number }): Promise<void>;
  /** Starts it again and waits until it is ready. */
  start(options?: { timeoutMs?: number }): Promise<void>;
}

/** A running cluster, started by {@link startCluster} or found again by {@link attachCluster}. */
export interface Cluster {
  readonly name: string;
  readonly config: ClusterConfig;
  /** What frameworks and tools present to the components (a shared token, or disabled). */
  readonly auth: AuthConfig;
  readonly network: { id: string; name: string; subnet: string; gateway: string };
  readonly master: Service;
  readonly ipam: Service;
  readonly isolation: Service;
  /** DNS on port 53 (UDP and TCP) at `dns.address`; `/health` at `dns.url`. */
  readonly dns: Service;
  readonly agents: AgentNode[];
  /** Every container: master, services, agents. */
  readonly nodes: ClusterNode[];
  /** Docker user networks created with the cluster (for Docker USER tasks). */
  readonly dockerNetworks: { name: string; id: string; subnet: string; ipv6Subnet?: string }[];
  /** `GET /master/state` (the Mesos JSON model). */
  masterState(): Promise<MasterStateJson>;
  /** A framework connected to this cluster's master with its credentials. */
  connectScheduler(options: Omit<SchedulerOptions, 'master' | 'auth'> & { timeoutMs?: number }): Promise<Scheduler>;
  /** Resolves when every agent is registered and active at the master. */
  waitForAgents(options?: { timeoutMs?: number }): Promise<void>;
  /** Every node's log (never throws: a node that cannot be read says why). */
  logs(options?: { tail?: number }): Promise<Record<string, string>>;
  /** Removes every container, network and volume labelled with this cluster. */
  remove(): Promise<RemoveReport>;
}

/** A cluster this process started; disposing it removes it (`await using cluster = await startCluster()`). */
export interface StartedCluster extends Cluster, AsyncDisposable {
  /** Time from the call to every component ready. */
  readonly readyAfterMs: number;
  /** Per phase, in milliseconds. */
  readonly timings: Record<string, number>;
  /** Same as `remove()`, then releases the session reaper. Never throws over a first error. */
  stop(): Promise<RemoveReport>;
}

export type StartPhase = 'prepare' | 'network' | 'containers' | 'services' | 'agents';

export interface StartClusterOptions {
  /** The cluster file's content (defaults filled in), or a compiled config. */
  config?: ClusterConfigInput | ClusterConfig;
  /** Shorthands over `config`. */
  name?: string;
  agents?: number;
  /** The ippc workspace whose bundles the nodes run (mounted read-only). Default: this package's. */
  workspaceDir?: string;
  /** Default: the local daemon (`DOCKER_HOST` or `/var/run/docker.sock`). */
  docker?: Docker;
  /** The node image. Default: `planBootstrap().images.node` from `@ippc/host` (built offline, never pulled). */
  image?: string;
  /**
   * The cluster outlives this process (`ippc cluster up`): no session reaper, label
   * `org.ippc.retain=true`; remove it with `removeCluster(name)`. Default false: a test cluster,
   * removed by `stop()`/dispose, and by the session reaper if this process dies.
   */
  detached?: boolean;
  /** Keep the containers of a failed start for debugging (kind's `--retain`). Default false: roll back. */
  retainOnFailure?: boolean;
  /** Readiness deadline for the whole start. Default 60 s. */
  timeoutMs?: number;
  /** Told when each phase starts and ends (the CLI draws progress from it). */
  onProgress?: (event: { phase: StartPhase; status: 'start' | 'done'; ms?: number }) => void;
  log?: Logger;
}

export interface RemoveReport {
  containers: number;
  networks: number;
  volumes: number;
  errors: string[];
}

/**
 * Starts a cluster: a master, `agents` agents (NET_ADMIN + SYS_ADMIN, the Docker socket, CNI
 * configs), the IPAM service, the isolation provider and DNS, each in a container of the node
 * image on a cluster network of its own, each running its bundled daemon from the workspace
 * mounted read-only. Resolves once every component answers its protocol and every agent is
 * registered; a failed start leaves nothing behind (unless `retainOnFailure`).
 *
 * @example
 * ```ts
 * await using cluster = await startCluster({ agents: 3 });
 * const scheduler = await cluster.connectScheduler({ framework: { name: 'my-tests' } });
 * ```
 */
export async function startCluster(options: StartClusterOptions = {}): Promise<StartedCluster> {
  const t0 = performance.now();
  const timings: Record<string, number> = {};
  const phase = async <T>(name: StartPhase, fn: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    options.onProgress?.({ phase: name, status: 'start' });
    const out = await fn();
    timings[name] = Math.round(performance.now() - t);
    options.onProgress?.({ phase: name, status: 'done', ms: timings[name] });
    return out;
  };
  // Ryuk cannot be pulled here; the session reaper below plays its part.
  if (!process.env.RYUK_CONTAINER_IMAGE) process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
  const docker = options.docker ?? new Docker();
  const config = compileConfig({ ...(options.config ?? {}), ...(options.name ? { name: options.name } : {}), ...(options.agents ? { agents: options.agents } : {}) });
  const workspaceDir = options.workspaceDir ?? defaultWorkspaceDir();
  const session = options.detached ? undefined : `s-${randomUUID()}`;
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  const token = config.auth.disabled ? undefined : (config.auth.token ?? randomBytes(24).toString('base64url'));

  const { image, plan } = await phase('prepare', async () => {
    const [image, dockerRootDir] = await Promise.all([options.image ?? planBootstrap().then((p) => p.images.node), ping(docker)]);
    const [exists, taken] = await Promise.all([
      docker
        .getImage(image)
        .inspect()
        .then(() => true)
        .catch(() => false),
      docker.listContainers({ all: true, filters: JSON.stringify({ label: [`${LABEL.owner}=${OWNER}`, `${LABEL.cluster}=${config.name}`] }) }),
    ]);
    if (!exists) throw new TestbedError('TESTBED_IMAGE_MISSING', `the node image ${image} is not on the Docker daemon; build it with scripts/setup (ippc-host bootstrap): images are built offline, never pulled`);
    if (taken.length > 0) {
      throw new TestbedError('TESTBED_CLUSTER_EXISTS', `a cluster named '${config.name}' already exists (${taken.length} containers); remove it ('ippc cluster down --name ${config.name}') or choose another name`);
    }
    return { image, plan: planCluster(config, { workspaceDir, dockerRootDir, ...(session ? { session } : {}), retain: !!options.detached }) };
  });

  let reaper: Reaper | undefined;
  let reaperReady: Promise<unknown> = Promise.resolve();
  const cleanup = async () => {
    // A reaper still starting when the start failed must be waited for, or it would stay behind.
    await reaperReady.catch(() => undefined);
    const report = await removeResources(docker, config.name, session);
    if (reaper) {
      // Our own resources are gone; the reaper goes too (releasing alone would leave it for its grace period).
      reaper.release();
      await docker
        .getContainer(reaper.containerId)
        .remove({ force: true })
        .then(() => report.containers++)
        .catch((e: { statusCode?: number; message: string }) => e.statusCode === 404 || e.statusCode === 409 || report.errors.push(`reaper: ${e.message}`));
    }
    return report;
  };
  try {
    // The reaper first: from here on, whatever this session creates goes if this process dies.
    reaperReady = session ? startReaper({ docker, image, session, cluster: config.name }).then((r) => (reaper = r)) : Promise.resolve(undefined);
    const net = await phase('network', () => createNetworks(docker, plan, config, session, !!options.detached));
    const auth: AuthConfig = token ? { token } : { disabled: true };
    const mark = (key: string) => (timings[key] = Math.round(performance.now() - t0));
    // Pipelined: each node's daemons start as soon as its container runs (agents retry the
    // master every 100 ms until it answers), so container starts and Node starts overlap.
    let containersDone = 0;
    options.onProgress?.({ phase: 'containers', status: 'start' });
    const tContainers = performance.now();
    const startNode = async (spec: NodeSpec) => {
      const id = await startContainer(docker, spec, { image, workspaceDir, token, networkName: plan.networkName });
      mark(`${spec.name} started at`);
      if (++containersDone === plan.nodes.length) {
        timings.containers = Math.round(performance.now() - tContainers);
        options.onProgress?.({ phase: 'containers', status: 'done', ms: timings.containers });
      }
      const node = new NodeHandle({ docker, containerId: id, ...spec });
      await Promise.all(spec.daemons.map((d) => node.spawnDaemon(d.name)));
      return node;
    };
    // The master's and the services' containers first: their daemons (the slowest to boot: the
    // agents wait for the IPAM and the isolation service) then start while the agents' containers
    // are made (Docker serializes much of container creation anyway), and agents find them sooner.
    const first = plan.nodes.filter((n) => n.role !== 'agent').map((spec) => startNode(spec));
    const nodes = await settleAll([
      ...first,
      ...plan.nodes
        .filter((n) => n.role === 'agent')
        .map(async (spec) => {
          await first[0]!.catch(() => undefined);
          return startNode(spec);
        }),
    ]);
    await reaperReady;
    const cluster = new ClusterHandle({
      docker,
      config,
      nodes,
      agentLayout: new Map(plan.nodes.filter((n) => n.role === 'agent').map((n) => [n.index ?? 0, n])),
      network: net.cluster,
      dockerNetworks: net.docker,
      auth,
    });
    await phase('services', () =>
      settleAll([cluster.master, cluster.ipam, cluster.isolation, cluster.dns].map((svc) => (svc.node as NodeHandle).waitReady(svc.daemon, deadline).then(() => mark(`${svc.daemon} ready at`)))),
    );
    await phase('agents', async () => {
      await settleAll(cluster.agents.map((a) => (a as unknown as NodeHandle).waitReady('agent', deadline).then(() => mark(`${a.name} ready at`))));
      await cluster.waitForAgents({ timeoutMs: Math.max(1000, deadline - Date.now()) });
    });
    const readyAfterMs = Math.round(performance.now() - t0);
    options.log?.info({ cluster: config.name, readyAfterMs, timings }, 'cluster ready');
    return Object.assign(cluster, {
      readyAfterMs,
      timings,
      stop: cleanup,
      [Symbol.asyncDispose]: async () => {
        await cleanup();
      },
    }) as unknown as StartedCluster;
  } catch (err) {
    if (options.retainOnFailure) {
      // Keep the nodes for debugging; the reaper connection goes with this process unless released.
      throw err;
    }
    const report = await cleanup().catch((e: Error) => ({ errors: [e.message] }) as RemoveReport);
    if (err instanceof TestbedError) {
      if (report.errors.length) err.details.cleanupErrors = report.errors;
      throw err;
    }
    throw new TestbedError('TESTBED_START_FAILED', `cluster '${config.name}' did not start: ${(err as Error).message}; everything it created was removed`, {
      cause: err,
      details: { cleanupErrors: report.errors },
    });
  }
}

/** Awaits all, then throws the first failure (so none is left running unobserved). */
async function settleAll<T>(promises: Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return (results as PromiseFulfilledResult<T>[]).map((r) => r.value);
}

/** Checks the daemon answers; resolves with its root folder (where its volumes live). */
async function ping(docker: Docker): Promise<string> {
  try {
    const info = (await docker.info()) as { DockerRootDir?: string };
    return info.DockerRootDir ?? '/var/lib/docker';
  } catch (err) {
    throw new TestbedError('TESTBED_DOCKER_UNAVAILABLE', `no Docker daemon answers (${(err as Error).message}); start one (scripts/setup does) or set DOCKER_HOST`, { cause: err });
  }
}

async function createNetworks(docker: Docker, plan: ClusterPlan, config: ClusterConfig, session: string | undefined, retain: boolean) {
  const labels = (role: string) => ({
    [LABEL.owner]: OWNER,
    [LABEL.cluster]: config.name,
    [LABEL.role]: role,
    ...(session ? { [LABEL.session]: session } : {}),
    ...(retain ? { [LABEL.retain]: 'true' } : {}),
  });
  const create = async (name: string, subnet: string, ipv6Subnet: string | undefined, extra: Record<string, string>, role: string) => {
    try {
      const n = await docker.createNetwork({
        Name: name,
        Driver: 'bridge',
        CheckDuplicate: true,
        EnableIPv6: !!ipv6Subnet,
        IPAM: { Driver: 'default', Config: [{ Subnet: subnet }, ...(ipv6Subnet ? [{ Subnet: ipv6Subnet }] : [])] },
        Labels: { ...labels(role), ...extra },
      });
      return n.id;
    } catch (err) {
      throw new TestbedError('TESTBED_START_FAILED', `cannot create Docker network ${name} (${subnet}): ${(err as Error).message}; pick another subnet in the cluster file if another network uses it`, { cause: err });
    }
  };
  const [clusterId, ...dockerIds] = await Promise.all([
    create(plan.networkName, plan.subnet, config.network.ipv6Subnet, { [LABEL.config]: JSON.stringify(config) }, 'network'),
    ...config.dockerNetworks.map((n) => create(n.name, n.subnet, n.ipv6Subnet, {}, 'docker-network')),
  ]);
  return {
    cluster: { id: clusterId!, name: plan.networkName, subnet: plan.subnet, gateway: plan.gateway },
    docker: config.dockerNetworks.map((n, i) => ({ name: n.name, id: dockerIds[i]!, subnet: n.subnet, ...(n.ipv6Subnet ? { ipv6Subnet: n.ipv6Subnet } : {}) })),
  };
}

/** A node container: the node image (tini is PID 1), a fixed address, the workspace read-only. */
class NodeContainer extends GenericContainer {
  withAddress(network: string, address: string, address6?: string): this {
    this.networkMode = network;
    this.createOpts.NetworkingConfig = { EndpointsConfig: { [network]: { IPAMConfig: { IPv4Address: address, ...(address6 ? { IPv6Address: address6 } : {}) } } } };
    return this;
  }

  withReadonlyPaths(paths: string[]): this {
    (this.hostConfig as { ReadonlyPaths?: string[] }).ReadonlyPaths = paths;
    return this;
  }

  withNamedVolumes(volumes: { name: string; target: string }[]): this {
    this.hostConfig.Mounts = [...(this.hostConfig.Mounts ?? []), ...volumes.map((v) => ({ Type: 'volume' as const, Source: v.name, Target: v.target }))];
    return this;
  }

  withSysctls(sysctls: Record<string, string>): this {
    this.hostConfig.Sysctls = { ...this.hostConfig.Sysctls, ...sysctls };
    return this;
  }
}

async function startContainer(docker: Docker, spec: NodeSpec, ctx: { image: string; workspaceDir: string; token: string | undefined; networkName: string }): Promise<string> {
  // Named volumes carry the node's labels, so teardown and the reaper find them like the containers.
  await Promise.all(spec.volumes.map((v) => docker.createVolume({ Name: v.name, Labels: { ...spec.labels, [LABEL.role]: 'volume' } })));
  let c = new NodeContainer(ctx.image)
    .withName(spec.name)
    .withHostname(spec.name)
    .withLabels(spec.labels)
    .withAddress(ctx.networkName, spec.address, spec.address6)
    .withBindMounts([
      { source: ctx.workspaceDir, target: MOUNT, mode: 'ro' },
      ...(spec.privileged ? [{ source: '/var/run/docker.sock', target: '/var/run/docker.sock', mode: 'rw' as const }] : []),
    ])
    .withEnvironment({ ...(ctx.token ? { IPPC_TOKEN: ctx.token } : {}), IPPC_NODE: spec.name })
    .withCommand(['sleep', 'infinity']);
  if (spec.volumes.length) c = c.withNamedVolumes(spec.volumes);
  if (spec.capabilities.length) c = c.withAddedCapabilities(...spec.capabilities);
  if (spec.privileged) {
    // /proc/sys writable (Docker's default read-only paths without it): the Mesos containerizer
    // sets a task's hostname in the task's own UTS namespace through /proc/sys/kernel/hostname.
    c.withReadonlyPaths(['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sysrq-trigger']);
    c = c.withSysctls({
      'net.ipv4.ip_forward': '1',
      'net.ipv6.conf.all.disable_ipv6': '0',
      'net.ipv6.conf.all.forwarding': '1',
      'net.bridge.bridge-nf-call-iptables': '1',
      'net.bridge.bridge-nf-call-ip6tables': '1',
    });
  }
  if (spec.files.length) c = c.withCopyContentToContainer(spec.files.map((f) => ({ content: f.content, target: f.path })));
  let id: string;
  try {
    id = (await c.start()).getId();
  } catch (err) {
    throw new TestbedError('TESTBED_START_FAILED', `container ${spec.name} did not start: ${(err as Error).message}`, { cause: err });
  }
  if (spec.routes.length) {
    const script = spec.routes.map((r) => `ip route replace ${r.dst} via ${r.via}`).join(' && ');
    const r = await execIn(docker, id, ['sh', '-ec', script]);
    if (r.exitCode !== 0) throw new TestbedError('TESTBED_START_FAILED', `routes in ${spec.name} failed: ${r.stderr.trim()}`);
  }
  return id;
}

interface ClusterHandleInit {
  docker: Docker;
  config: ClusterConfig;
  nodes: NodeHandle[];
  /** Agents' subnets and ports, by index. */
  agentLayout: Map<number, Pick<NodeSpec, 'subnets' | 'ports'>>;
  network: Cluster['network'];
  dockerNetworks: Cluster['dockerNetworks'];
  auth: AuthConfig;
}

const SERVICE_PORTS: Record<Exclude<DaemonName, 'agent'>, { grpc: number; http: number }> = {
  master: { grpc: PORTS.master, http: PORTS.master },
  ipam: { grpc: PORTS.ipamGrpc, http: PORTS.ipamHttp },
  isolation: { grpc: PORTS.isolationGrpc, http: PORTS.isolationHttp },
  dns: { grpc: PORTS.dns, http: PORTS.dnsHttp },
};

class ClusterHandle implements Cluster {
  readonly name: string;
  readonly config: ClusterConfig;
  readonly auth: AuthConfig;
  readonly network: Cluster['network'];
  readonly dockerNetworks: Cluster['dockerNetworks'];
  readonly master: Service;
  readonly ipam: Service;
  readonly isolation: Service;
  readonly dns: Service;
  readonly agents: AgentNode[];
  readonly nodes: ClusterNode[];
  private readonly docker: Docker;

  constructor(init: ClusterHandleInit) {
    this.docker = init.docker;
    this.name = init.config.name;
    this.config = init.config;
    this.auth = init.auth;
    this.network = init.network;
    this.dockerNetworks = init.dockerNetworks;
    const service = (daemon: Exclude<DaemonName, 'agent'>): Service => {
      const node = init.nodes.find((n) => n.daemons.includes(daemon));
      if (!node) throw new TestbedError('TESTBED_CLUSTER_NOT_FOUND', `cluster '${this.name}' has no node running ${daemon}`);
      const ports = SERVICE_PORTS[daemon];
      return {
        daemon,
        node,
        address: node.address,
        grpcAddress: `${node.address}:${ports.grpc}`,
        url: `http://${node.address}:${ports.http}`,
        stop: (o) => node.stopDaemon(daemon, o),
        start: (o) => node.startDaemon(daemon, o),
      };
    };
    this.master = service('master');
    this.ipam = service('ipam');
    this.isolation = service('isolation');
    this.dns = service('dns');
    this.agents = init.nodes
      .filter((n) => n.role === 'agent')
      .sort((a, b) => (a.index ?? 0) - (b.index ?? 0))
      .map((node) => {
        node.extraReady = (n, _daemon, deadline) => this.waitForAgent(n.address, deadline);
        const layout = init.agentLayout.get(node.index ?? 0) ?? {};
        const agent = Object.assign(node, {
          index: node.index ?? 0,
          url: `http://${node.address}:${PORTS.agent}`,
          subnets: layout.subnets ?? {},
          ports: layout.ports ?? { first: 0, last: 0 },
          agentId: async () => {
            const a = findAgent(await this.masterState(), node.address);
            if (!a) throw new TestbedError('TESTBED_NOT_READY', `agent ${node.name} (${node.address}) is not registered with the master`);
            return a.id;
          },
          stop: (o: { signal?: StopSignal; timeoutMs?: number } = {}) => node.stopDaemon('agent', o),
          start: (o: { timeoutMs?: number } = {}) => node.startDaemon('agent', o),
          restart: async (o: { signal?: StopSignal; timeoutMs?: number } = {}) => {
            await node.stopDaemon('agent', o);
            await node.startDaemon('agent', o.timeoutMs ? { timeoutMs: o.timeoutMs } : {});
          },
        });
        return agent as unknown as AgentNode;
      });
    this.nodes = init.nodes;
  }

  async masterState(): Promise<MasterStateJson> {
    return (await fetchMasterState(this.master.url)).state;
  }

  connectScheduler(options: Omit<SchedulerOptions, 'master' | 'auth'> & { timeoutMs?: number }): Promise<Scheduler> {
    return connectScheduler({ ...options, master: this.master.grpcAddress, auth: this.auth });
  }

  /** Resolves once the master lists an active agent at `address` (follows the master's long poll). */
  private async waitForAgent(address: string, deadline: number): Promise<void> {
    await this.waitForState((s) => !!findAgent(s, address)?.active, `agent ${address} registered with the master`, deadline);
  }

  async waitForAgents(options: { timeoutMs?: number } = {}): Promise<void> {
    const deadline = Date.now() + (options.timeoutMs ?? 30_000);
    await this.waitForState((s) => this.agents.every((a) => findAgent(s, a.address)?.active), `all ${this.agents.length} agents registered with the master`, deadline);
  }

  /** Waits for a condition on `/master/state`, woken by the master's long poll rather than a timer. */
  private async waitForState(ok: (s: MasterStateJson) => boolean, what: string, deadline: number): Promise<void> {
    let since: number | undefined;
    await until(what, deadline, async () => {
      const left = Math.max(1, Math.min(5, Math.floor((deadline - Date.now()) / 1000)));
      const { state, version } = await fetchMasterState(this.master.url, since === undefined ? {} : { since, timeoutSeconds: left });
      since = version;
      return ok(state);
    });
  }

  async logs(options: { tail?: number } = {}): Promise<Record<string, string>> {
    const entries = await Promise.all(this.nodes.map(async (n) => [n.name, await n.logs(options).catch((e: Error) => `(cannot read the log of ${n.name}: ${e.message})`)] as const));
    return Object.fromEntries(entries);
  }

  remove(): Promise<RemoveReport> {
    return removeResources(this.docker, this.name);
  }
}

function findAgent(state: MasterStateJson, address: string): AgentJson | undefined {
  return state.slaves.find((s) => s.pid?.endsWith(`@${address}:${PORTS.agent}`) || s.hostname === address);
}

/**
 * Removes what carries the cluster's labels (and the session's, when given): containers first
 * (forced, with their anonymous volumes), then networks and volumes. Never throws: errors are
 * reported, and a second call finishes the job.
 */
export async function removeResources(docker: Docker, cluster: string, session?: string): Promise<RemoveReport> {
  const label = [`${LABEL.owner}=${OWNER}`, `${LABEL.cluster}=${cluster}`, ...(session ? [`${LABEL.session}=${session}`] : [])];
  const filters = JSON.stringify({ label });
  const errors: string[] = [];
  const report: RemoveReport = { containers: 0, networks: 0, volumes: 0, errors };
  const gone = (err: unknown) => (err as { statusCode?: number }).statusCode === 404;
  // Containers of the cluster, and containers the cluster's agents started (Docker tasks), by label.
  const containers = await docker.listContainers({ all: true, filters }).catch((e: Error) => (errors.push(e.message), []));
  const reaperLast = containers.filter((c) => c.Labels[LABEL.role] !== 'reaper').concat(containers.filter((c) => c.Labels[LABEL.role] === 'reaper'));
  await Promise.all(
    reaperLast.map((c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true, v: true })
        .then(() => report.containers++)
        .catch((e: Error) => gone(e) || errors.push(`container ${c.Names[0] ?? c.Id}: ${e.message}`)),
    ),
  );
  const networks = await docker.listNetworks({ filters }).catch((e: Error) => (errors.push(e.message), []));
  await Promise.all(
    networks.map((n) =>
      docker
        .getNetwork(n.Id)
        .remove()
        .then(() => report.networks++)
        .catch((e: Error) => gone(e) || errors.push(`network ${n.Name}: ${e.message}`)),
    ),
  );
  const volumes = ((await docker.listVolumes({ filters }).catch((e: Error) => (errors.push(e.message), { Volumes: [] }))).Volumes ?? []) as { Name: string }[];
  await Promise.all(
    volumes.map((v) =>
      docker
        .getVolume(v.Name)
        .remove()
        .then(() => report.volumes++)
        .catch((e: Error) => gone(e) || errors.push(`volume ${v.Name}: ${e.message}`)),
    ),
  );
  return report;
}

/** Summary of a cluster found by its labels. */
export interface ClusterSummary {
  name: string;
  retained: boolean;
  session?: string;
  containers: { name: string; role: string; state: string; address?: string }[];
}

/** Every ippc cluster on the daemon, by labels. */
export async function listClusters(options: { docker?: Docker } = {}): Promise<ClusterSummary[]> {
  const docker = options.docker ?? new Docker();
  const containers = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [`${LABEL.owner}=${OWNER}`, LABEL.cluster] }) });
  const byName = new Map<string, ClusterSummary>();
  for (const c of containers) {
    const name = c.Labels[LABEL.cluster]!;
    const s = byName.get(name) ?? { name, retained: false, containers: [] };
    if (c.Labels[LABEL.retain] === 'true') s.retained = true;
    if (c.Labels[LABEL.session]) s.session = c.Labels[LABEL.session];
    s.containers.push({ name: (c.Names[0] ?? c.Id).replace(/^\//, ''), role: c.Labels[LABEL.role] ?? '?', state: c.State, ...(c.Labels[LABEL.address] ? { address: c.Labels[LABEL.address] } : {}) });
    byName.set(name, s);
  }
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Finds a running cluster again by name (labels are the truth), e.g. one `ippc cluster up` left
 * running. The result works like a started cluster, without owning it: `remove()` takes it down.
 */
export async function attachCluster(name: string, options: { docker?: Docker } = {}): Promise<Cluster> {
  const docker = options.docker ?? new Docker();
  const filters = JSON.stringify({ label: [`${LABEL.owner}=${OWNER}`, `${LABEL.cluster}=${name}`] });
  const [containers, networks] = await Promise.all([docker.listContainers({ all: true, filters }), docker.listNetworks({ filters })]);
  const clusterNet = networks.find((n) => n.Labels?.[LABEL.role] === 'network');
  if (!clusterNet || containers.filter((c) => c.Labels[LABEL.role] !== 'reaper').length === 0) {
    throw new TestbedError('TESTBED_CLUSTER_NOT_FOUND', `no cluster named '${name}' on this Docker daemon; start one with 'ippc cluster up --name ${name}' (or list them with 'ippc cluster status --all')`);
  }
  const config = compileConfig(JSON.parse(clusterNet.Labels![LABEL.config] ?? '{}'));
  const stopped = containers.filter((c) => c.State !== 'running' && c.Labels[LABEL.role] !== 'reaper');
  if (stopped.length > 0) {
    throw new TestbedError('TESTBED_NOT_READY', `cluster '${name}' has stopped containers (${stopped.map((c) => c.Names[0]).join(', ')}); remove it with 'ippc cluster down --name ${name}' and start it again`);
  }
  const master = containers.find((c) => c.Labels[LABEL.role] === 'master');
  const inspect = master ? await docker.getContainer(master.Id).inspect() : undefined;
  const token = inspect?.Config.Env.find((e) => e.startsWith('IPPC_TOKEN='))?.slice('IPPC_TOKEN='.length);
  const plan = planCluster(config, { workspaceDir: MOUNT, resolve: () => ({ package: '', bin: '', argv: [], bundled: true }) });
  const nodes = containers
    .filter((c) => ['master', 'services', 'agent'].includes(c.Labels[LABEL.role] ?? ''))
    .map((c) => {
      const index = c.Labels[LABEL.index] !== undefined ? Number(c.Labels[LABEL.index]) : undefined;
      return new NodeHandle({
        docker,
        containerId: c.Id,
        role: c.Labels[LABEL.role] as NodeRole,
        ...(index !== undefined ? { index } : {}),
        name: (c.Names[0] ?? '').replace(/^\//, ''),
        address: c.Labels[LABEL.address] ?? '',
        daemons: JSON.parse(c.Labels[LABEL.daemons] ?? '[]') as DaemonSpec[],
      });
    });
  const dockerNets = networks.filter((n) => n.Labels?.[LABEL.role] === 'docker-network');
  return new ClusterHandle({
    docker,
    config,
    nodes,
    agentLayout: new Map(plan.nodes.filter((n) => n.role === 'agent').map((n) => [n.index ?? 0, n])),
    network: { id: clusterNet.Id, name: clusterNet.Name, subnet: config.network.subnet, gateway: clusterNet.IPAM?.Config?.[0]?.Gateway ?? '' },
    dockerNetworks: dockerNets.map((n) => {
      const c = config.dockerNetworks.find((d) => d.name === n.Name);
      return { name: n.Name, id: n.Id, subnet: c?.subnet ?? n.IPAM?.Config?.[0]?.Subnet ?? '', ...(c?.ipv6Subnet ? { ipv6Subnet: c.ipv6Subnet } : {}) };
    }),
    auth: token ? { token } : { disabled: true },
  });
}

/** Removes a cluster by name (labels). Resolves with what was removed; nothing found is not an error. */
export async function removeCluster(name: string, options: { docker?: Docker } = {}): Promise<RemoveReport> {
  return removeResources(options.docker ?? new Docker(), name);
}

export { PATHS };
