import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { silentLogger, type AuthConfig, type Containerizer, type ExecutorStatus, type KnownContainer, type Logger, type Termination } from '@ippc/core';
import {
  Environment_Variable_Type,
  FrameworkInfo_Capability_Type,
  NetworkInfo_Protocol,
  TaskState,
  TaskStatus_Reason,
  TaskStatus_Source,
  Value_Type,
  agentv1,
  type AgentInfo,
  type Attribute,
  type ContainerStatus,
  type ExecutorInfo,
  type FrameworkInfo,
  type KillPolicy,
  type Resource,
  type Task,
  type TaskInfo,
  type TaskStatus,
} from '@ippc/proto';
import { allocateResources, createTaskStatus, hasCapability, isPartitionAware, isTerminalState, parseResources, recordStatus, taskFromTaskInfo } from '@ippc/mesos';
import {
  AgentPaths,
  appendUpdate,
  checkpointAgent,
  checkpointFramework,
  checkpointRun,
  markRunCompleted,
  readLatestAgent,
  readRuns,
  removeFrameworkCheckpoint,
} from './checkpoint.js';
import { AgentError } from './errors.js';
import { MasterLink } from './master-link.js';
import { StatusUpdateManager } from './status-update-manager.js';

// The agent's core: what it runs (frameworks -> executors -> tasks), the launch through the
// containerizers, status updates (merged with the containerizer's ContainerStatus, the agent IP
// filled in when there are no network_infos), kills with a grace period, checkpoints and recovery.

const now = () => Date.now() / 1000;

/** Mesos's allowance for the command executor (slave/constants.hpp). */
const DEFAULT_EXECUTOR_CPUS = 0.1;
const DEFAULT_EXECUTOR_MEM = 32;

export interface AgentOptions {
  /** `host:port` of the master. */
  master: string;
  auth: AuthConfig;
  /** The agent's IP: advertised to the master and reported for tasks without network_infos. */
  ip: string;
  /** IPv6 address also reported for such tasks (Mesos: LIBPROCESS_IP6). */
  ip6?: string;
  /** Port of the agent's HTTP endpoints (advertised in its pid). */
  port: number;
  /** Default: `ip`. */
  hostname?: string;
  /** Checkpoints and sandboxes (Mesos's `--work_dir`). */
  workDir: string;
  /** What the agent offers. */
  resources: Resource[];
  attributes?: Attribute[];
  /** Tried in order for each task (`--containerizers=docker,mesos`). */
  containerizers: Containerizer[];
  /** First status update retry interval. Default 10 s. */
  statusUpdateRetryIntervalMs?: number;
  /** First re-registration delay. Default 1 s. */
  registrationBackoffMs?: number;
  /** Grace period of a kill when neither the kill nor the task has a kill policy. Default 5 s (Mesos `--executor_shutdown_grace_period`). */
  defaultKillGracePeriodMs?: number;
  /** `reconnect` (default): recover what runs. `cleanup`: kill it all and start as a new agent. */
  recover?: 'reconnect' | 'cleanup';
  /** Flags shown on `/state`. */
  flags?: Record<string, string>;
  log?: Logger;
  /** The master refused this agent for good; the process should exit. */
  onFatal?: (err: AgentError) => void;
}

export interface TaskRecord {
  task: Task;
  /** Statuses of this task are built and queued one after the other. */
  chain: Promise<void>;
  /** A terminal status was queued (set at once, before it is built): nothing may follow it. */
  terminalSent: boolean;
  /** The framework asked to kill it (checkpointed): its end is TASK_KILLED, also after a restart. */
  killRequested?: boolean;
}

export interface ExecutorRecord {
  id: string;
  frameworkId: string;
  info: ExecutorInfo;
  containerId: string;
  containerizer: Containerizer;
  sandbox: string;
  state: 'launching' | 'running' | 'terminated';
  tasks: Map<string, TaskRecord>;
  completedTasks: Task[];
  launch?: Promise<boolean>;
  /** A kill came while the container was launching: its grace (ms), applied once it runs. */
  pendingKillGraceMs?: number;
  destroying?: Promise<void>;
  /** The containerizer reported the container's end (its wait() resolved). */
  ended?: boolean;
}

export interface FrameworkRecord {
  id: string;
  info: FrameworkInfo;
  executors: Map<string, ExecutorRecord>;
  completedExecutors: ExecutorRecord[];
}

