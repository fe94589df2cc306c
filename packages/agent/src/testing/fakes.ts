import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before } from 'node:test';
import type * as grpc from '@grpc/grpc-js';
import {
  ContainerizerError,
  createGrpcServer,
  type Containerizer,
  type IppcGrpcServer,
  type KnownContainer,
  type LaunchSpec,
  type Termination,
} from '@ippc/core';
import { allocateResources, containerIdToString, parseResources } from '@ippc/mesos';
import { agentv1, FrameworkInfo_Capability_Type, TaskState, Value_Type, type FrameworkInfo, type NetworkInfo, type TaskInfo } from '@ippc/proto';

// Fakes at the agent's two seams, for specs: a scripted master (the real Agents gRPC service,
// driven by the test) and a containerizer that runs nothing.

export class FakeMaster {
  server!: IppcGrpcServer;
  address = '';
  registrations: agentv1.AgentMessage['message'][] = [];
  updates: agentv1.StatusUpdate[] = [];
  /** Every other message of the agent (executor messages, exited executors). */
  others: NonNullable<agentv1.AgentMessage['message']>[] = [];
  private stream: grpc.ServerDuplexStream<agentv1.AgentMessage, agentv1.MasterMessage> | undefined;
  private waiters: (() => void)[] = [];

  async start(): Promise<void> {
    this.server = createGrpcServer({ auth: { token: 'secret' } });
    this.server.server.addService(agentv1.AgentsService, {
      connect: (call: grpc.ServerDuplexStream<agentv1.AgentMessage, agentv1.MasterMessage>) => {
        this.stream = call;
        call.on('data', (m: agentv1.AgentMessage) => {
          const msg = m.message;
          if (msg?.$case === 'registerAgent') {
            this.registrations.push(msg);
            call.write({ message: { $case: 'agentRegistered', value: { agentId: { value: 'M-S0' } } } });
          } else if (msg?.$case === 'reregisterAgent') {
            this.registrations.push(msg);
            call.write({ message: { $case: 'agentReregistered', value: { agentId: msg.value.agent?.id } } });
          } else if (msg?.$case === 'statusUpdate') this.updates.push(msg.value);
          else if (msg) this.others.push(msg);
          for (const w of this.waiters.splice(0)) w();
        });
        call.on('end', () => call.end());
        call.on('error', () => undefined);
      },
    });
    this.address = `127.0.0.1:${await this.server.listen('127.0.0.1:0')}`;
  }
  send(message: agentv1.MasterMessage['message']): void {
    this.stream!.write({ message });
  }
  async next(pred: (u: agentv1.StatusUpdate) => boolean, from = 0, ms = 5000): Promise<agentv1.StatusUpdate> {
    const end = Date.now() + ms;
    for (;;) {
      const found = this.updates.slice(from).find(pred);
      if (found) return found;
      if (Date.now() > end)
        throw new Error(`no matching status update in ${ms} ms; got ${this.updates.map((u) => TaskState[u.status?.state ?? 0]).join(', ')}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }
  async registered(n: number): Promise<void> {
    const end = Date.now() + 5000;
    while (this.registrations.length < n && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    assert.ok(this.registrations.length >= n, 'the agent registered');
  }
  ack(u: agentv1.StatusUpdate): void {
    this.send({
      $case: 'statusUpdateAcknowledgement',
      value: { agentId: { value: 'M-S0' }, frameworkId: u.frameworkId, taskId: u.status!.taskId, uuid: u.status!.uuid },
    });
  }
}

export class FakeContainerizer implements Containerizer {
  readonly name = 'fake';
  launched: LaunchSpec[] = [];
  destroyed: { id: string; gracePeriodMs?: number }[] = [];
  recovered: KnownContainer[] = [];
  networkInfos: NetworkInfo[] = [];
  failLaunch: string | undefined;
  /** The agent "dies" after starting the container and before any status: launch sends none. */
  silentStart = false;
  /** The agent "dies" mid-kill: destroy signals nothing and the container keeps running. */
  holdDestroy = false;
  /** Containers that ended while the agent was down: resolved during recover(). */
  endedWhileDown = new Map<string, Termination>();
  /** Plays the Docker executor: reports its own TASK_FAILED, then the launch fails. */
  executorFailure: string | undefined;
  private ends = new Map<string, (t: Termination) => void>();
  private waits = new Map<string, Promise<Termination>>();
  supports(): boolean {
    return true;
  }
  private track(id: string): void {
    this.waits.set(id, new Promise((r) => this.ends.set(id, r)));
  }
  async recover(known: KnownContainer[]): Promise<void> {
    this.recovered = known;
    for (const k of known) {
      const id = containerIdToString(k.containerId);
      this.track(id);
      const ended = this.endedWhileDown.get(id);
      if (ended) this.end(id, ended);
    }
  }
  async launch(spec: LaunchSpec): Promise<void> {
    this.launched.push(spec);
    if (this.executorFailure) {
      spec.sendStatus({ state: TaskState.TASK_STARTING });
      spec.sendStatus({ state: TaskState.TASK_FAILED, message: this.executorFailure });
      throw new ContainerizerError('CONTAINER_LAUNCH_FAILED', this.executorFailure);
    }
    if (this.failLaunch) throw new ContainerizerError('CONTAINER_LAUNCH_FAILED', this.failLaunch);
    // A nested container is known by Mesos's `parent.child` id.
    this.track(containerIdToString(spec.containerId));
    if (this.silentStart) return;
    spec.sendStatus({ state: TaskState.TASK_STARTING });
    spec.sendStatus({ state: TaskState.TASK_RUNNING });
  }
  wait(id: string): Promise<Termination> {
    return this.waits.get(id) ?? Promise.reject(new ContainerizerError('CONTAINER_NOT_FOUND', id));
  }
  end(id: string, t: Termination): void {
    this.ends.get(id)?.(t);
  }
  async destroy(id: string, options?: { gracePeriodMs?: number }): Promise<boolean> {
    if (!this.waits.has(id)) return false;
    // Nested containers go first, as the Mesos containerizer destroys them.
    for (const child of [...this.waits.keys()].filter((k) => k.startsWith(`${id}.`))) await this.destroy(child, options);
    this.destroyed.push({ id, ...(options?.gracePeriodMs !== undefined ? { gracePeriodMs: options.gracePeriodMs } : {}) });
    if (this.holdDestroy) return new Promise<boolean>(() => undefined);
    this.end(id, { state: TaskState.TASK_KILLED, message: 'Command terminated with signal Terminated' });
    this.waits.delete(id);
    return true;
  }
  async status(id: string) {
    return { containerId: { value: id }, networkInfos: this.networkInfos };
  }
  containers(): string[] {
    return [...this.waits.keys()];
  }
}

export const framework = (capabilities: FrameworkInfo_Capability_Type[] = []): FrameworkInfo => ({
  id: { value: 'M-0000' },
  user: 'root',
  name: 'fw',
  checkpoint: true,
  capabilities: capabilities.map((type) => ({ type })),
  roles: [],
});
export const task = (id: string, extra: Partial<TaskInfo> = {}): TaskInfo => ({
  name: id,
  taskId: { value: id },
  agentId: { value: 'M-S0' },
  // Ports in the order the framework chose them (not sorted): PORT0 is the first.
  resources: allocateResources(
    [
      ...parseResources('cpus:0.1;mem:32'),
      {
        name: 'ports',
        type: Value_Type.RANGES,
        ranges: {
          range: [
            { begin: 31005, end: 31005 },
            { begin: 31002, end: 31002 },
          ],
        },
        reservations: [],
      },
    ],
    '*',
  ),
  command: { value: 'sleep 600', uris: [], arguments: [], environment: { variables: [{ name: 'GREETING', value: 'hi' }] } },
  limits: {},
  ...extra,
});

/**
 * The hooks every agent spec shares: a scratch folder and a started FakeMaster before the suite
 * (handed to `ready`), the agent of each test closed after it, both removed after the suite.
 */
export function fakeMasterHooks(
  prefix: string,
  ready: (dir: string, master: FakeMaster) => void,
  agent: () => { close(): Promise<void> } | undefined,
  forget: () => void,
): void {
  let dir = '';
  let master: FakeMaster | undefined;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), prefix));
    master = new FakeMaster();
    await master.start();
    ready(dir, master);
  });
  afterEach(async () => {
    await agent()?.close();
    forget();
  });
  after(async () => {
    await master?.server.close(100);
    rmSync(dir, { recursive: true, force: true });
  });
}
