// Shared set-up of the integration tests (not exported by the package): the base image, a
// sandbox root of our own under /tmp/dkr-XXXX, a scope no other run shares, USER networks in our
// assigned ranges, task specs, and a teardown that removes everything labelled for this run.
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import { silentLogger, type ExecutorStatus, type KnownContainer, type LaunchSpec } from '@ippc/core';
import { planBootstrap } from '@ippc/host';
import {
  ContainerInfo_DockerInfo_Network as Network,
  ContainerInfo_Type,
  Value_Type,
  type CommandInfo,
  type ContainerInfo,
  type ContainerInfo_DockerInfo,
  type NetworkInfo,
  type Resource,
  type TaskInfo,
} from '@ippc/proto';
import { createDockerContainerizer, type DockerContainerizer, type DockerContainerizerOptions } from '../docker-containerizer.js';
import { SCOPE_LABEL } from '../labels.js';

export const TEST_LABEL = 'org.ippc.test';
export const TEST_VALUE = 'docker-containerizer';
const RUN_LABEL = 'org.ippc.test.run';

export interface Harness {
  docker: Docker;
  image: string;
  /** Our temp dir (`/tmp/dkr-XXXX`); sandboxes go under it. */
  tmp: string;
  scope: string;
  /** Labels for everything the test itself creates (networks, pretend agents). */
  labels: Record<string, string>;
  containerizer(options?: DockerContainerizerOptions): DockerContainerizer;
  /** Creates a USER network (removing a stale one of ours with that name first). */
  network(name: string, subnets: { v4: string; v6?: string }): Promise<string>;
  /** Containers of this run still on the daemon (any state). */
  leftovers(): Promise<Docker.ContainerInfo[]>;
  teardown(): Promise<void>;
}

export async function createHarness(): Promise<Harness> {
  const docker = new Docker();
  const { images } = await planBootstrap();
  const tmp = mkdtempSync('/tmp/dkr-');
  const run = randomUUID().slice(0, 8);
  const scope = `dkr-test-${run}`;
  const labels = { 'org.ippc.owner': 'ippc', [TEST_LABEL]: TEST_VALUE, [RUN_LABEL]: run };
  const containerizers: DockerContainerizer[] = [];
  const networks: string[] = [];

  async function leftovers(): Promise<Docker.ContainerInfo[]> {
    const [byScope, byRun] = await Promise.all([
      docker.listContainers({ all: true, filters: { label: [`${SCOPE_LABEL}=${scope}`] } }),
      docker.listContainers({ all: true, filters: { label: [`${RUN_LABEL}=${run}`] } }),
    ]);
    const seen = new Map<string, Docker.ContainerInfo>();
    for (const c of [...byScope, ...byRun]) seen.set(c.Id, c);
    return [...seen.values()];
  }

  return {
    docker,
    image: images.base,
    tmp,
    scope,
    labels,
    containerizer(options = {}) {
      const c = createDockerContainerizer({
        docker,
        scope,
        labels: { [TEST_LABEL]: TEST_VALUE, [RUN_LABEL]: run },
        logger: silentLogger(),
        pullImages: false,
        ...options,
      });
      containerizers.push(c);
      return c;
    },
    async network(name, subnets) {
      const stale = await docker.listNetworks({ filters: { name: [name], label: [`${TEST_LABEL}=${TEST_VALUE}`] } });
      for (const n of stale.filter((s) => s.Name === name)) {
        const info = (await docker.getNetwork(n.Id).inspect()) as { Containers?: Record<string, unknown> };
        for (const id of Object.keys(info.Containers ?? {})) {
          const c = await docker
            .getContainer(id)
            .inspect()
            .catch(() => undefined);
          if (c?.Config.Labels?.[TEST_LABEL] === TEST_VALUE)
            await docker
              .getContainer(id)
              .remove({ force: true })
              .catch(() => undefined);
        }
        await docker.getNetwork(n.Id).remove();
      }
      await docker.createNetwork({
        Name: name,
        Driver: 'bridge',
        CheckDuplicate: true,
        EnableIPv6: subnets.v6 !== undefined,
        IPAM: { Driver: 'default', Config: [{ Subnet: subnets.v4 }, ...(subnets.v6 ? [{ Subnet: subnets.v6 }] : [])] },
        Labels: labels,
      });
      networks.push(name);
      return name;
    },
    leftovers,
    async teardown() {
      const errors: unknown[] = [];
      for (const c of containerizers) await c.close().catch((e) => errors.push(e));
      for (const c of await leftovers())
        await docker
          .getContainer(c.Id)
          .remove({ force: true, v: true })
          .catch((e) => errors.push(e));
      for (const n of networks)
        await docker
          .getNetwork(n)
          .remove()
          .catch((e) => errors.push(e));
      rmSync(tmp, { recursive: true, force: true });
      if (errors.length > 0) throw new AggregateError(errors, 'teardown left something behind');
    },
  };
}