/** `PORT0..N` and `PORTS` for the task's ports, in the order the task lists them. */
export function portEnvironment(resources: readonly Resource[]): Record<string, string> {
  const ports: number[] = [];
  for (const r of resources) {
    if (r.name !== 'ports' || r.type !== Value_Type.RANGES) continue;
    for (const range of r.ranges?.range ?? []) for (let p = Number(range.begin); p <= Number(range.end) && ports.length < 65536; p++) ports.push(p);
  }
  const env: Record<string, string> = {};
  ports.forEach((p, i) => (env[`PORT${i}`] = String(p)));
  if (ports.length > 0) env.PORTS = ports.join(',');
  return env;
}

/** Mesos's `getExecutorInfo` for a command task: the command executor, with `TaskInfo.container` copied in. */
export function commandExecutorInfo(frameworkId: string, task: TaskInfo, role: string): ExecutorInfo {
  const taskId = task.taskId?.value ?? '';
  const command = task.command;
  const shown = command?.shell === false ? `[${[command.value ?? '', ...(command.arguments ?? []).slice(1)].join(', ')}]` : `sh -c '${(command?.value ?? '').length > 15 ? (command?.value ?? '').slice(0, 12) + '...' : (command?.value ?? '')}'`;
  return {
    executorId: { value: taskId },
    frameworkId: { value: frameworkId },
    name: `Command Executor (Task: ${taskId}) (Command: ${shown})`,
    source: taskId,
    ...(command ? { command } : {}),
    ...(task.container ? { container: task.container } : {}),
    resources: allocateResources(parseResources(`cpus:${DEFAULT_EXECUTOR_CPUS};mem:${DEFAULT_EXECUTOR_MEM}`), role),
    ...(task.labels ? { labels: task.labels } : {}),
  };
}

/**
 * Merges what the executor sent with the containerizer's ContainerStatus (protobuf MergeFrom:
 * repeated fields appended) and, when there are still no network_infos, adds one NetworkInfo with
 * the agent's IP (and IPv6), Mesos's rule for tasks on the agent's network.
 */
export function mergeContainerStatus(fromExecutor: ContainerStatus | undefined, fromContainerizer: ContainerStatus | undefined, agentIp: string, agentIp6?: string): ContainerStatus {
  const out: ContainerStatus = { networkInfos: [...(fromExecutor?.networkInfos ?? [])] };
  for (const src of [fromExecutor, fromContainerizer]) {
    if (!src) continue;
    if (src.containerId) out.containerId = src.containerId;
    if (src.cgroupInfo) out.cgroupInfo = src.cgroupInfo;
    if (src.executorPid !== undefined) out.executorPid = src.executorPid;
  }
  out.networkInfos.push(...(fromContainerizer?.networkInfos ?? []));
  if (out.networkInfos.length === 0) {
    out.networkInfos.push({
      ipAddresses: [{ ipAddress: agentIp }, ...(agentIp6 ? [{ protocol: NetworkInfo_Protocol.IPv6, ipAddress: agentIp6 }] : [])],
      groups: [],
      portMappings: [],
    });
  }
  return out;
}

export class Agent {
  readonly paths: AgentPaths;
  readonly log: Logger;
  readonly startTime = now();
  readonly frameworks = new Map<string, FrameworkRecord>();
  readonly completedFrameworks: FrameworkRecord[] = [];
  readonly sum: StatusUpdateManager;
  info: AgentInfo;
  masterHostname: string | undefined;
  launchFailures = 0;
  private link: MasterLink | undefined;
  private stopped = false;

  constructor(readonly options: AgentOptions) {
    this.paths = new AgentPaths(options.workDir);
    this.log = options.log ?? silentLogger();
    this.info = { hostname: options.hostname ?? options.ip, port: options.port, resources: options.resources, attributes: options.attributes ?? [] };
    this.sum = new StatusUpdateManager({
      log: this.log,
      ...(options.statusUpdateRetryIntervalMs !== undefined ? { retryIntervalMs: options.statusUpdateRetryIntervalMs } : {}),
      sink: {
        forward: (fid, status, latestState) => this.link?.send({ message: { $case: 'statusUpdate', value: { frameworkId: { value: fid }, status, latestState } } }) ?? false,
        checkpointUpdate: async (fid, tid, status) => {
          const e = this.executorOfTask(fid, tid);
          if (e && this.id) await appendUpdate(this.paths, this.id, fid, e.id, e.containerId, tid, { type: 'UPDATE', status });
        },
        checkpointAck: async (fid, tid, uuid) => {
          const e = this.executorOfTask(fid, tid);
          if (e && this.id) await appendUpdate(this.paths, this.id, fid, e.id, e.containerId, tid, { type: 'ACK', uuid });
        },
      },
    });
  }

  get id(): string | undefined {
    return this.info.id?.value;
  }

  /** `slave(1)@ip:port`, Mesos's pid of the agent. */
  get pid(): string {
    return `slave(1)@${this.options.ip}:${this.options.port}`;
  }

