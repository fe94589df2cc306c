import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type * as grpc from '@grpc/grpc-js';
import { createGrpcServer, silentLogger, type ContainerConfig, type IppcGrpcServer, type Isolator, type LaunchInfo } from '@ippc/core';
import { createMesosContainerizer } from '@ippc/mesos-containerizer';
import {
  agentv1,
  ContainerInfo_Type,
  TaskState,
  TaskStatus_Reason,
  TaskStatus_Source,
  type ContainerID,
  type ContainerStatus,
  type TaskInfo,
} from '@ippc/proto';
import { allocateResources, parseResources } from '@ippc/mesos';
import { startAgent, type StartedAgent } from './server.js';

// The agent with the real Mesos containerizer and an isolator that makes a real network namespace
// (named cp-*), against a scripted master: the seam the network/cni isolator plugs into. Needs root.

const ip = (...args: string[]) => execFileSync('ip', args, { encoding: 'utf8' });
const netns = (): string[] =>
  ip('netns', 'list')
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(`cp-agent-${process.pid}-`));

class NetnsIsolator implements Isolator {
  readonly name = 'test/netns';
  failIsolate = false;
  private readonly names = new Map<string, string>();
  private n = 0;
  async recover(): Promise<void> {}
  async prepare(config: ContainerConfig): Promise<LaunchInfo | undefined> {
    return (config.containerInfo?.networkInfos ?? []).some((n) => n.name === 'test') ? { namespaces: ['net', 'uts', 'mnt'], environment: {} } : undefined;
  }
  async isolate(id: ContainerID, pid: number): Promise<void> {
    if (!readlinkSync(`/proc/${pid}/ns/net`) || readlinkSync(`/proc/${pid}/ns/net`) === readlinkSync('/proc/self/ns/net')) return;
    const name = `cp-agent-${process.pid}-${this.n++}`;
    this.names.set(id.value!, name);
    ip('netns', 'attach', name, String(pid));
    ip('-n', name, 'link', 'set', 'lo', 'up');
    ip('-n', name, 'addr', 'add', '10.255.78.9/32', 'dev', 'lo');
    if (this.failIsolate) throw new Error("The CNI plugin '/usr/lib/cni/bridge' failed to attach container: stdout='boom', stderr=''");
  }
  async status(id: ContainerID): Promise<ContainerStatus> {
    return this.names.has(id.value!)
      ? { networkInfos: [{ name: 'test', groups: ['g'], portMappings: [], ipAddresses: [{ protocol: 1, ipAddress: '10.255.78.9' }] }] }
      : { networkInfos: [] };
  }
  async cleanup(id: ContainerID): Promise<void> {
    const name = this.names.get(id.value!);
    if (name && netns().includes(name)) ip('netns', 'delete', name);
    this.names.delete(id.value!);
  }
}

