import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { sh } from '@ippc/node/testing';
import { planBootstrap } from '@ippc/host';
import {
  ContainerInfo_DockerInfo_Network,
  ContainerInfo_Type,
  NetworkInfo_Protocol,
  TaskState,
  TaskStatus_Reason,
  TaskStatus_Source,
  Value_Type,
  type ContainerInfo,
  type TaskInfo,
} from '@ippc/proto';
import type { Scheduler } from '@ippc/scheduler';
import { recordFigure } from './figures.js';
import { GARBAGE_PROTOBUF, grpcCall, httpCall, TRUNCATED_PROTOBUF } from './probe.js';
import { createWorld, eventually, expectClean, holdings, launchMany, leaked, net, offers, type Holdings, type LaunchSpec, type World } from './world.js';

// The bad input table: malformed or contradictory launches through the real master and the real
// agent (Mesos and Docker containerizers, network/cni with the IPAM service and the isolation node
// agent), and malformed bytes at every endpoint. Each case gets the right status, reason and
// message (Mesos's verbatim where Mesos has one), and afterwards the node holds exactly what it
// held before: addresses at the IPAM, namespaces, veths, iptables and nft rules, checkpoints,
// task processes and Docker containers, counted.

interface Expect {
  state: keyof typeof TaskState;
  reason?: TaskStatus_Reason;
  source?: TaskStatus_Source;
  message: string | RegExp;
}

interface LaunchCase {
  name: string;
  /** A friendly spec (a function when it needs what before() found)... */
  spec?: LaunchSpec | (() => LaunchSpec);
  /** ...or a change to the TaskInfo built from `spec` (default: a plain command task). */
  mutate?: (t: TaskInfo) => TaskInfo;
  expect: Expect;
  docker?: boolean;
}

const LAUNCH_FAILED = (message: string | RegExp): Expect => ({
  state: 'TASK_FAILED',
  reason: TaskStatus_Reason.REASON_CONTAINER_LAUNCH_FAILED,
  source: TaskStatus_Source.SOURCE_AGENT,
  message: typeof message === 'string' ? `Failed to launch container: ${message}` : message,
});
const INVALID = (message: string | RegExp): Expect => ({
  state: 'TASK_ERROR',
  reason: TaskStatus_Reason.REASON_TASK_INVALID,
  source: TaskStatus_Source.SOURCE_MASTER,
  message,
});
const DOCKER_OPTIONS = (message: string): Expect => ({ state: 'TASK_FAILED', message: `Failed to create docker run options: ${message}` });

let w: World;
let s: Scheduler;
let baseline: Holdings;
let dockerAvailable = true;
let image = 'ippc/base:missing';
let cluster = '';
let tried = 0;
let leaks = 0;

const v4 = NetworkInfo_Protocol.IPv4;
const v6 = NetworkInfo_Protocol.IPv6;
const ip = (ipAddress: string | undefined, protocol?: NetworkInfo_Protocol) => ({
  ...(ipAddress !== undefined ? { ipAddress } : {}),
  ...(protocol !== undefined ? { protocol } : {}),
});
const docker = (network: ContainerInfo_DockerInfo_Network, extra: Partial<ContainerInfo> = {}, dockerExtra: object = {}): ContainerInfo =>
  ({
    type: ContainerInfo_Type.DOCKER,
    docker: { image, network, portMappings: [], parameters: [], ...dockerExtra },
    networkInfos: [],
    volumes: [],
    ...extra,
  }) as ContainerInfo;

async function containers(): Promise<number> {
  if (!dockerAvailable) return 0;
  const out = await sh('docker', ['ps', '-aq', '--filter', `label=org.ippc.cluster=${cluster}`]);
  return out.split('\n').filter((l) => l.trim()).length;
}

/** Counted before and after every case. */
async function counts(): Promise<Holdings & { containers: number }> {
  return { ...(await holdings(w)), containers: await containers() };
}