  get registered(): boolean {
    return this.link?.isRegistered ?? false;
  }

  private executorOfTask(fid: string, tid: string): ExecutorRecord | undefined {
    for (const e of this.frameworks.get(fid)?.executors.values() ?? []) if (e.tasks.has(tid)) return e;
    return undefined;
  }

  /** Recovers from checkpoints, then opens the session with the master. */
  async start(): Promise<void> {
    await mkdir(this.paths.meta, { recursive: true });
    await this.recover();
    this.link = new MasterLink({
      address: this.options.master,
      auth: this.options.auth,
      ...(this.options.registrationBackoffMs !== undefined ? { backoffMs: this.options.registrationBackoffMs } : {}),
      log: this.log,
      hello: () => this.hello(),
      onMessage: (m) => this.onMasterMessage(m),
      onDisconnected: () => this.log.warn('disconnected from the master'),
      onFatal: (err) => {
        this.log.error({ err: err.message }, 'the master refused this agent');
        this.options.onFatal?.(err);
      },
    });
    this.link.start();
  }

  private hello(): agentv1.AgentMessage {
    const base = { version: '0.1.0', pid: this.pid };
    if (!this.id) return { message: { $case: 'registerAgent', value: { agent: this.info, ...base } } };
    const tasks: Task[] = [];
    const frameworks: FrameworkInfo[] = [];
    const executorInfos: ExecutorInfo[] = [];
    for (const f of this.frameworks.values()) {
      let any = false;
      for (const e of f.executors.values()) {
        if (e.tasks.size === 0) continue;
        for (const t of e.tasks.values()) tasks.push(t.task);
        any = true;
        // Command executors are the agent's own (their id is the task id); Mesos does not report them.
        if (!e.tasks.has(e.id)) executorInfos.push(e.info);
      }
      if (any) frameworks.push(f.info);
    }
    return { message: { $case: 'reregisterAgent', value: { agent: this.info, ...base, tasks, frameworks, executorInfos } } };
  }

  private onMasterMessage(m: agentv1.MasterMessage): void {
    const msg = m.message;
    if (!msg) return;
    const run = (p: Promise<unknown>, what: string) => p.catch((err: Error) => this.log.error({ err: err.message, stack: err.stack }, `${what} failed`));
    switch (msg.$case) {
      case 'agentRegistered':
        void run(this.onRegistered(msg.value.agentId?.value ?? ''), 'registration');
        break;
      case 'agentReregistered':
        this.log.info({ agentId: this.id }, 're-registered with the master');
        this.sum.flush();
        break;
      case 'runTask':
        void run(this.runTask(msg.value.framework!, msg.value.task!), 'run task');
        break;
      case 'killTask':
        void run(this.killTask(msg.value.frameworkId?.value ?? '', msg.value.taskId?.value ?? '', msg.value.killPolicy), 'kill task');
        break;
      case 'statusUpdateAcknowledgement':
        void run(this.acknowledge(msg.value.frameworkId?.value ?? '', msg.value.taskId?.value ?? '', msg.value.uuid ?? new Uint8Array()), 'acknowledgement');
        break;
      case 'reconcileTasks':
        void run(this.reconcileTasks(msg.value.frameworkId?.value ?? '', msg.value.statuses), 'reconciliation');
        break;
      case 'shutdownFramework':
        void run(this.shutdownFramework(msg.value.frameworkId?.value ?? ''), 'framework shutdown');
        break;
    }
  }

  private async onRegistered(agentId: string): Promise<void> {
    this.info = { ...this.info, id: { value: agentId } };
    await checkpointAgent(this.paths, this.info);
    this.log.info({ agentId }, 'registered with the master');
    this.sum.flush();
  }

  // -------------------------------------------------------------------------------------------
  // Running tasks

  /** RUN_TASK from the master. Anything that goes wrong before the container runs fails the task (never silence). */
  async runTask(frameworkInfo: FrameworkInfo, task: TaskInfo): Promise<void> {
    try {
      await this.doRunTask(frameworkInfo, task);
    } catch (err) {
      const fid = frameworkInfo.id?.value ?? '';
      const tid = task.taskId?.value ?? '';
      this.log.error({ frameworkId: fid, taskId: tid, err: (err as Error).message }, 'cannot run task');
      const exec = this.executorOfTask(fid, tid);
      const rec = exec?.tasks.get(tid);
      if (exec && rec?.terminalSent) return;
      this.launchFailures++;
      await this.sum.update(
        fid,
        createTaskStatus({
          taskId: tid,
          state: TaskState.TASK_FAILED,
          message: `Failed to launch container: ${(err as Error).message}`,
          source: TaskStatus_Source.SOURCE_AGENT,
          reason: TaskStatus_Reason.REASON_CONTAINER_LAUNCH_FAILED,
          agentId: this.id ?? '',
          uuid: true,
        }),
      );
      if (rec) {
        rec.terminalSent = true;
        if (exec) exec.state = 'terminated';
      }
    }
  }