describe('agent with the Mesos containerizer and a namespace isolator (root)', () => {
  let dir: string;
  let server: IppcGrpcServer;
  let stream: grpc.ServerDuplexStream<agentv1.AgentMessage, agentv1.MasterMessage> | undefined;
  const updates: agentv1.StatusUpdate[] = [];
  let agent: StartedAgent;
  let iso: NetnsIsolator;

  const next = async (tid: string, state: TaskState) => {
    const end = Date.now() + 15_000;
    for (;;) {
      const u = updates.find((x) => x.status?.taskId?.value === tid && x.status.state === state);
      if (u) {
        stream!.write({
          message: {
            $case: 'statusUpdateAcknowledgement',
            value: { agentId: { value: 'M-S0' }, frameworkId: u.frameworkId, taskId: u.status!.taskId, uuid: u.status!.uuid },
          },
        });
        return u.status!;
      }
      if (Date.now() > end)
        throw new Error(
          `no ${TaskState[state]} for ${tid}; got ${updates.map((x) => `${x.status?.taskId?.value}:${TaskState[x.status?.state ?? 0]}`).join(' ')}`,
        );
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  const run = (id: string, command: string) => {
    const task: TaskInfo = {
      name: id,
      taskId: { value: id },
      agentId: { value: 'M-S0' },
      resources: allocateResources(parseResources('cpus:0.1;mem:32'), '*'),
      command: { value: command, uris: [], arguments: [] },
      container: { type: ContainerInfo_Type.MESOS, networkInfos: [{ name: 'test', groups: ['g'], ipAddresses: [], portMappings: [] }] },
      limits: {},
    };
    stream!.write({
      message: {
        $case: 'runTask',
        value: { framework: { id: { value: 'M-0000' }, user: 'root', name: 'f', checkpoint: true, capabilities: [], roles: [] }, task },
      },
    });
  };

  before(async () => {
    dir = mkdtempSync('/tmp/cp-agentint-');
    server = createGrpcServer({ auth: { disabled: true } });
    server.server.addService(agentv1.AgentsService, {
      connect: (call: grpc.ServerDuplexStream<agentv1.AgentMessage, agentv1.MasterMessage>) => {
        stream = call;
        call.on('data', (m: agentv1.AgentMessage) => {
          if (m.message?.$case === 'registerAgent') call.write({ message: { $case: 'agentRegistered', value: { agentId: { value: 'M-S0' } } } });
          if (m.message?.$case === 'statusUpdate') updates.push(m.message.value);
        });
        call.on('error', () => undefined);
        call.on('end', () => call.end());
      },
    });
    const port = await server.listen('127.0.0.1:0');
    iso = new NetnsIsolator();
    agent = await startAgent({
      master: `127.0.0.1:${port}`,
      auth: { disabled: true },
      ip: '127.0.0.2',
      port: 0,
      workDir: join(dir, 'work'),
      resources: parseResources('cpus:2;mem:1024;ports:[31900-31909]'),
      containerizers: [createMesosContainerizer({ runtimeDir: join(dir, 'run'), isolators: [iso] })],
      log: silentLogger(),
    });
    const end = Date.now() + 10_000;
    while (!agent.agent.registered && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  });

  after(async () => {
    await agent.close({ killTasks: true });
    await server.close(100);
    for (const n of netns()) ip('netns', 'delete', n);
    rmSync(dir, { recursive: true, force: true });
  });

  it("reports the isolator's network_infos, not the agent IP, for a task in its own namespaces", async () => {
    run('own-net', 'ip -o -4 addr show > addrs; exec sleep 600');
    await next('own-net', TaskState.TASK_STARTING);
    const running = await next('own-net', TaskState.TASK_RUNNING);
    assert.deepEqual(
      running.containerStatus?.networkInfos.map((n) => [n.name, n.groups, n.ipAddresses.map((a) => a.ipAddress)]),
      [['test', ['g'], ['10.255.78.9']]],
    );
    const pid = running.containerStatus!.executorPid!;
    assert.notEqual(readlinkSync(`/proc/${pid}/ns/net`), readlinkSync('/proc/self/ns/net'));
    const state = (await (await fetch(`${agent.url}/state`)).json()) as {
      frameworks: {
        executors: { directory: string; tasks: { statuses: { container_status: { network_infos: { ip_addresses: { ip_address: string }[] }[] } }[] }[] }[];
      }[];
    };
    const executor = state.frameworks[0]!.executors[0]!;
    assert.equal(executor.tasks[0]!.statuses.at(-1)!.container_status.network_infos[0]!.ip_addresses[0]!.ip_address, '10.255.78.9');
    const end = Date.now() + 5000;
    while (!existsSync(join(executor.directory, 'addrs')) && Date.now() < end) await new Promise((r) => setTimeout(r, 25));
    assert.match(readFileSync(join(executor.directory, 'addrs'), 'utf8'), /10\.255\.78\.9/);
  });

  it('answers a failing isolate with TASK_FAILED, REASON_CONTAINER_LAUNCH_FAILED and leaves nothing behind', async () => {
    iso.failIsolate = true;
    const before = netns().length;
    run('bad-net', 'touch ran; exec sleep 600');
    const failed = await next('bad-net', TaskState.TASK_FAILED);
    iso.failIsolate = false;
    assert.equal(failed.source, TaskStatus_Source.SOURCE_AGENT);
    assert.equal(failed.reason, TaskStatus_Reason.REASON_CONTAINER_LAUNCH_FAILED);
    assert.equal(failed.message, "Failed to launch container: The CNI plugin '/usr/lib/cni/bridge' failed to attach container: stdout='boom', stderr=''");
    assert.equal(failed.containerStatus, undefined);
    assert.equal(netns().length, before, 'no namespace left');
    const runDir = join(dir, 'run', 'containers');
    const live = readdirSync(runDir);
    assert.equal(live.length, 1, 'only the first test container is still there');
  });
});