export function ports(begin: number, end = begin): Resource {
  return { name: 'ports', type: Value_Type.RANGES, ranges: { range: [{ begin, end }] }, reservations: [] };
}

export function scalar(name: string, value: number): Resource {
  return { name, type: Value_Type.SCALAR, scalar: { value }, reservations: [] };
}

export interface TaskOptions {
  network?: Network;
  command: string | CommandInfo;
  networkInfos?: NetworkInfo[];
  hostname?: string;
  docker?: Partial<ContainerInfo_DockerInfo>;
  resources?: Resource[];
  gracePeriodMs?: number;
  image?: string;
}

export interface TestTask {
  containerId: string;
  taskId: string;
  sandbox: string;
  statuses: ExecutorStatus[];
  spec: LaunchSpec;
  known(): KnownContainer;
  stdout(): string;
  stderr(): string;
}

export function dockerTask(h: Harness, options: TaskOptions): TestTask {
  const containerId = randomUUID();
  const taskId = `task-${containerId.slice(0, 8)}`;
  const sandbox = join(h.tmp, containerId);
  mkdirSync(sandbox, { recursive: true });
  const container: ContainerInfo = {
    type: ContainerInfo_Type.DOCKER,
    networkInfos: options.networkInfos ?? [],
    ...(options.hostname !== undefined ? { hostname: options.hostname } : {}),
    docker: { image: options.image ?? h.image, network: options.network, portMappings: [], parameters: [], ...options.docker },
  };
  const command: CommandInfo = typeof options.command === 'string' ? { value: options.command, uris: [], arguments: [] } : options.command;
  const task: TaskInfo = {
    name: taskId,
    taskId: { value: taskId },
    agentId: { value: 'agent-S0' },
    resources: options.resources ?? [scalar('cpus', 0.1), scalar('mem', 64)],
    command,
    container,
    limits: {},
    ...(options.gracePeriodMs !== undefined ? { killPolicy: { gracePeriod: { nanoseconds: options.gracePeriodMs * 1e6 } } } : {}),
  };
  const statuses: ExecutorStatus[] = [];
  const spec: LaunchSpec = {
    containerId: { value: containerId },
    frameworkId: { value: 'framework-0000' },
    agentId: { value: 'agent-S0' },
    task,
    executor: { executorId: { value: taskId }, resources: [], container },
    containerInfo: container,
    sandboxDirectory: sandbox,
    environment: { MESOS_TASK_ID: taskId },
    sendStatus: (s) => statuses.push(s),
  };
  const read = (name: string) => {
    try {
      return readFileSync(join(sandbox, name), 'utf8');
    } catch {
      return '';
    }
  };
  return {
    containerId,
    taskId,
    sandbox,
    statuses,
    spec,
    known: () => ({
      containerId: spec.containerId,
      frameworkId: spec.frameworkId,
      task,
      executor: spec.executor,
      containerInfo: container,
      sandboxDirectory: sandbox,
      containerizer: 'docker',
    }),
    stdout: () => read('stdout'),
    stderr: () => read('stderr'),
  };
}

export { eventually } from '@ippc/core/testing';
