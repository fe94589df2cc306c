import { mkdir } from 'node:fs/promises';
import { silentLogger, type Containerizer, type Logger } from '@ippc/core';
import type { AgentInfo, agentv1, FrameworkInfo, KillPolicy, TaskInfo, TaskStatus } from '@ippc/proto';
import { AgentPaths, appendUpdate } from './checkpoint.js';
import { runTask } from './launch/run-task.js';
import { MasterLink } from './master/master-link.js';
import { acknowledge, killTask, reconcileTasks, shutdownFramework } from './master/master-messages.js';
import { hello, onMasterMessage } from './master/session.js';
import { destroy } from './executors/lifecycle.js';
import { now, type AgentContext, type AgentOptions, type ExecutorRecord, type FrameworkRecord } from './model.js';
import { recover } from './recovery/recover.js';
import { StatusUpdateManager } from './status/status-update-manager.js';

// The agent's core: what it runs (frameworks -> executors -> tasks), the launch through the
// containerizers, status updates (merged with the containerizer's ContainerStatus, the agent IP
// filled in when there are no network_infos), kills with a grace period, checkpoints and recovery.
// The Agent holds the records; what it does lives beside it, one folder per part:
//   launch/     RUN_TASK: the executor, its environment, the container's launch
//   status/     the statuses of tasks (executor's and agent's own) and the status update manager
//   executors/  a container's life: wait, terminal statuses, destroy, completion
//   master/     the session with the master and what the master asks (kill, acknowledge, reconcile, shutdown)
//   recovery/   recovery from checkpoints after a restart

export class Agent implements AgentContext {
  readonly paths: AgentPaths;
  readonly log: Logger;
  readonly startTime = now();
  readonly frameworks = new Map<string, FrameworkRecord>();
  readonly completedFrameworks: FrameworkRecord[] = [];
  readonly sum: StatusUpdateManager;
  info: AgentInfo;
  masterHostname: string | undefined;
  launchFailures = 0;
  readonly counters = { validFrameworkMessages: 0, invalidFrameworkMessages: 0 };
  stopped = false;
  private link: MasterLink | undefined;

  constructor(readonly options: AgentOptions) {
    this.paths = new AgentPaths(options.workDir);
    this.log = options.log ?? silentLogger();
    this.info = { hostname: options.hostname ?? options.ip, port: options.port, resources: options.resources, attributes: options.attributes ?? [] };
    this.sum = new StatusUpdateManager({
      log: this.log,
      ...(options.statusUpdateRetryIntervalMs !== undefined ? { retryIntervalMs: options.statusUpdateRetryIntervalMs } : {}),
      sink: {
        forward: (fid, status, latestState) =>
          this.link?.send({ message: { $case: 'statusUpdate', value: { frameworkId: { value: fid }, status, latestState } } }) ?? false,
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

  executorOfTask(fid: string, tid: string): ExecutorRecord | undefined {
    for (const e of this.frameworks.get(fid)?.executors.values() ?? []) if (e.tasks.has(tid)) return e;
    return undefined;
  }

  sendToMaster(message: NonNullable<agentv1.AgentMessage['message']>): boolean {
    return this.link?.send({ message }) ?? false;
  }

  /** Recovers from checkpoints, then opens the session with the master. */
  async start(): Promise<void> {
    await mkdir(this.paths.meta, { recursive: true });
    await recover(this);
    this.link = new MasterLink({
      address: this.options.master,
      auth: this.options.auth,
      ...(this.options.registrationBackoffMs !== undefined ? { backoffMs: this.options.registrationBackoffMs } : {}),
      log: this.log,
      hello: () => hello(this, this.pid),
      onMessage: (m) => onMasterMessage(this, m),
      onDisconnected: () => this.log.warn('disconnected from the master'),
      onFatal: (err) => {
        this.log.error({ err: err.message }, 'the master refused this agent');
        this.options.onFatal?.(err);
      },
    });
    this.link.start();
  }

  /** RUN_TASK from the master; see launch/run-task.ts. */
  runTask(frameworkInfo: FrameworkInfo, task: TaskInfo): Promise<void> {
    return runTask(this, frameworkInfo, task);
  }

  /** KILL_TASK from the master; see master/master-messages.ts. */
  killTask(fid: string, tid: string, killPolicy: KillPolicy | undefined): Promise<void> {
    return killTask(this, fid, tid, killPolicy);
  }

  acknowledge(fid: string, tid: string, uuid: Uint8Array): Promise<void> {
    return acknowledge(this, fid, tid, uuid);
  }

  /** The master's question about tasks it believes are here: unknown ones are reported lost. */
  reconcileTasks(fid: string, statuses: TaskStatus[]): Promise<void> {
    return reconcileTasks(this, fid, statuses);
  }

  /** TEARDOWN or framework removal: every container of the framework goes; nothing is reported. */
  shutdownFramework(fid: string): Promise<void> {
    return shutdownFramework(this, fid);
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
          if (e.state !== 'terminated') await destroy(this, e, 0);
        }
      }
    }
    for (const c of this.options.containerizers) (c as Containerizer & { close?: () => void }).close?.();
  }
}

export type { AgentOptions, ExecutorRecord, FrameworkRecord, TaskRecord } from './model.js';
export { commandExecutorInfo, portEnvironment } from './launch/executor-info.js';
export { mergeContainerStatus } from './status/status-updates.js';