  private async doRunTask(frameworkInfo: FrameworkInfo, task: TaskInfo): Promise<void> {
    const fid = frameworkInfo.id?.value ?? '';
    const tid = task.taskId?.value ?? '';
    if (!this.id || this.stopped) return;
    let f = this.frameworks.get(fid);
    if (!f) {
      f = { id: fid, info: frameworkInfo, executors: new Map(), completedExecutors: [] };
      this.frameworks.set(fid, f);
    }
    f.info = frameworkInfo;
    await checkpointFramework(this.paths, this.id, frameworkInfo);
    if (this.executorOfTask(fid, tid)) {
      this.log.warn({ frameworkId: fid, taskId: tid }, 'ignoring a task that already runs here');
      return;
    }
    const role = task.resources?.[0]?.allocationInfo?.role ?? frameworkInfo.role ?? '*';
    const executor = task.executor ?? commandExecutorInfo(fid, task, role);
    const eid = executor.executorId?.value ?? tid;
    const containerInfo = task.container ?? executor.container;
    const record = taskFromTaskInfo(task, { frameworkId: fid, agentId: this.id, ...(frameworkInfo.user !== undefined ? { frameworkUser: frameworkInfo.user } : {}) });
    const containerId = randomUUID();
    const containerizer = this.options.containerizers.find((c) => c.supports(containerInfo));
    const sandbox = this.paths.sandbox(this.id, fid, eid, containerId);
    const exec: ExecutorRecord = {
      id: eid,
      frameworkId: fid,
      info: executor,
      containerId,
      containerizer: containerizer ?? this.options.containerizers[0]!,
      sandbox,
      state: 'launching',
      tasks: new Map([[tid, { task: record, chain: Promise.resolve(), terminalSent: false }]]),
      completedTasks: [],
    };
    const existing = f.executors.get(eid);
    if (existing && existing.state !== 'terminated') {
      await this.sendAgentStatus(fid, exec, tid, TaskState.TASK_FAILED, `Executor ${eid} already runs a task: ippc runs one task per executor`, TaskStatus_Reason.REASON_EXECUTOR_TERMINATED, false);
      return;
    }
    f.executors.set(eid, exec);
    await mkdir(sandbox, { recursive: true });
    await checkpointRun(this.paths, this.id, fid, executor, containerId, exec.containerizer.name, record);
    if (!containerizer) {
      await this.launchFailed(f, exec, tid, `No containerizer of this agent (${this.options.containerizers.map((c) => c.name).join(',')}) supports this ContainerInfo`);
      return;
    }
    const environment: Record<string, string> = {
      MESOS_FRAMEWORK_ID: fid,
      MESOS_EXECUTOR_ID: eid,
      MESOS_TASK_ID: tid,
      MESOS_AGENT_ID: this.id,
      MESOS_SLAVE_ID: this.id,
      MESOS_AGENT_ENDPOINT: `${this.options.ip}:${this.options.port}`,
      MESOS_CONTAINER_ID: containerId,
      MESOS_SANDBOX: sandbox,
      MESOS_DIRECTORY: sandbox,
      MESOS_CHECKPOINT: frameworkInfo.checkpoint ? '1' : '0',
      HOST: this.info.hostname ?? this.options.ip,
      ...portEnvironment(task.resources ?? []),
    };
    for (const v of (task.command ?? executor.command)?.environment?.variables ?? []) {
      if ((v.type ?? Environment_Variable_Type.VALUE) === Environment_Variable_Type.VALUE && v.name && v.value !== undefined) environment[v.name] = v.value;
    }
    this.log.info({ frameworkId: fid, taskId: tid, containerId, containerizer: containerizer.name }, 'launching container');
    const taskRecord = exec.tasks.get(tid)!;
    exec.launch = containerizer
      .launch({
        containerId: { value: containerId },
        frameworkId: { value: fid },
        agentId: { value: this.id },
        task,
        executor,
        ...(containerInfo ? { containerInfo } : {}),
        sandboxDirectory: sandbox,
        environment,
        sendStatus: (s) => this.queueExecutorStatus(exec, taskRecord, s),
      })
      .then(
        () => true,
        async (err: Error) => {
          await this.launchFailed(f, exec, tid, err.message);
          return false;
        },
      );
    if (!(await exec.launch)) return;
    exec.state = 'running';
    this.watch(exec);
    if (exec.pendingKillGraceMs !== undefined) await this.destroy(exec, exec.pendingKillGraceMs);
  }

