import { allocateResources, parseResources } from '@ippc/mesos';
import {
  CheckInfo_Type,
  ContainerInfo_Type,
  Environment_Variable_Type,
  ExecutorInfo_Type,
  HealthCheck_Type,
  Value_Type,
  type ExecutorInfo,
  type TaskInfo,
} from '@ippc/proto';

// Mesos's task validation, case by case: a change to a valid task and the message Mesos answers
// with (TASK_ERROR, SOURCE_MASTER, REASON_TASK_INVALID). Shared by the unit spec (validation in
// memory) and the integration test (the same tasks through a real master over gRPC).

export interface ValidationCase {
  name: string;
  /** Turns the valid task into the invalid one (`agentId` and `frameworkId` are the real ones). */
  mutate(task: TaskInfo, ids: { agentId: string; frameworkId: string; offered: string }): TaskInfo;
  /** Mesos's message, verbatim; a function when it embeds ids or resources. */
  message: string | ((ids: { agentId: string; frameworkId: string; offered: string }) => string);
}

const scalar = (name: string, value: number) => ({ name, type: Value_Type.SCALAR, scalar: { value }, reservations: [] });

export const VALIDATION_CASES: ValidationCase[] = [
  { name: 'empty task id', mutate: (t) => ({ ...t, taskId: { value: '' } }), message: 'ID must not be empty' },
  { name: 'task id . ', mutate: (t) => ({ ...t, taskId: { value: '..' } }), message: "'..' is disallowed" },
  { name: 'task id with a slash', mutate: (t) => ({ ...t, taskId: { value: 'a/b' } }), message: "'a/b' contains invalid characters" },
  { name: 'task id too long', mutate: (t) => ({ ...t, taskId: { value: 'x'.repeat(256) } }), message: 'ID must not be greater than 255 characters' },
  {
    name: 'another agent',
    mutate: (t) => ({ ...t, agentId: { value: 'elsewhere-S9' } }),
    message: ({ agentId }) => `Task uses invalid agent elsewhere-S9 while agent ${agentId} is expected`,
  },
  {
    name: 'negative kill grace period',
    mutate: (t) => ({ ...t, killPolicy: { gracePeriod: { nanoseconds: -1 } } }),
    message: "Task's 'kill_policy.grace_period' must be non-negative",
  },
  {
    name: 'negative max completion time',
    mutate: (t) => ({ ...t, maxCompletionTime: { nanoseconds: -1 } }),
    message: "Task's `max_completion_time` must be non-negative",
  },
  { name: 'check without type', mutate: (t) => ({ ...t, check: {} }), message: "Task uses invalid check: CheckInfo must specify 'type'" },
  {
    name: 'HTTP check without http',
    mutate: (t) => ({ ...t, check: { type: CheckInfo_Type.HTTP } }),
    message: "Task uses invalid check: Expecting 'http' to be set for HTTP check",
  },
  { name: 'health check without type', mutate: (t) => ({ ...t, healthCheck: {} }), message: "Task uses invalid health check: HealthCheck must specify 'type'" },
  {
    name: 'COMMAND health check without command',
    mutate: (t) => ({ ...t, healthCheck: { type: HealthCheck_Type.COMMAND } }),
    message: "Task uses invalid health check: Expecting 'command' to be set for COMMAND health check",
  },
  {
    name: 'HTTP health check with a bad scheme',
    mutate: (t) => ({ ...t, healthCheck: { type: HealthCheck_Type.HTTP, http: { port: 80, scheme: 'ftp', statuses: [] } } }),
    message: "Task uses invalid health check: Unsupported HTTP health check scheme: 'ftp'",
  },
  {
    name: 'HTTP health check path without slash',
    mutate: (t) => ({ ...t, healthCheck: { type: HealthCheck_Type.HTTP, http: { port: 80, path: 'health', statuses: [] } } }),
    message: "Task uses invalid health check: The path 'health' of HTTP health check must start with '/'",
  },
  {
    name: 'negative health check delay',
    mutate: (t) => ({ ...t, healthCheck: { type: HealthCheck_Type.TCP, tcp: { port: 80 }, delaySeconds: -1 } }),
    message: "Task uses invalid health check: Expecting 'delay_seconds' to be non-negative",
  },
  { name: 'no resources', mutate: (t) => ({ ...t, resources: [] }), message: 'Task uses no resources' },
  {
    name: 'negative cpus',
    mutate: (t) => ({ ...t, resources: [scalar('cpus', -1)] }),
    message: 'Task uses invalid resources: Invalid resources: Invalid scalar resource: value < 0',
  },
  {
    name: 'inverted port range',
    mutate: (t) => ({
      ...t,
      resources: [...t.resources, { name: 'ports', type: Value_Type.RANGES, ranges: { range: [{ begin: 31010, end: 31000 }] }, reservations: [] }],
    }),
    message: 'Task uses invalid resources: Invalid resources: Invalid ranges resource: begin > end',
  },
  {
    name: 'fractional gpus',
    mutate: (t) => ({ ...t, resources: [...t.resources, scalar('gpus', 0.5)] }),
    message: "Task uses invalid resources: Invalid 'gpus' resource: The 'gpus' resource must be an unsigned integer",
  },
  {
    name: 'environment variable without value',
    mutate: (t) => ({ ...t, command: { ...t.command!, environment: { variables: [{ name: 'FOO', type: Environment_Variable_Type.VALUE }] } } }),
    message: "Task's `CommandInfo` is invalid: Environment variable 'FOO' of type 'VALUE' must have a value set",
  },
  {
    name: 'DOCKER container without docker',
    mutate: (t) => ({ ...t, container: { type: ContainerInfo_Type.DOCKER, networkInfos: [] } }),
    message: "Task's `ContainerInfo` is invalid: DockerInfo 'docker' is not set for DOCKER typed ContainerInfo",
  },
  {
    name: "docker parameter 'name'",
    mutate: (t) => ({
      ...t,
      container: {
        type: ContainerInfo_Type.DOCKER,
        docker: { image: 'busybox', portMappings: [], parameters: [{ key: 'name', value: 'x' }] },
        networkInfos: [],
      },
    }),
    message: "Task's `ContainerInfo` is invalid: Parameter in DockerInfo must not be 'name'",
  },
  { name: 'resource limits', mutate: (t) => ({ ...t, limits: { cpus: { value: 2 } } }), message: 'Agent is not capable of handling task resource limits' },
  {
    name: 'both command and executor',
    mutate: (t, { frameworkId }) => ({
      ...t,
      executor: { executorId: { value: 'e' }, frameworkId: { value: frameworkId }, command: { value: 'x', uris: [], arguments: [] }, resources: [] },
    }),
    message: 'Task should have at least one (but not both) of CommandInfo or ExecutorInfo present',
  },
  {
    name: 'neither command nor executor',
    mutate: (t) => ({ ...t, command: undefined }),
    message: 'Task should have at least one (but not both) of CommandInfo or ExecutorInfo present',
  },
  {
    name: 'DEFAULT executor with a command',
    mutate: (t, { frameworkId }) => ({
      ...t,
      command: undefined,
      executor: {
        type: ExecutorInfo_Type.DEFAULT,
        executorId: { value: 'e' },
        frameworkId: { value: frameworkId },
        command: { value: 'x', uris: [], arguments: [] },
        resources: [],
      },
    }),
    message: "'ExecutorInfo.command' must not be set for 'DEFAULT' executor",
  },
  {
    name: 'CUSTOM executor without a command',
    mutate: (t, { frameworkId }) => ({
      ...t,
      command: undefined,
      executor: { type: ExecutorInfo_Type.CUSTOM, executorId: { value: 'e' }, frameworkId: { value: frameworkId }, resources: [] },
    }),
    message: "'ExecutorInfo.command' must be set for 'CUSTOM' executor",
  },
  {
    name: 'executor of another framework',
    mutate: (t) => ({
      ...t,
      command: undefined,
      executor: { executorId: { value: 'e' }, frameworkId: { value: 'other-0000' }, command: { value: 'x', uris: [], arguments: [] }, resources: [] },
    }),
    message: ({ frameworkId }) => `ExecutorInfo has an invalid FrameworkID (Actual: other-0000 vs Expected: ${frameworkId})`,
  },
  {
    name: 'DEFAULT executor on LAUNCH',
    mutate: (t, { frameworkId }) => ({
      ...t,
      command: undefined,
      executor: { type: ExecutorInfo_Type.DEFAULT, executorId: { value: 'e' }, frameworkId: { value: frameworkId }, resources: [] },
    }),
    message: "'ExecutorInfo.type' must be 'CUSTOM'",
  },
  {
    name: 'executor without command',
    mutate: (t, { frameworkId }) => ({
      ...t,
      command: undefined,
      executor: { executorId: { value: 'e' }, frameworkId: { value: frameworkId }, resources: [] },
    }),
    message: "'ExecutorInfo.command' must be set",
  },
  {
    name: 'executor with a DOCKER container without docker',
    mutate: (t, { frameworkId }) => ({
      ...t,
      command: undefined,
      executor: {
        executorId: { value: 'e' },
        frameworkId: { value: frameworkId },
        command: { value: 'x', uris: [], arguments: [] },
        container: { type: ContainerInfo_Type.DOCKER, networkInfos: [] },
        resources: [],
      },
    }),
    message: "Executor's `ContainerInfo` is invalid: DockerInfo 'docker' is not set for DOCKER typed ContainerInfo",
  },
  {
    name: 'more cpus than offered',
    mutate: (t) => ({ ...t, resources: [scalar('cpus', 1000), scalar('mem', 32)] }),
    message: ({ offered }) =>
      `Total resources cpus(allocated: *):1000; mem(allocated: *):32 required by task and its executor is more than available ${offered}`,
  },
  {
    name: 'ports outside the offer',
    mutate: (t) => ({
      ...t,
      resources: [...t.resources, { name: 'ports', type: Value_Type.RANGES, ranges: { range: [{ begin: 31999, end: 31999 }] }, reservations: [] }],
    }),
    message: ({ offered }) =>
      `Total resources cpus(allocated: *):0.1; mem(allocated: *):32; ports(allocated: *):[31999-31999] required by task and its executor is more than available ${offered}`,
  },
];

