import { Mutex, type AuthConfig, type Containerizer, type Logger } from '@ippc/core';
import { taskFromTaskInfo } from '@ippc/mesos';
import type {
  AgentInfo,
  agentv1,
  Attribute,
  ExecutorInfo,
  executorv1,
  FrameworkInfo,
  Resource,
  Task,
  TaskInfo,
  TaskState,
  TaskStatus_Reason,
} from '@ippc/proto';
import type { AgentPaths } from './checkpoint.js';
import type { AgentError } from './errors.js';
import type { StatusUpdateManager } from './status/status-update-manager.js';

// What the agent runs (frameworks -> executors -> tasks), as records, and the context every part
// of the agent works on. The parts (launch/, status/, executors/, master/, recovery/) are functions
// over an AgentContext; the Agent class (agent.ts) is that context and its public face.

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
  /** How long a custom executor has to subscribe after its container started. Default 60 s (Mesos `--executor_registration_timeout`). */
  executorRegistrationTimeoutMs?: number;
  /** How long a custom executor has to subscribe again after an agent restart. Default 2 s (Mesos `--executor_reregistration_timeout`). */
  executorReregistrationTimeoutMs?: number;
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
  readonly queue: Mutex;
  /** A terminal status was queued (set at once, before it is built): nothing may follow it. */
  terminalSent: boolean;
  /** The framework asked to kill it (checkpointed): its end is TASK_KILLED, also after a restart. */
  killRequested?: boolean;
  /** A custom executor's task: the TaskInfo it is given in LAUNCH. */
  info?: TaskInfo;
  /** Waiting for its custom executor to subscribe (Mesos's queued tasks): LAUNCH not sent yet. */
  queued?: boolean;
  /** The task group it came in (LAUNCH_GROUP): its tasks are delivered, and on the default executor killed, together. */
  group?: string;
  /** On the default executor: the id of its nested container (child of the executor's container). */
  nested?: string;
}

/** A subscribed custom executor's event stream (the response of its SUBSCRIBE). */
export interface ExecutorStream {
  send(event: executorv1.Event): void;
  close(): void;
}

export interface ExecutorRecord {
  id: string;
  /**
   * Who reports the tasks: `command`, the agent itself playing Mesos's command executor (one task,
   * statuses from the containerizer); `custom`, the framework's executor over the executor API
   * (several tasks, statuses from its UPDATE calls); `default`, Mesos's default executor for task
   * groups, played by the agent (each task a nested container in the executor's container).
   */
  kind: 'command' | 'custom' | 'default';
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
  /** A custom executor's event stream while it is subscribed. */
  stream?: ExecutorStream;
  /** A custom executor subscribed once (Mesos: it left REGISTERING); it may send calls while reconnecting. */
  subscribed?: boolean;
  /** Rebuilt from checkpoints after an agent restart and not subscribed since (Mesos: a recovered executor in REGISTERING). */
  recovered?: boolean;
  /** Fires when a custom executor has not subscribed in time. */
  registrationTimer?: NodeJS.Timeout;
  /** Why the agent ended a custom executor (a (re)registration timeout): its tasks' terminal state and reason (Mesos's `pendingTermination`). */
  ending?: { state: TaskState; reason: TaskStatus_Reason; message: string };
}

export interface FrameworkRecord {
  id: string;
  info: FrameworkInfo;
  executors: Map<string, ExecutorRecord>;
  completedExecutors: ExecutorRecord[];
}

/** What every part of the agent works on. */
export interface AgentContext {
  readonly options: AgentOptions;
  readonly paths: AgentPaths;
  readonly log: Logger;
  readonly frameworks: Map<string, FrameworkRecord>;
  readonly completedFrameworks: FrameworkRecord[];
  /** The status update manager: every status goes through it to the master, until acknowledged. */
  readonly sum: StatusUpdateManager;
  info: AgentInfo;
  /** The id the master gave (undefined until the first registration). */
  readonly id: string | undefined;
  launchFailures: number;
  /** Framework messages for executors: delivered (valid) or dropped (invalid), as Mesos's `slave/*_framework_messages`. */
  readonly counters: { validFrameworkMessages: number; invalidFrameworkMessages: number };
  readonly stopped: boolean;
  executorOfTask(fid: string, tid: string): ExecutorRecord | undefined;
  /** Sends a message to the master now; false when there is no session (the message is not kept). */
  sendToMaster(message: NonNullable<agentv1.AgentMessage['message']>): boolean;
}

/** Seconds since the epoch, as Mesos's state endpoints give times. */
export const now = (): number => Date.now() / 1000;

/** The framework's record, made when its first task arrives (or is recovered). */
export function frameworkRecord(a: AgentContext, info: FrameworkInfo): FrameworkRecord {
  const fid = info.id?.value ?? '';
  let f = a.frameworks.get(fid);
  if (!f) {
    f = { id: fid, info, executors: new Map(), completedExecutors: [] };
    a.frameworks.set(fid, f);
  }
  return f;
}

/** The record of a task the agent takes on (STAGING, Mesos's Task for the TaskInfo); `extra` for a custom or default executor's task. */
export function taskRecord(a: AgentContext, frameworkInfo: FrameworkInfo, task: TaskInfo, extra: Partial<TaskRecord> = {}): TaskRecord {
  const record = taskFromTaskInfo(task, {
    frameworkId: frameworkInfo.id?.value ?? '',
    agentId: a.id ?? '',
    ...(frameworkInfo.user !== undefined ? { frameworkUser: frameworkInfo.user } : {}),
  });
  return { task: record, queue: new Mutex(), terminalSent: false, ...extra };
}