  /** Mesos (slave.cpp): TASK_FAILED, SOURCE_AGENT, REASON_CONTAINER_LAUNCH_FAILED, no container_status. */
  private async launchFailed(f: FrameworkRecord, exec: ExecutorRecord, tid: string, message: string): Promise<void> {
    this.launchFailures++;
    this.log.warn({ frameworkId: f.id, taskId: tid, containerId: exec.containerId, err: message }, 'container launch failed');
    exec.state = 'terminated';
    const t = exec.tasks.get(tid);
    if (t && !t.terminalSent) {
      await this.sendAgentStatus(f.id, exec, tid, TaskState.TASK_FAILED, `Failed to launch container: ${message}`, TaskStatus_Reason.REASON_CONTAINER_LAUNCH_FAILED, false);
    }
    if (this.id) await markRunCompleted(this.paths, this.id, f.id, exec.id, exec.containerId).catch(() => undefined);
  }

  /** A status the agent itself generates (no executor involved). */
  private async sendAgentStatus(fid: string, exec: ExecutorRecord, tid: string, state: TaskState, message: string, reason: TaskStatus_Reason, withContainer: boolean): Promise<void> {
    let t = exec.tasks.get(tid);
    if (!t) {
      t = { task: { taskId: { value: tid }, frameworkId: { value: fid }, agentId: { value: this.id ?? '' }, name: tid, state: TaskState.TASK_STAGING, resources: [], statuses: [], limits: {} }, chain: Promise.resolve(), terminalSent: false };
    }
    const rec = t;
    if (isTerminalState(state)) rec.terminalSent = true;
    await (rec.chain = rec.chain.then(async () => {
      const status = createTaskStatus({
        taskId: tid,
        state,
        message,
        source: TaskStatus_Source.SOURCE_AGENT,
        reason,
        agentId: this.id ?? '',
        executorId: exec.id,
        uuid: true,
        ...(withContainer ? { containerStatus: await this.containerStatus(exec, undefined) } : {}),
      });
      await this.record(fid, rec, status);
    }));
  }

  private async containerStatus(exec: ExecutorRecord, fromExecutor: ContainerStatus | undefined): Promise<ContainerStatus> {
    const fromContainerizer = await exec.containerizer.status(exec.containerId).catch(() => undefined);
    return mergeContainerStatus(fromExecutor, fromContainerizer, this.options.ip, this.options.ip6);
  }

  /** The containerizer's `sendStatus`, in order per task. */
  private queueExecutorStatus(exec: ExecutorRecord, rec: TaskRecord, s: ExecutorStatus): void {
    // A containerizer may send its own terminal status (e.g. the Docker executor's TASK_FAILED) and
    // then fail or end: the first terminal status wins, decided now rather than once it is built.
    if (rec.terminalSent) return;
    if (isTerminalState(s.state)) rec.terminalSent = true;
    rec.chain = rec.chain
      .then(async () => {
        const status = createTaskStatus({
          taskId: rec.task.taskId ?? {},
          state: s.state,
          message: s.message,
          source: s.source ?? TaskStatus_Source.SOURCE_EXECUTOR,
          reason: s.reason,
          agentId: this.id ?? '',
          executorId: exec.id,
          uuid: true,
          data: s.data,
          healthy: s.healthy,
          containerStatus: await this.containerStatus(exec, s.containerStatus),
        });
        await this.record(exec.frameworkId, rec, status);
      })
      .catch((err: Error) => this.log.error({ err: err.message }, 'failed to record a status update'));
  }

  private async record(fid: string, rec: TaskRecord, status: TaskStatus): Promise<void> {
    recordStatus(rec.task, status);
    this.log.info({ frameworkId: fid, taskId: status.taskId?.value, state: TaskState[status.state ?? 0], message: status.message }, 'status update');
    await this.sum.update(fid, status);
  }

  /** Waits for the container to end; then the terminal status (unless sent) and cleanup. */
  private watch(exec: ExecutorRecord): void {
    exec.containerizer.wait(exec.containerId).then(
      (t) => {
        exec.ended = true;
        void this.onTermination(exec, t).catch((err: Error) => this.log.error({ err: err.message }, 'termination handling failed'));
      },
      (err: Error) => this.log.error({ containerId: exec.containerId, err: err.message }, 'lost track of a container'),
    );
  }