async function runLaunchCase(c: LaunchCase): Promise<void> {
  tried += 1;
  const o = await offers(s);
  const spec = typeof c.spec === 'function' ? c.spec() : c.spec;
  let task = s.taskFromOffer(
    o.offers[0]!,
    { cpus: 0.01, mem: 8, command: 'exec sleep 600', name: c.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 40), ...spec },
    o.resources,
  );
  if (c.mutate) task = c.mutate(task);
  const id = task.taskId?.value ?? '';
  await s.launch(o.offers, [task], { refuseSeconds: 0 });
  const st = await s.waitForState(id, [c.expect.state], 60_000);
  if (c.expect.reason !== undefined) assert.equal(TaskStatus_Reason[st.reason ?? 0], TaskStatus_Reason[c.expect.reason], `reason of ${c.name}: ${st.message}`);
  if (c.expect.source !== undefined) assert.equal(TaskStatus_Source[st.source ?? 0], TaskStatus_Source[c.expect.source], `source of ${c.name}`);
  if (typeof c.expect.message === 'string') assert.equal(st.message, c.expect.message);
  else assert.match(st.message ?? '', c.expect.message);
  const statuses = (s.statuses.get(id) ?? []).map((x) => TaskState[x.state!]);
  assert.ok(!statuses.includes('TASK_RUNNING'), `${c.name} never ran: ${statuses.join(',')}`);
}

async function checkClean(what: string): Promise<void> {
  const before = { ...baseline, containers: 0 };
  try {
    await expectClean(w, baseline, what, 15_000);
    assert.equal(await containers(), 0, `no container left after ${what}`);
  } catch (err) {
    leaks += 1;
    const now = await counts().catch(() => before);
    throw new Error(`${(err as Error).message}\nleft behind: ${leaked(before, now).join(', ')}`);
  }
}

const bridge = (id: string) => `rlbr${w.id}${id}`;
const spareIpam = (i: number) => ({ type: 'host-local', ranges: [[{ subnet: w.subnets.spare[i]! }]], dataDir: join(w.workDir, 'cni', 'networks') });