// Mesos's task group validation (LAUNCH_GROUP), case by case: a change to a valid group (a DEFAULT
// executor with cpus, mem and disk, and two command tasks) and the message Mesos answers every
// task of the group with (TASK_ERROR, SOURCE_MASTER, REASON_TASK_GROUP_INVALID).

export interface TaskGroup {
  executor: ExecutorInfo;
  tasks: TaskInfo[];
}

export interface GroupValidationCase {
  name: string;
  /** Turns the valid group into the invalid one. */
  mutate(group: TaskGroup, ids: { agentId: string; frameworkId: string; offered: string }): TaskGroup;
  message: string | ((ids: { agentId: string; frameworkId: string; offered: string }) => string);
}

const allocated = (resources: string) => allocateResources(parseResources(resources), '*');

/** The valid group the cases start from: executor `default` (cpus:0.1;mem:32;disk:32), tasks `t1` and `t2` (cpus:0.1;mem:32 each). */
export function validGroup(agentId: string, frameworkId: string): TaskGroup {
  const task = (id: string): TaskInfo => ({
    name: id,
    taskId: { value: id },
    agentId: { value: agentId },
    resources: allocated('cpus:0.1;mem:32'),
    command: { value: 'sleep 100', uris: [], arguments: [] },
    limits: {},
  });
  return {
    executor: {
      type: ExecutorInfo_Type.DEFAULT,
      executorId: { value: 'default' },
      frameworkId: { value: frameworkId },
      resources: allocated('cpus:0.1;mem:32;disk:32'),
    },
    tasks: [task('t1'), task('t2')],
  };
}