  private async onTermination(exec: ExecutorRecord, t: Termination): Promise<void> {
    this.log.info({ containerId: exec.containerId, state: TaskState[t.state], message: t.message }, 'container terminated');
    for (const rec of exec.tasks.values()) {
      if (rec.terminalSent) continue;
      const agentSide = t.reason === TaskStatus_Reason.REASON_EXECUTOR_TERMINATED || t.reason === TaskStatus_Reason.REASON_CONTAINER_LAUNCH_FAILED;
      // A container that ended after the framework asked for the kill was killed, whatever its exit
      // status says (the containerizer cannot know after an agent restart; Mesos's executor does).
      const killed = rec.killRequested === true && !agentSide && t.state !== TaskState.TASK_KILLED;
      this.queueExecutorStatus(exec, rec, {
        state: killed ? TaskState.TASK_KILLED : t.state,
        ...(t.message !== undefined ? { message: t.message } : {}),
        ...(t.reason !== undefined ? { reason: t.reason } : {}),
        source: agentSide ? TaskStatus_Source.SOURCE_AGENT : TaskStatus_Source.SOURCE_EXECUTOR,
      });
      await rec.chain;
    }
    await this.destroy(exec, 0);
  }

  /** Kills (if needed) and cleans up the container; the run is marked completed. */
  private destroy(exec: ExecutorRecord, graceMs: number): Promise<void> {
    return (exec.destroying ??= (async () => {
      await exec.containerizer.destroy(exec.containerId, { gracePeriodMs: graceMs }).catch((err: Error) => this.log.error({ containerId: exec.containerId, err: err.message }, 'destroy failed'));
      exec.state = 'terminated';
      if (this.id) await markRunCompleted(this.paths, this.id, exec.frameworkId, exec.id, exec.containerId).catch(() => undefined);
      this.maybeCompleteExecutor(exec);
    })());
  }

  private maybeCompleteExecutor(exec: ExecutorRecord): void {
    if (exec.state !== 'terminated' || exec.tasks.size > 0) return;
    const f = this.frameworks.get(exec.frameworkId);
    if (!f || f.executors.get(exec.id) !== exec) return;
    f.executors.delete(exec.id);
    f.completedExecutors.push(exec);
    while (f.completedExecutors.length > 150) f.completedExecutors.shift();
  }

  async killTask(fid: string, tid: string, killPolicy: KillPolicy | undefined): Promise<void> {
    const exec = this.executorOfTask(fid, tid);
    const rec = exec?.tasks.get(tid);
    if (!exec || !rec) {
      // Unknown here: tell the framework so it stops waiting (Mesos answers the same way).
      const pa = isPartitionAware(this.frameworks.get(fid)?.info);
      this.log.warn({ frameworkId: fid, taskId: tid }, 'cannot kill an unknown task');
      const status = createTaskStatus({
        taskId: tid,
        state: pa ? TaskState.TASK_DROPPED : TaskState.TASK_LOST,
        message: 'Cannot find the task on this agent',
        source: TaskStatus_Source.SOURCE_AGENT,
        reason: TaskStatus_Reason.REASON_TASK_UNKNOWN,
        agentId: this.id ?? '',
        uuid: true,
      });
      await this.sum.update(fid, status);
      return;
    }
    if (rec.terminalSent || exec.state === 'terminated') return;
    const graceNs = killPolicy?.gracePeriod?.nanoseconds ?? rec.task.killPolicy?.gracePeriod?.nanoseconds;
    const graceMs = graceNs !== undefined ? graceNs / 1e6 : (this.options.defaultKillGracePeriodMs ?? 5000);
    if (!rec.killRequested) {
      rec.killRequested = true;
      // Durable before any signal: an agent that dies now still knows, once restarted, that the
      // container's end is a kill (TASK_KILLED), and finishes the kill if the container lives.
      if (this.id) await appendUpdate(this.paths, this.id, fid, exec.id, exec.containerId, tid, { type: 'KILL', graceMs }).catch((err: Error) => this.log.warn({ taskId: tid, err: err.message }, 'cannot checkpoint the kill'));
    }
    const killing = hasCapability(this.frameworks.get(fid)?.info, FrameworkInfo_Capability_Type.TASK_KILLING_STATE);
    this.log.info({ frameworkId: fid, taskId: tid, graceMs }, 'killing task');
    if (exec.state === 'launching') {
      exec.pendingKillGraceMs = graceMs;
      return;
    }
    if (killing) this.queueExecutorStatus(exec, rec, { state: TaskState.TASK_KILLING });
    await this.destroy(exec, graceMs);
  }