describe('bad input: malformed and contradictory launches leave nothing behind', { timeout: 400_000 }, () => {
  before(async () => {
    try {
      await sh('docker', ['info', '--format', '{{.ServerVersion}}'], { timeoutMs: 10_000 });
      image = (await planBootstrap()).images.base;
    } catch {
      dockerAvailable = false;
    }
    w = await createWorld({
      isolation: true,
      agentArgs: dockerAvailable ? ['--containerizers=docker,mesos', '--docker_socket=/var/run/docker.sock'] : [],
    });
    // Labels are the truth of what is ours: every container the agent makes carries the cluster label.
    cluster = `rl-bad-${w.id}`;
    // Configs the table needs: broken ones, and a network whose plugin is missing.
    await w.writeConfig('70-broken-json.conf', '{"cniVersion": "1.0.0", "name": "rl-broken", "type": "bridge",');
    await w.writeConfig('71-missing-plugin.conflist', {
      cniVersion: '1.0.0',
      name: 'rl-missing',
      plugins: [{ type: 'bridge', bridge: bridge('m'), isGateway: true, ipMasq: false, ipam: spareIpam(0) }, { type: 'rl-not-installed' }],
    });
    await w.writeConfig('72-missing-ipam.conf', {
      cniVersion: '1.0.0',
      name: 'rl-noipam',
      type: 'bridge',
      bridge: bridge('n'),
      isGateway: true,
      ipMasq: false,
      ipam: { type: 'rl-no-such-ipam' },
    });
    await w.writeConfig('73-no-type.conf', { cniVersion: '1.0.0', name: 'rl-notype', bridge: bridge('t') });
    await w.writeConfig('74-empty.conflist', { cniVersion: '1.0.0', name: 'rl-empty', plugins: [] });
    await w.writeConfig('75-future.conf', {
      cniVersion: '9.9.9',
      name: 'rl-future',
      type: 'bridge',
      bridge: bridge('f'),
      isGateway: true,
      ipMasq: false,
      ipam: spareIpam(1),
    });
    await w.writeConfig('76-no-name.conf', { cniVersion: '1.0.0', type: 'bridge', bridge: bridge('x') });
    await w.writePlugin(
      'rl-exit-2',
      '#!/bin/sh\ncat >/dev/null\n[ "$CNI_COMMAND" = ADD ] || exit 0\necho \'{"cniVersion":"1.0.0","code":7,"msg":"refused by the test plugin"}\'\nexit 2\n',
    );
    await w.writeConfig('77-exit.conflist', {
      cniVersion: '1.0.0',
      name: 'rl-exit',
      plugins: [{ type: 'bridge', bridge: bridge('e'), isGateway: true, ipMasq: false, ipam: spareIpam(2) }, { type: 'rl-exit-2' }],
    });
    await w.writePlugin('rl-garbage-out', '#!/bin/sh\ncat >/dev/null\n[ "$CNI_COMMAND" = ADD ] && echo "this is not JSON"\nexit 0\n');
    await w.writeConfig('78-garbage.conf', { cniVersion: '1.0.0', name: 'rl-garbage', type: 'rl-garbage-out' });
    await w.startAgent(dockerAvailable ? [`--docker_labels=org.ippc.owner=ippc;org.ippc.cluster=${cluster}`] : []);
    await w.waitForAgents(1);
    s = await w.scheduler('rl-bad-input');
    // One good launch first, on ippc-ptp (ippc-bridge stays untouched for the table): portmap's
    // shared chains and the isolation enforcer's tables are made on first use and stay, by design.
    const [warm] = await launchMany(s, [
      { name: 'warm-up', ports: 1, networks: [net('ippc-ptp', { groups: ['warm'], portMappings: [{ hostPort: w.hostPorts[0], containerPort: 80 }] })] },
    ]);
    await s.waitForState(warm!, 'TASK_RUNNING', 30_000);
    await s.kill(warm!);
    await s.waitForState(warm!, 'TASK_KILLED', 30_000);
    // TASK_KILLED goes out before the network is torn down: wait for the teardown, then count.
    baseline = await eventually(
      async () => {
        const h = await holdings(w);
        return h.leases === 0 && h.checkpoints === 0 && h.veths === 0 && h.namespaces === 0 && h.processes === 0 ? h : undefined;
      },
      'the warm-up torn down',
      30_000,
    );
    await new Promise((r) => setTimeout(r, 1000));
    baseline = await holdings(w);
  });
  after(async () => {
    recordFigure({ suite: 'bad-input', name: 'launches and endpoint inputs', cases: tried, leaks, duplicates: 0 });
    if (dockerAvailable && cluster) {
      const ids = (await sh('docker', ['ps', '-aq', '--filter', `label=org.ippc.cluster=${cluster}`]).catch(() => '')).split('\n').filter(Boolean);
      if (ids.length) await sh('docker', ['rm', '-f', ...ids]).catch(() => undefined);
    }
    await w?.dispose();
  });

  const cases: LaunchCase[] = [
    // The master's validation (Mesos's messages verbatim; TASK_ERROR, SOURCE_MASTER, REASON_TASK_INVALID).
    { name: 'empty task id', mutate: (t) => ({ ...t, taskId: { value: '' } }), expect: INVALID('ID must not be empty') },
    { name: 'task id with a slash', mutate: (t) => ({ ...t, taskId: { value: 'rl/x' } }), expect: INVALID("'rl/x' contains invalid characters") },
    { name: 'task without resources', mutate: (t) => ({ ...t, resources: [] }), expect: INVALID('Task uses no resources') },
    {
      name: 'DOCKER container without DockerInfo',
      mutate: (t) => ({ ...t, container: { type: ContainerInfo_Type.DOCKER, networkInfos: [net('ippc-bridge')], volumes: [] } as ContainerInfo }),
      expect: INVALID("Task's `ContainerInfo` is invalid: DockerInfo 'docker' is not set for DOCKER typed ContainerInfo"),
    },
    {
      name: "Docker parameter 'name'",
      mutate: (t) => ({ ...t, container: docker(ContainerInfo_DockerInfo_Network.BRIDGE, {}, { parameters: [{ key: 'name', value: 'x' }] }) }),
      expect: INVALID("Task's `ContainerInfo` is invalid: Parameter in DockerInfo must not be 'name'"),
    },
    {
      name: 'ports outside the offer',
      mutate: (t) => ({
        ...t,
        resources: [...t.resources, { name: 'ports', type: Value_Type.RANGES, ranges: { range: [{ begin: '1', end: '2' }] }, reservations: [] } as never],
      }),
      expect: INVALID(/^Total resources .*ports\(allocated: \*\):\[1-2\] required by task and its executor is more than available /),
    },
    // The network/cni isolator and the IPAM behind ippc-ipam (TASK_FAILED, SOURCE_AGENT, REASON_CONTAINER_LAUNCH_FAILED).
    { name: 'unknown network', spec: { name: 'unknown', networks: [net('rl-nope')] }, expect: LAUNCH_FAILED("Unknown CNI network 'rl-nope'") },
    {
      name: 'network named twice',
      spec: { name: 'twice', networks: [net('ippc-bridge'), net('ippc-bridge')] },
      expect: LAUNCH_FAILED("Attempted to join CNI network 'ippc-bridge' multiple times"),
    },
    {
      name: 'a known and an unknown network',
      spec: { name: 'one-unknown', networks: [net('ippc-bridge'), net('rl-nope')] },
      expect: LAUNCH_FAILED("Unknown CNI network 'rl-nope'"),
    },
    {
      name: 'an IPv6 address asked as IPv4',
      spec: { name: 'v6-as-v4', networks: [net('ippc-bridge', { ipAddresses: [ip('fd10:237::9', v4)] })] },
      expect: LAUNCH_FAILED(/^Failed to launch container: .*fd10:237::9/s),
    },
    {
      name: 'IPv6 asked of an IPv4 pool',
      spec: { name: 'v6-of-v4', networks: [net('ippc-ptp', { ipAddresses: [ip(undefined, v6)] })] },
      expect: LAUNCH_FAILED(/^Failed to launch container: .*(IPv6|ipv6)/s),
    },
    {
      name: 'an IPv6 address of an IPv4 pool',
      spec: { name: 'v6-addr-of-v4', networks: [net('ippc-ptp', { ipAddresses: [ip('fd10:237::5', v6)] })] },
      expect: LAUNCH_FAILED(/^Failed to launch container: .*fd10:237::5/s),
    },
    {
      name: 'an address that is no address',
      spec: { name: 'not-an-ip', networks: [net('ippc-bridge', { ipAddresses: [ip('not-an-ip')] })] },
      expect: LAUNCH_FAILED(/^Failed to launch container: .*not-an-ip/s),
    },
    {
      name: 'an address with an octet over 255',
      spec: { name: 'octet', networks: [net('ippc-bridge', { ipAddresses: [ip('10.237.999.1')] })] },
      expect: LAUNCH_FAILED(/^Failed to launch container: .*10\.237\.999\.1/s),
    },
    {
      name: 'an address outside the subnet',
      spec: { name: 'outside', networks: [net('ippc-bridge', { ipAddresses: [ip('192.0.2.7', v4)] })] },
      expect: LAUNCH_FAILED(/^Failed to launch container: .*192\.0\.2\.7/s),
    },
    {
      name: 'the subnet address',
      spec: { name: 'subnet-addr', networks: [net('ippc-ptp', { ipAddresses: [ip('SUBNET0')] })] },
      expect: LAUNCH_FAILED(/^Failed to launch container: .*\.0\b/s),
    },
    {
      name: 'the broadcast address',
      spec: { name: 'broadcast', networks: [net('ippc-ptp', { ipAddresses: [ip('SUBNET255')] })] },
      expect: LAUNCH_FAILED(/^Failed to launch container: .*\.255\b/s),
    },
    {
      name: 'an address with a prefix length',
      spec: { name: 'with-prefix', networks: [net('ippc-bridge', { ipAddresses: [ip('SUBNET9/24')] })] },
      expect: LAUNCH_FAILED(/^Failed to launch container: .*\/24/s),
    },
    {
      name: 'two IPv4 addresses of a single-IPv4 network',
      spec: { name: 'two-v4', networks: [net('ippc-ptp', { ipAddresses: [ip(undefined, v4), ip(undefined, v4)] })] },
      expect: LAUNCH_FAILED(/^Failed to launch container: /s),
    },
    {
      name: 'a config that is not JSON',
      spec: { name: 'broken-json', networks: [net('rl-broken')] },
      expect: LAUNCH_FAILED("Unknown CNI network 'rl-broken'"),
    },
    {
      name: 'a conflist with a missing plugin',
      spec: { name: 'missing-plugin', networks: [net('rl-missing')] },
      expect: LAUNCH_FAILED("Unknown CNI network 'rl-missing'"),
    },
    {
      name: 'a config with a missing IPAM plugin',
      spec: { name: 'missing-ipam', networks: [net('rl-noipam')] },
      expect: LAUNCH_FAILED("Unknown CNI network 'rl-noipam'"),
    },
    { name: 'a config without a type', spec: { name: 'no-type', networks: [net('rl-notype')] }, expect: LAUNCH_FAILED("Unknown CNI network 'rl-notype'") },
    { name: 'a conflist without plugins', spec: { name: 'no-plugins', networks: [net('rl-empty')] }, expect: LAUNCH_FAILED("Unknown CNI network 'rl-empty'") },
    {
      name: 'a config of an unknown CNI version',
      spec: { name: 'future', networks: [net('rl-future')] },
      expect: LAUNCH_FAILED("Unknown CNI network 'rl-future'"),
    },
    {
      name: 'a plugin that fails ADD with a CNI error',
      spec: { name: 'exit-2', networks: [net('rl-exit')] },
      expect: LAUNCH_FAILED(/^Failed to launch container: The CNI plugin '.*rl-exit-2' failed to attach container .* to CNI network 'rl-exit'/s),
    },
    {
      name: 'a plugin that prints no JSON',
      spec: { name: 'garbage-out', networks: [net('rl-garbage')] },
      expect: LAUNCH_FAILED(/^Failed to launch container: .*rl-garbage/s),
    },
    {
      name: 'a port mapping with host port 0',
      spec: { name: 'port-0', networks: [net('ippc-bridge', { portMappings: [{ hostPort: 0, containerPort: 80 }] })] },
      expect: LAUNCH_FAILED("Invalid port mapping 0:80 on CNI network 'ippc-bridge': host_port and container_port must be between 1 and 65535"),
    },
    {
      name: 'a port mapping over 65535',
      spec: { name: 'port-big', networks: [net('ippc-bridge', { portMappings: [{ hostPort: 37001, containerPort: 70000 }] })] },
      expect: LAUNCH_FAILED("Invalid port mapping 37001:70000 on CNI network 'ippc-bridge': host_port and container_port must be between 1 and 65535"),
    },
    {
      name: 'a port mapping of protocol icmp',
      spec: { name: 'port-icmp', networks: [net('ippc-bridge', { portMappings: [{ hostPort: 37001, containerPort: 80, protocol: 'icmp' }] })] },
      expect: LAUNCH_FAILED("Invalid protocol 'icmp' of port mapping 37001:80 on CNI network 'ippc-bridge': use tcp, udp or sctp"),
    },
    {
      name: 'a bandwidth label that is no number',
      spec: { name: 'bw', networks: [net('ippc-bridge', { labels: { labels: [{ key: 'org.ippc.bandwidth.ingressRate', value: 'fast' }] } })] },
      expect: LAUNCH_FAILED(/^Failed to launch container: Invalid value 'fast' of label 'org\.ippc\.bandwidth\.ingressRate'/s),
    },
    {
      name: 'a hostname over 64 bytes',
      spec: {
        name: 'long-host',
        networks: [net('ippc-bridge')],
        container: { type: ContainerInfo_Type.MESOS, hostname: 'h'.repeat(65), networkInfos: [], volumes: [] } as never,
      },
      expect: LAUNCH_FAILED(`Invalid hostname '${'h'.repeat(65)}': at most 64 bytes (set ContainerInfo.hostname to a shorter name)`),
    },
    {
      name: 'oversized network labels (1000 labels of 1 KiB)',
      spec: {
        name: 'big-labels',
        networks: [net('ippc-bridge', { labels: { labels: Array.from({ length: 1000 }, (_, i) => ({ key: `k${i}`, value: 'v'.repeat(1024) })) } })],
      },
      expect: LAUNCH_FAILED(/^Failed to launch container: .*(label|large|size)/is),
    },
    // The Docker containerizer's run options (Mesos's messages; the executor's TASK_FAILED).
    {
      name: 'Docker USER without a network',
      docker: true,
      spec: () => ({ name: 'user-none', container: docker(ContainerInfo_DockerInfo_Network.USER) }),
      expect: DOCKER_OPTIONS('No network info found in container info'),
    },
    {
      name: 'Docker USER with two networks',
      docker: true,
      spec: () => ({ name: 'user-two', container: docker(ContainerInfo_DockerInfo_Network.USER, { networkInfos: [net('rl-a'), net('rl-b')] }) }),
      expect: DOCKER_OPTIONS('Only a single network can be defined in Docker run'),
    },
    {
      name: 'Docker USER network without a name',
      docker: true,
      spec: () => ({
        name: 'user-noname',
        container: docker(ContainerInfo_DockerInfo_Network.USER, { networkInfos: [{ groups: [], ipAddresses: [], portMappings: [] }] }),
      }),
      expect: DOCKER_OPTIONS('No network name found in network info'),
    },
    {
      name: 'Docker HOST with a hostname',
      docker: true,
      spec: () => ({ name: 'host-hostname', container: docker(ContainerInfo_DockerInfo_Network.HOST, { hostname: 'rl-h' }) }),
      expect: DOCKER_OPTIONS('Unable to set hostname with host network mode'),
    },
    {
      name: 'Docker HOST with port mappings',
      docker: true,
      spec: () => ({
        name: 'host-ports',
        ports: 1,
        container: docker(ContainerInfo_DockerInfo_Network.HOST, {}, { portMappings: [{ hostPort: 37000, containerPort: 80 }] }),
      }),
      expect: DOCKER_OPTIONS('Port mappings are only supported for bridge and user-defined networks'),
    },
    {
      name: 'Docker BRIDGE port mapping outside the offer',
      docker: true,
      spec: () => ({
        name: 'bridge-outside',
        ports: 1,
        container: docker(ContainerInfo_DockerInfo_Network.BRIDGE, {}, { portMappings: [{ hostPort: 39999, containerPort: 80 }] }),
      }),
      expect: DOCKER_OPTIONS('Port [39999] not included in resources'),
    },
    {
      name: 'Docker BRIDGE port mapping without port resources',
      docker: true,
      spec: () => ({
        name: 'bridge-noports',
        container: docker(ContainerInfo_DockerInfo_Network.BRIDGE, {}, { portMappings: [{ hostPort: 37000, containerPort: 80 }] }),
      }),
      expect: DOCKER_OPTIONS('Port mappings require port resources'),
    },
  ];

  for (const c of cases) {
    it(`${c.name}: ${TaskState[TaskState[c.expect.state]]}${typeof c.expect.message === 'string' ? `, '${c.expect.message}'` : ''}`, async (t) => {
      if (c.docker && !dockerAvailable) return t.skip('no Docker daemon');
      // Addresses inside this world's subnets, filled in now that the world exists.
      const resolve = (x: string) => x.replace(/^SUBNET(\d+)/, (_, n: string) => `${w.subnets.ptp.split('.').slice(0, 3).join('.')}.${n}`);
      const given = typeof c.spec === 'function' ? c.spec() : c.spec;
      const spec = given && {
        ...given,
        networks: given.networks?.map((n) => ({
          ...n,
          ipAddresses: n.ipAddresses.map((a) => ({ ...a, ...(a.ipAddress ? { ipAddress: resolve(a.ipAddress) } : {}) })),
        })),
      };
      await runLaunchCase({ ...c, ...(spec ? { spec } : {}) });
      await checkClean(c.name);
    });
  }

  it('accepted as Mesos accepts them (no check in Mesos either): a CNI port mapping outside the offered ports, a group name with spaces; their kill leaves nothing', async () => {
    tried += 2;
    const ids = await launchMany(s, [
      { name: 'port-outside', ports: 1, networks: [net('ippc-bridge', { portMappings: [{ hostPort: 37999, containerPort: 80 }] })] },
      { name: 'odd-group', networks: [net('ippc-bridge', { groups: ['no spaces; allowed'] })] },
    ]);
    for (const id of ids) await s.waitForState(id, 'TASK_RUNNING', 30_000);
    for (const id of ids) {
      await s.kill(id);
      await s.waitForState(id, 'TASK_KILLED', 30_000);
    }
    await checkClean('accepted odd requests');
  });

  it('a label too large for any message: the call is refused, nothing launched', async () => {
    tried += 1;
    const o = await offers(s);
    const task = s.taskFromOffer(
      o.offers[0]!,
      { name: 'huge-label', command: 'exec sleep 600', cpus: 0.01, mem: 8, labels: { labels: [{ key: 'big', value: 'x'.repeat(5 << 20) }] } },
      o.resources,
    );
    await assert.rejects(s.launch(o.offers, [task], { refuseSeconds: 0 }), /larger than max|RESOURCE_EXHAUSTED|exceeds/i);
    // The master never saw the ACCEPT: the offers are still out. Decline them so they come back.
    await s.decline(
      o.offers.map((x) => x.id!.value!),
      0,
    );
    await checkClean('an oversized label');
    assert.equal(
      (await w.masterState()).frameworks.flatMap((f) => [...f.tasks, ...f.completed_tasks]).filter((x) => x.id === task.taskId!.value).length,
      0,
      'the master never saw it',
    );
  });

  describe('malformed bytes at every endpoint', () => {
    const grpcCases: Array<{ name: string; address: () => string; path: string; kind?: 'unary' | 'server-stream' | 'bidi' }> = [
      { name: 'master Scheduler/Subscribe', address: () => w.masterAddress, path: '/ippc.master.v1.Scheduler/Subscribe', kind: 'server-stream' },
      { name: 'master Scheduler/Send', address: () => w.masterAddress, path: '/ippc.master.v1.Scheduler/Send' },
      { name: 'master Agents/Connect', address: () => w.masterAddress, path: '/ippc.master.v1.Agents/Connect', kind: 'bidi' },
      { name: 'IPAM Allocate', address: () => w.ipam.address, path: '/ippc.ipam.v1.Ipam/Allocate' },
      { name: 'IPAM Release', address: () => w.ipam.address, path: '/ippc.ipam.v1.Ipam/Release' },
      { name: 'IPAM EnsurePool', address: () => w.ipam.address, path: '/ippc.ipam.v1.Ipam/EnsurePool' },
      { name: 'isolation Attach', address: () => w.isolation!.address, path: '/ippc.isolation.v1.Isolation/Attach' },
      { name: 'isolation AddRule', address: () => w.isolation!.address, path: '/ippc.isolation.v1.Isolation/AddRule' },
      { name: 'isolation Watch', address: () => w.isolation!.address, path: '/ippc.isolation.v1.Isolation/Watch', kind: 'server-stream' },
    ];
    for (const g of grpcCases) {
      for (const [label, bytes] of [
        ['garbage', GARBAGE_PROTOBUF],
        ['truncated', TRUNCATED_PROTOBUF],
      ] as const) {
        it(`gRPC ${g.name}, ${label} protobuf: INTERNAL or INVALID_ARGUMENT, the server still serves`, async () => {
          tried += 1;
          const out = await grpcCall(g.address(), g.path, bytes, { token: w.token, kind: g.kind ?? 'unary' });
          assert.ok([grpc.status.INTERNAL, grpc.status.INVALID_ARGUMENT].includes(out.code), `${g.path}: ${grpc.status[out.code]} ${out.details}`);
          assert.match(out.details, /deserializ|invalid|parse|wire/i);
          await checkClean(`${label} bytes at ${g.name}`);
        });
      }
    }

    it('gRPC: a valid Call that is nonsense (SUBSCRIBE without framework info) is refused with a message', async () => {
      tried += 1;
      const out = await grpcCall(w.masterAddress, '/ippc.master.v1.Scheduler/Subscribe', Buffer.from([0x10, 0x01]), { token: w.token, kind: 'server-stream' });
      assert.equal(grpc.status[out.code], 'INVALID_ARGUMENT', out.details);
      assert.ok(out.details.length > 10, out.details);
    });

    const httpCases: Array<{
      name: string;
      target: () => { url: string } | { socketPath: string; path: string };
      method?: string;
      body?: string;
      status: number;
      match: RegExp;
    }> = [
      { name: 'master state with a bad since', target: () => ({ url: `${w.masterUrl}/master/state?since=abc` }), status: 400, match: /since/ },
      {
        name: 'master state with a negative timeout',
        target: () => ({ url: `${w.masterUrl}/master/state?since=1&timeout=-5` }),
        status: 400,
        match: /timeout/,
      },
      {
        name: 'master POST of JSON to state',
        target: () => ({ url: `${w.masterUrl}/master/state` }),
        method: 'POST',
        body: '{"x":',
        status: 405,
        match: /use GET/,
      },
      { name: 'master unknown endpoint', target: () => ({ url: `${w.masterUrl}/master/nope` }), status: 404, match: /no such endpoint/ },
      {
        name: 'agent POST of JSON to state',
        target: () => ({ url: `${w.agent!.url}/state` }),
        method: 'POST',
        body: '{"x":',
        status: 405,
        match: /POST is not allowed on \/state; use GET/,
      },
      { name: 'agent unknown endpoint', target: () => ({ url: `${w.agent!.url}/nope` }), status: 404, match: /no such endpoint|not found/i },
      {
        name: 'IPAM node daemon: body not JSON',
        target: () => ({ socketPath: w.ipamSocket, path: '/v1/cni' }),
        method: 'POST',
        body: '{"cniVersion":',
        status: 400,
        match: /"code":\s*(4|6|7)/,
      },
      {
        name: 'IPAM node daemon: unknown endpoint',
        target: () => ({ socketPath: w.ipamSocket, path: '/v2' }),
        method: 'POST',
        body: '{}',
        status: 404,
        match: /no such endpoint/,
      },
      {
        name: 'isolation node socket: body not JSON',
        target: () => ({ socketPath: w.isolation!.socket, path: '/cni' }),
        method: 'POST',
        body: 'not json',
        status: 400,
        match: /"code"/,
      },
      {
        name: 'isolation node socket: unknown endpoint',
        target: () => ({ socketPath: w.isolation!.socket, path: '/nope' }),
        status: 404,
        match: /no such endpoint/,
      },
    ];
    for (const h of httpCases) {
      it(`HTTP ${h.name}: ${h.status}`, async () => {
        tried += 1;
        const out = await httpCall(h.target(), {
          method: h.method ?? 'GET',
          ...(h.body !== undefined
            ? { body: h.body, headers: { 'content-type': 'application/json', 'x-cni-command': 'ADD', 'x-cni-containerid': 'rl-bad', 'x-cni-ifname': 'eth0' } }
            : {}),
        });
        assert.equal(out.status, h.status, out.body);
        assert.match(out.body, h.match);
        await checkClean(`HTTP ${h.name}`);
      });
    }
  });

  it('after the whole table: the same holdings as before it, and a good launch on the bridge its failed launches used still works', async () => {
    await checkClean('the table');
    const [id] = await launchMany(s, [{ name: 'good', networks: [net('ippc-bridge')] }]);
    await s.waitForState(id!, 'TASK_RUNNING', 30_000);
    await s.kill(id!);
    await s.waitForState(id!, 'TASK_KILLED', 30_000);
    await checkClean('a good launch');
    await rm(join(w.configDir, '70-broken-json.conf'), { force: true });
    assert.ok(tried >= 40, `${tried} cases tried`);
  });
});