const withTask = (g: TaskGroup, i: number, change: (t: TaskInfo) => TaskInfo): TaskGroup => ({ ...g, tasks: g.tasks.map((t, j) => (j === i ? change(t) : t)) });
const withExecutor = (g: TaskGroup, change: (e: ExecutorInfo) => ExecutorInfo): TaskGroup => ({ ...g, executor: change(g.executor) });
const ownNetwork = { type: ContainerInfo_Type.MESOS, networkInfos: [{ name: 'blue', groups: [], ipAddresses: [], portMappings: [] }] };
const command = { value: 'x', uris: [], arguments: [] };

export const GROUP_VALIDATION_CASES: GroupValidationCase[] = [
  {
    name: 'a task with an empty id',
    mutate: (g) => withTask(g, 0, (t) => ({ ...t, taskId: { value: '' } })),
    message: "Task '' is invalid: ID must not be empty",
  },
  {
    name: 'the second task on another agent',
    mutate: (g) => withTask(g, 1, (t) => ({ ...t, agentId: { value: 'elsewhere-S9' } })),
    message: ({ agentId }) => `Task 't2' is invalid: Task uses invalid agent elsewhere-S9 while agent ${agentId} is expected`,
  },
  {
    name: 'two tasks with one id',
    mutate: (g) => withTask(g, 1, (t) => ({ ...t, taskId: { value: 't1' } })),
    message: "Task 't1' is invalid: Task has duplicate ID: t1",
  },
  {
    name: 'a task without resources',
    mutate: (g) => withTask(g, 0, (t) => ({ ...t, resources: [] })),
    message: "Task 't1' is invalid: Task uses no resources",
  },
  {
    name: 'a task with networks of its own and an HTTP health check',
    mutate: (g) => withTask(g, 0, (t) => ({ ...t, container: ownNetwork, healthCheck: { type: HealthCheck_Type.HTTP, http: { port: 8080, statuses: [] } } })),
    message: "Task 't1' is invalid: HTTP and TCP health checks are not supported for nested containers not joining parent's network",
  },
  {
    name: 'a task with networks of its own and a TCP health check',
    mutate: (g) => withTask(g, 1, (t) => ({ ...t, container: ownNetwork, healthCheck: { type: HealthCheck_Type.TCP, tcp: { port: 8080 } } })),
    message: "Task 't2' is invalid: HTTP and TCP health checks are not supported for nested containers not joining parent's network",
  },
  {
    name: 'a task in a DOCKER container',
    mutate: (g) =>
      withTask(g, 0, (t) => ({
        ...t,
        container: { type: ContainerInfo_Type.DOCKER, docker: { image: 'busybox', portMappings: [], parameters: [] }, networkInfos: [] },
      })),
    message: "Task 't1' is invalid: Docker ContainerInfo is not supported on the task",
  },
  {
    name: 'a task with resource limits',
    mutate: (g) => withTask(g, 0, (t) => ({ ...t, limits: { cpus: { value: 1 } } })),
    message: "Task 't1' is invalid: Agent is not capable of handling task resource limits",
  },
  {
    name: 'a task with an executor of its own',
    mutate: (g, { frameworkId }) =>
      withTask(g, 1, (t) => ({
        ...t,
        executor: { type: ExecutorInfo_Type.CUSTOM, executorId: { value: 'mine' }, frameworkId: { value: frameworkId }, command, resources: [] },
      })),
    message: "The `ExecutorInfo` of task 't2' is different from executor 'default'",
  },
  { name: 'an executor without type', mutate: (g) => withExecutor(g, (e) => ({ ...e, type: undefined })), message: "'ExecutorInfo.type' must be set" },
  { name: 'an executor of type UNKNOWN', mutate: (g) => withExecutor(g, (e) => ({ ...e, type: ExecutorInfo_Type.UNKNOWN })), message: 'Unknown executor type' },
  {
    name: 'a DEFAULT executor with a command',
    mutate: (g) => withExecutor(g, (e) => ({ ...e, command })),
    message: "'ExecutorInfo.command' must not be set for 'DEFAULT' executor",
  },
  {
    name: 'a DEFAULT executor in a DOCKER container',
    mutate: (g) =>
      withExecutor(g, (e) => ({
        ...e,
        container: { type: ContainerInfo_Type.DOCKER, docker: { image: 'busybox', portMappings: [], parameters: [] }, networkInfos: [] },
      })),
    message: "'ExecutorInfo.container.type' must be 'MESOS' for 'DEFAULT' executor",
  },
  {
    name: 'a DEFAULT executor with an image',
    mutate: (g) => withExecutor(g, (e) => ({ ...e, container: { type: ContainerInfo_Type.MESOS, mesos: { image: {} }, networkInfos: [] } })),
    message: "'ExecutorInfo.container.mesos.image' must not be set for 'DEFAULT' executor",
  },
  {
    name: 'a CUSTOM executor without a command',
    mutate: (g) => withExecutor(g, (e) => ({ ...e, type: ExecutorInfo_Type.CUSTOM })),
    message: "'ExecutorInfo.command' must be set for 'CUSTOM' executor",
  },
  {
    name: 'a CUSTOM executor in a DOCKER container',
    mutate: (g) =>
      withExecutor(g, (e) => ({
        ...e,
        type: ExecutorInfo_Type.CUSTOM,
        command,
        container: { type: ContainerInfo_Type.DOCKER, docker: { image: 'busybox', portMappings: [], parameters: [] }, networkInfos: [] },
      })),
    message: 'Docker ContainerInfo is not supported on the executor',
  },
  { name: 'an executor with an empty id', mutate: (g) => withExecutor(g, (e) => ({ ...e, executorId: { value: '' } })), message: 'ID must not be empty' },
  {
    name: 'an executor without framework_id',
    mutate: (g) => withExecutor(g, (e) => ({ ...e, frameworkId: undefined })),
    message: "'ExecutorInfo.framework_id' must be set",
  },
  {
    name: 'an executor of another framework',
    mutate: (g) => withExecutor(g, (e) => ({ ...e, frameworkId: { value: 'other-0000' } })),
    message: ({ frameworkId }) => `ExecutorInfo has an invalid FrameworkID (Actual: other-0000 vs Expected: ${frameworkId})`,
  },
  {
    name: 'a negative shutdown grace period',
    mutate: (g) => withExecutor(g, (e) => ({ ...e, shutdownGracePeriod: { nanoseconds: -1 } })),
    message: "ExecutorInfo's 'shutdown_grace_period' must be non-negative",
  },
  {
    name: 'an executor with negative cpus',
    mutate: (g) => withExecutor(g, (e) => ({ ...e, resources: [scalar('cpus', -1), ...allocated('mem:32;disk:32')] })),
    message: 'Executor uses invalid resources: Invalid resources: Invalid scalar resource: value < 0',
  },
  {
    name: 'an executor below the minimum cpus',
    mutate: (g) => withExecutor(g, (e) => ({ ...e, resources: allocated('cpus:0.005;mem:32;disk:32') })),
    message: "Executor 'default' uses less CPUs (0.005) than the minimum required (0.01)",
  },
  {
    name: 'an executor without cpus',
    mutate: (g) => withExecutor(g, (e) => ({ ...e, resources: allocated('mem:32;disk:32') })),
    message: "Executor 'default' uses less CPUs (None) than the minimum required (0.01)",
  },
  {
    name: 'an executor below the minimum memory',
    mutate: (g) => withExecutor(g, (e) => ({ ...e, resources: allocated('cpus:0.1;mem:16;disk:32') })),
    message: "Executor 'default' uses less memory (16MB) than the minimum required (32MB)",
  },
  {
    name: 'an executor without memory',
    mutate: (g) => withExecutor(g, (e) => ({ ...e, resources: allocated('cpus:0.1;disk:32') })),
    message: "Executor 'default' uses less memory (None) than the minimum required (32MB)",
  },
  {
    name: 'an executor without disk',
    mutate: (g) => withExecutor(g, (e) => ({ ...e, resources: allocated('cpus:0.1;mem:32') })),
    message: "Executor 'default' uses no disk",
  },
  {
    name: 'a port taken by a task and by the executor',
    mutate: (g) => {
      const port = withTask(g, 0, (t) => ({ ...t, resources: allocated('cpus:0.1;mem:32;ports:[31000-31000]') }));
      return withExecutor(port, (e) => ({ ...e, resources: allocated('cpus:0.1;mem:32;disk:32;ports:[31000-31000]') }));
    },
    message:
      "There are overlapping resources in the task group's task resources [ cpus(allocated: *):0.1; mem(allocated: *):32; ports(allocated: *):[31000-31000], cpus(allocated: *):0.1; mem(allocated: *):32 ] and/or executor resources cpus(allocated: *):0.1; mem(allocated: *):32; disk(allocated: *):32; ports(allocated: *):[31000-31000]",
  },
  {
    name: 'more memory than offered',
    mutate: (g) => withTask(g, 1, (t) => ({ ...t, resources: allocated('cpus:0.1;mem:100000') })),
    message: ({ offered }) =>
      `Total resources cpus(allocated: *):0.3; mem(allocated: *):100064; disk(allocated: *):32 required by task group and its executor are more than available ${offered}`,
  },
];