  async acknowledge(fid: string, tid: string, uuid: Uint8Array): Promise<void> {
    const acked = await this.sum.acknowledge(fid, tid, uuid);
    if (!acked || !isTerminalState(acked.state)) return;
    const exec = this.executorOfTask(fid, tid);
    const rec = exec?.tasks.get(tid);
    if (!exec || !rec) return;
    exec.tasks.delete(tid);
    exec.completedTasks.push(rec.task);
    this.maybeCompleteExecutor(exec);
  }

  /** The master's question about tasks it believes are here: unknown ones are reported lost. */
  async reconcileTasks(fid: string, statuses: TaskStatus[]): Promise<void> {
    const pa = isPartitionAware(this.frameworks.get(fid)?.info);
    for (const s of statuses) {
      const tid = s.taskId?.value ?? '';
      if (this.executorOfTask(fid, tid)) continue;
      await this.sum.update(
        fid,
        createTaskStatus({
          taskId: tid,
          state: pa ? TaskState.TASK_DROPPED : TaskState.TASK_LOST,
          message: 'Reconciliation: task unknown to the agent',
          source: TaskStatus_Source.SOURCE_AGENT,
          reason: TaskStatus_Reason.REASON_RECONCILIATION,
          agentId: this.id ?? '',
          uuid: true,
        }),
      );
    }
  }

  /** TEARDOWN or framework removal: every container of the framework goes; nothing is reported. */
  async shutdownFramework(fid: string): Promise<void> {
    const f = this.frameworks.get(fid);
    if (!f) return;
    this.log.info({ frameworkId: fid }, 'shutting down framework');
    this.sum.cleanup(fid);
    await Promise.all(
      [...f.executors.values()].map(async (e) => {
        if (e.launch) await e.launch;
        for (const t of e.tasks.values()) t.terminalSent = true;
        await this.destroy(e, this.options.defaultKillGracePeriodMs ?? 5000);
      }),
    );
    for (const e of f.executors.values()) {
      for (const t of e.tasks.values()) e.completedTasks.push(t.task);
      e.tasks.clear();
      f.completedExecutors.push(e);
    }
    f.executors.clear();
    this.frameworks.delete(fid);
    this.completedFrameworks.push(f);
    while (this.completedFrameworks.length > 50) this.completedFrameworks.shift();
    if (this.id) await removeFrameworkCheckpoint(this.paths, this.id, fid);
  }

  // -------------------------------------------------------------------------------------------
  // Recovery

  private async recover(): Promise<void> {
    const checkpointed = await readLatestAgent(this.paths);
    const mode = this.options.recover ?? 'reconnect';
    const runs = checkpointed?.id?.value ? await readRuns(this.paths, checkpointed.id.value) : [];
    const known: KnownContainer[] = [];
    for (const run of runs) {
      if (run.completed) continue;
      if (!this.options.containerizers.some((c) => c.name === run.containerizer)) {
        throw new AgentError('AGENT_CONFIG_INVALID', `Container ${run.containerId} was launched by the '${run.containerizer}' containerizer, which this agent does not run: add it to --containerizers or use --recover=cleanup`);
      }
      const t = run.tasks[0]?.task;
      known.push({
        containerId: { value: run.containerId },
        frameworkId: run.frameworkInfo.id!,
        task: {
          name: t?.name,
          taskId: t?.taskId,
          agentId: t?.agentId,
          resources: t?.resources ?? [],
          ...(run.executor.command ? { command: run.executor.command } : {}),
          ...(t?.container ? { container: t.container } : {}),
          ...(t?.labels ? { labels: t.labels } : {}),
          ...(t?.killPolicy ? { killPolicy: t.killPolicy } : {}),
          limits: {},
        },
        executor: run.executor,
        ...((t?.container ?? run.executor.container) ? { containerInfo: t?.container ?? run.executor.container } : {}),
        sandboxDirectory: this.paths.sandbox(checkpointed!.id!.value!, run.frameworkInfo.id!.value!, run.executor.executorId!.value!, run.containerId),
        containerizer: run.containerizer,
      });
    }
    if (mode === 'cleanup') {
      for (const c of this.options.containerizers) {
        const mine = known.filter((k) => k.containerizer === c.name);
        await c.recover(mine);
        for (const k of mine) await c.destroy(k.containerId.value!, { gracePeriodMs: 0 });
      }
      await rm(this.paths.meta, { recursive: true, force: true });
      await mkdir(this.paths.meta, { recursive: true });
      this.log.info({ containers: known.length }, 'recover=cleanup: killed what ran and starting as a new agent');
      return;
    }
    for (const c of this.options.containerizers) await c.recover(known.filter((k) => k.containerizer === c.name));
    if (!checkpointed?.id?.value) return;
    const unsettled: { exec: ExecutorRecord; rec: TaskRecord; killGraceMs?: number }[] = [];
    this.info = { ...this.info, id: checkpointed.id };
    const aid = checkpointed.id.value;

    for (const run of runs) {
      const fid = run.frameworkInfo.id!.value!;
      let f = this.frameworks.get(fid);
      if (!f) {
        f = { id: fid, info: run.frameworkInfo, executors: new Map(), completedExecutors: [] };
        this.frameworks.set(fid, f);
      }
      const containerizer = this.options.containerizers.find((c) => c.name === run.containerizer) ?? this.options.containerizers[0]!;
      const exec: ExecutorRecord = {
        id: run.executor.executorId!.value!,
        frameworkId: fid,
        info: run.executor,
        containerId: run.containerId,
        containerizer,
        sandbox: this.paths.sandbox(aid, fid, run.executor.executorId!.value!, run.containerId),
        state: run.completed ? 'terminated' : 'running',
        tasks: new Map(),
        completedTasks: [],
      };
      for (const { task, records } of run.tasks) {
        const tid = task.taskId!.value!;
        const { acked, pending } = this.sum.recover(fid, tid, records);
        const rebuilt: Task = { ...task, statuses: [] };
        for (const s of [...acked, ...pending]) recordStatus(rebuilt, s);
        const kill = records.findLast((r) => r.type === 'KILL');
        const rec: TaskRecord = {
          task: rebuilt,
          chain: Promise.resolve(),
          terminalSent: [...acked, ...pending].some((s) => isTerminalState(s.state)),
          ...(kill ? { killRequested: true } : {}),
        };
        if (acked.some((s) => isTerminalState(s.state))) exec.completedTasks.push(rebuilt);
        else {
          exec.tasks.set(tid, rec);
          if (!run.completed && !rec.terminalSent) unsettled.push({ exec, rec, killGraceMs: kill?.type === 'KILL' ? kill.graceMs : undefined });
        }
      }
      if (exec.state === 'terminated' && exec.tasks.size === 0) f.completedExecutors.push(exec);
      else f.executors.set(exec.id, exec);
      if (!run.completed) this.watch(exec);
    }
    this.log.info({ agentId: aid, runs: runs.length, live: known.length }, 'recovered from checkpoints');
    await this.settleRecovered(unsettled);
  }

  /**
   * What the executor would have said had it outlived the agent (in Mesos it does; here the agent
   * plays it): the agent may die after starting a task but before its TASK_RUNNING was
   * checkpointed, or after asking for a kill but before the TASK_KILLED was. For every recovered
   * container that is still alive: a kill that was asked for is carried out; otherwise a task last
   * seen STAGING or STARTING is reported TASK_RUNNING. Containers that ended while the agent was
   * down have their termination already (the containerizers resolve it during recover), so they
   * are left to onTermination.
   */
  private async settleRecovered(unsettled: { exec: ExecutorRecord; rec: TaskRecord; killGraceMs?: number }[]): Promise<void> {
    if (unsettled.length === 0) return;
    // Terminations known at recovery resolve at once; let their handlers mark the executors.
    await new Promise((resolve) => setImmediate(resolve));
    const killed = new Set<ExecutorRecord>();
    for (const { exec, rec, killGraceMs } of unsettled) {
      if (exec.ended || rec.terminalSent) continue;
      if (killGraceMs !== undefined) {
        if (killed.has(exec)) continue;
        killed.add(exec);
        this.log.info({ containerId: exec.containerId, taskId: rec.task.taskId?.value }, 'finishing a kill asked for before the agent restarted');
        void this.destroy(exec, killGraceMs);
        continue;
      }
      const last = rec.task.statuses.at(-1)?.state;
      if (last === undefined || last === TaskState.TASK_STAGING || last === TaskState.TASK_STARTING) {
        this.log.info({ containerId: exec.containerId, taskId: rec.task.taskId?.value, last: last === undefined ? 'none' : TaskState[last] }, 'the container runs: reporting TASK_RUNNING the agent could not send before it restarted');
        this.queueExecutorStatus(exec, rec, { state: TaskState.TASK_RUNNING });
      }
    }
  }

  /**
   * Stops talking to the master. Containers keep running (an agent restart finds them again)
   * unless `killTasks`.
   */
  async stop(options: { killTasks?: boolean } = {}): Promise<void> {
    this.stopped = true;
    this.link?.stop();
    this.sum.stop();
    if (options.killTasks) {
      for (const f of this.frameworks.values()) {
        for (const e of f.executors.values()) {
          if (e.launch) await e.launch;
          if (e.state !== 'terminated') await this.destroy(e, 0);
        }
      }
    }
    for (const c of this.options.containerizers) (c as Containerizer & { close?: () => void }).close?.();
  }
}
