import {
  CheckInfo_Type,
  ContainerInfo_Type,
  Environment_Variable_Type,
  ExecutorInfo_Type,
  FrameworkInfo_Capability_Type,
  HealthCheck_Type,
  Secret_Type,
  Value_Type,
  checkInfo_TypeToJSON,
  healthCheck_TypeToJSON,
  schedulerv1,
  type CheckInfo,
  type CommandInfo,
  type ContainerInfo,
  type Environment,
  type ExecutorInfo,
  type FrameworkInfo,
  type HealthCheck,
  type Resource,
  type Secret,
  type TaskInfo,
} from '@ippc/proto';
import { addResources, containsResources, formatResources, normalizeResources, subtractResources, validateResources } from '@ippc/mesos';

// Mesos's master validation (src/master/validation.cpp, src/common/validation.cpp,
// src/common/resources.cpp at the master branch after 1.11), rule for rule and message for
// message: a framework sees exactly what a Mesos master would tell it. Each function returns the
// first error message, or undefined. Rules about things ippc does not model (volumes, disk info,
// revocable or shared resources, linux_info, secrets stores, authorization) are left out.

const { Call_Type } = schedulerv1;

/** Linux NAME_MAX: the longest id Mesos accepts (ids become directory names). */
const NAME_MAX = 255;

/** `common::validation::validateID`. */
export function validateId(id: string): string | undefined {
  if (id === '') return 'ID must not be empty';
  if (Buffer.byteLength(id) > NAME_MAX) return `ID must not be greater than ${NAME_MAX} characters`;
  if (id === '.' || id === '..') return `'${id}' is disallowed`;
  // Control characters, and both path separators (ids map to directories).
  if (/[\u0000-\u001f\u007f/\\]/.test(id)) return `'${id}' contains invalid characters`;
  return undefined;
}

/** `validation::scheduler::call::validate` (the message is answered with 400 in Mesos). */
export function validateSchedulerCall(call: schedulerv1.Call): string | undefined {
  if (call.type === undefined) return "Expecting 'type' to be present";
  if (call.type === Call_Type.SUBSCRIBE) {
    if (!call.subscribe) return "Expecting 'subscribe' to be present";
    if (!call.subscribe.frameworkInfo) return 'Not initialized: subscribe.framework_info';
    const info = call.subscribe.frameworkInfo;
    if (info.user === undefined || info.name === undefined) {
      const missing = [info.user === undefined ? 'subscribe.framework_info.user' : undefined, info.name === undefined ? 'subscribe.framework_info.name' : undefined].filter(Boolean);
      return `Not initialized: ${missing.join(', ')}`;
    }
    if ((info.id?.value ?? '') !== (call.frameworkId?.value ?? '')) return "'framework_id' differs from 'subscribe.framework_info.id'";
    return undefined;
  }
  if (!call.frameworkId) return "Expecting 'framework_id' to be present";
  switch (call.type) {
    case Call_Type.ACCEPT:
      return call.accept ? undefined : "Expecting 'accept' to be present";
    case Call_Type.DECLINE:
      return call.decline ? undefined : "Expecting 'decline' to be present";
    case Call_Type.KILL:
      if (!call.kill) return "Expecting 'kill' to be present";
      return call.kill.taskId?.value === undefined ? 'Not initialized: kill.task_id' : undefined;
    case Call_Type.ACKNOWLEDGE: {
      if (!call.acknowledge) return "Expecting 'acknowledge' to be present";
      const missing = [
        call.acknowledge.agentId?.value === undefined ? 'acknowledge.agent_id' : undefined,
        call.acknowledge.taskId?.value === undefined ? 'acknowledge.task_id' : undefined,
        call.acknowledge.uuid === undefined ? 'acknowledge.uuid' : undefined,
      ].filter(Boolean);
      if (missing.length > 0) return `Not initialized: ${missing.join(', ')}`;
      // id::UUID::fromBytes: a UUID is exactly 16 bytes.
      if (call.acknowledge.uuid!.length !== 16) return `Not a valid UUID: expected 16 bytes, got ${call.acknowledge.uuid!.length}`;
      return undefined;
    }
    case Call_Type.RECONCILE:
      return call.reconcile ? undefined : "Expecting 'reconcile' to be present";
    case Call_Type.TEARDOWN:
    case Call_Type.REVIVE:
    case Call_Type.SUPPRESS:
    case Call_Type.UNKNOWN:
      return undefined;
    default:
      return undefined;
  }
}

/** `validation::framework::validate` (roles, framework id, failover timeout). */
export function validateFrameworkInfo(info: FrameworkInfo): string | undefined {
  const multiRole = (info.capabilities ?? []).some((c) => c.type === FrameworkInfo_Capability_Type.MULTI_ROLE);
  if (multiRole && info.role !== undefined) return "'FrameworkInfo.role' must not be set when the framework is MULTI_ROLE capable";
  if (!multiRole && (info.roles ?? []).length > 0) return "'FrameworkInfo.roles' must not be set when the framework is not MULTI_ROLE capable";
  if (multiRole) {
    const seen = new Set<string>();
    const dup = new Set<string>();
    for (const r of info.roles ?? []) (seen.has(r) ? dup : seen).add(r);
    if (dup.size > 0) return `'FrameworkInfo.roles' contains duplicate items: { ${[...dup].join(', ')} }`;
    for (const r of info.roles ?? []) {
      const err = validateRole(r);
      if (err) return `'FrameworkInfo.roles' contains invalid role: ${err}`;
    }
  } else {
    const err = validateRole(info.role ?? '*');
    if (err) return `'FrameworkInfo.role' is not a valid role: ${err}`;
  }
  if (info.id?.value) {
    const err = validateId(info.id.value);
    if (err) return err;
  }
  const timeout = info.failoverTimeout ?? 0;
  if (!Number.isFinite(timeout) || timeout < 0 || timeout * 1e9 > Number.MAX_SAFE_INTEGER * 1e3) return `The framework failover_timeout (${timeout}) is invalid`;
  return undefined;
}

/** `roles::validate` (src/common/roles.cpp). */
export function validateRole(role: string): string | undefined {
  if (role === '*') return undefined;
  if (role === '') return 'Empty role name is invalid';
  if (role.startsWith('/')) return "Role '" + role + "' cannot start with a slash";
  if (role.endsWith('/')) return "Role '" + role + "' cannot end with a slash";
  for (const part of role.split('/')) {
    if (part === '') return "Role '" + role + "' cannot contain two adjacent slashes";
    if (part === '.' || part === '..') return "Role '" + role + "' cannot be '.' or '..'";
    if (part === '*') return "Role '" + role + "' cannot contain '*'";
    if (part.startsWith('-')) return "Role '" + role + "' cannot start with '-'";
    if (/[\s\u0000-\u001f\u007f\\]/.test(part)) return "Role '" + role + "' cannot include whitespace, control characters or backslashes";
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// common::validation

/** `validateSecret`. */
function validateSecret(secret: Secret): string | undefined {
  switch (secret.type) {
    case Secret_Type.REFERENCE:
      if (!secret.reference) return "Secret of type REFERENCE must have the 'reference' field set";
      if (secret.value) return `Secret '${secret.reference.name ?? ''}' of type REFERENCE must not have the 'value' field set`;
      break;
    case Secret_Type.VALUE:
      if (!secret.value) return "Secret of type VALUE must have the 'value' field set";
      if (secret.reference) return "Secret of type VALUE must not have the 'reference' field set";
      break;
  }
  return undefined;
}

/** `validateEnvironment`. */
export function validateEnvironment(env: Environment | undefined): string | undefined {
  for (const v of env?.variables ?? []) {
    const name = v.name ?? '';
    switch (v.type ?? Environment_Variable_Type.VALUE) {
      case Environment_Variable_Type.SECRET: {
        if (!v.secret) return `Environment variable '${name}' of type 'SECRET' must have a secret set`;
        if (v.value !== undefined) return `Environment variable '${name}' of type 'SECRET' must not have a value set`;
        const err = validateSecret(v.secret);
        if (err) return `Environment variable '${name}' specifies an invalid secret: ${err}`;
        if ((v.secret.value?.data ?? Buffer.alloc(0)).includes(0)) {
          return `Environment variable '${name}' specifies a secret containing null bytes, which is not allowed in the environment`;
        }
        break;
      }
      case Environment_Variable_Type.VALUE:
        if (v.value === undefined) return `Environment variable '${name}' of type 'VALUE' must have a value set`;
        if (v.secret) return `Environment variable '${name}' of type 'VALUE' must not have a secret set`;
        break;
      case Environment_Variable_Type.UNKNOWN:
        return "Environment variable of type 'UNKNOWN' is not allowed";
    }
  }
  return undefined;
}

/** `validateCommandInfo`. */
export function validateCommandInfo(command: CommandInfo): string | undefined {
  return validateEnvironment(command.environment);
}

/**
 * `validateContainerInfo`. A union mismatch (e.g. `type: MESOS` with `docker` set) is only logged
 * by Mesos, so `onWarning` receives it and validation passes.
 */
export function validateContainerInfo(container: ContainerInfo, onWarning?: (message: string) => void): string | undefined {
  if (container.type === ContainerInfo_Type.MESOS && container.docker) onWarning?.('Protobuf union `mesos.v1.ContainerInfo` with `Type == MESOS` should not have the field `docker` set.');
  if (container.type === ContainerInfo_Type.DOCKER && container.mesos) onWarning?.('Protobuf union `mesos.v1.ContainerInfo` with `Type == DOCKER` should not have the field `mesos` set.');
  if (container.type === ContainerInfo_Type.DOCKER) {
    if (!container.docker) return "DockerInfo 'docker' is not set for DOCKER typed ContainerInfo";
    for (const p of container.docker.parameters ?? []) if (p.key === 'name') return "Parameter in DockerInfo must not be 'name'";
  }
  return undefined;
}

/** `validateHealthCheck`. */
export function validateHealthCheck(check: HealthCheck): string | undefined {
  if (check.type === undefined) return "HealthCheck must specify 'type'";
  switch (check.type) {
    case HealthCheck_Type.COMMAND: {
      if (!check.command) return "Expecting 'command' to be set for COMMAND health check";
      if (check.command.value === undefined) return `Command health check must contain ${(check.command.shell ?? true) ? "'shell command'" : "'executable path'"}`;
      const err = validateCommandInfo(check.command);
      if (err) return `Health check's \`CommandInfo\` is invalid: ${err}`;
      break;
    }
    case HealthCheck_Type.HTTP: {
      if (!check.http) return "Expecting 'http' to be set for HTTP health check";
      const scheme = check.http.scheme;
      if (scheme !== undefined && scheme !== 'http' && scheme !== 'https') return `Unsupported HTTP health check scheme: '${scheme}'`;
      if (check.http.path !== undefined && !check.http.path.startsWith('/')) return `The path '${check.http.path}' of HTTP health check must start with '/'`;
      break;
    }
    case HealthCheck_Type.TCP:
      if (!check.tcp) return "Expecting 'tcp' to be set for TCP health check";
      break;
    default:
      return `'${healthCheck_TypeToJSON(check.type)}' is not a valid health check type`;
  }
  if (check.delaySeconds !== undefined && check.delaySeconds < 0) return "Expecting 'delay_seconds' to be non-negative";
  if (check.gracePeriodSeconds !== undefined && check.gracePeriodSeconds < 0) return "Expecting 'grace_period_seconds' to be non-negative";
  if (check.intervalSeconds !== undefined && check.intervalSeconds < 0) return "Expecting 'interval_seconds' to be non-negative";
  if (check.timeoutSeconds !== undefined && check.timeoutSeconds < 0) return "Expecting 'timeout_seconds' to be non-negative";
  return undefined;
}

/** `validateCheckInfo`. */
export function validateCheckInfo(check: CheckInfo): string | undefined {
  if (check.type === undefined) return "CheckInfo must specify 'type'";
  switch (check.type) {
    case CheckInfo_Type.COMMAND: {
      if (!check.command) return "Expecting 'command' to be set for COMMAND check";
      const command = check.command.command ?? {};
      if ((command as CommandInfo).value === undefined) return `Command check must contain ${((command as CommandInfo).shell ?? true) ? "'shell command'" : "'executable path'"}`;
      const err = validateCommandInfo(command as CommandInfo);
      if (err) return `Check's \`CommandInfo\` is invalid: ${err}`;
      break;
    }
    case CheckInfo_Type.HTTP:
      if (!check.http) return "Expecting 'http' to be set for HTTP check";
      if (check.http.path !== undefined && !check.http.path.startsWith('/')) return `The path '${check.http.path}' of HTTP check must start with '/'`;
      break;
    case CheckInfo_Type.TCP:
      if (!check.tcp) return "Expecting 'tcp' to be set for TCP check";
      break;
    default:
      return `'${checkInfo_TypeToJSON(check.type)}' is not a valid check type`;
  }
  if (check.delaySeconds !== undefined && check.delaySeconds < 0) return "Expecting 'delay_seconds' to be non-negative";
  if (check.intervalSeconds !== undefined && check.intervalSeconds < 0) return "Expecting 'interval_seconds' to be non-negative";
  if (check.timeoutSeconds !== undefined && check.timeoutSeconds < 0) return "Expecting 'timeout_seconds' to be non-negative";
  return undefined;
}

/** `validateGpus`: gpus must be whole. */
function validateGpus(resources: readonly Resource[]): string | undefined {
  const gpus = resources.filter((r) => r.name === 'gpus' && (r.type ?? Value_Type.SCALAR) === Value_Type.SCALAR).reduce((s, r) => s + (r.scalar?.value ?? 0), 0);
  if (Math.trunc(gpus * 1000) % 1000 !== 0) return "The 'gpus' resource must be an unsigned integer";
  return undefined;
}

/** `resource::validate`. */
export function validateResourceList(resources: readonly Resource[]): string | undefined {
  const err = validateResources(resources);
  if (err) return `Invalid resources: ${err}`;
  const gpus = validateGpus(resources);
  if (gpus) return `Invalid 'gpus' resource: ${gpus}`;
  return undefined;
}

/** `resource::validateAllocatedToSingleRole`. */
function validateAllocatedToSingleRole(resources: readonly Resource[]): string | undefined {
  let role: string | undefined;
  for (const r of resources) {
    const own = r.allocationInfo?.role;
    if (own === undefined) return 'The resources are not allocated to a role';
    if (role === undefined) role = own;
    else if (own !== role) return `The resources have multiple allocation roles ('${own}' and '${role}') but only one allocation role is allowed`;
  }
  return undefined;
}

/** `resource::detectOverlappingSetAndRangeResources`. */
function overlaps(a: readonly Resource[], b: readonly Resource[]): boolean {
  const sum = addResources(a, b);
  const count = (rs: readonly Resource[]) =>
    normalizeResources(rs)
      .filter((r) => r.type === Value_Type.RANGES || r.type === Value_Type.SET)
      .reduce((n, r) => n + (r.type === Value_Type.SET ? (r.set?.item ?? []).length : (r.ranges?.range ?? []).reduce((m, x) => m + (Number(x.end) - Number(x.begin) + 1), 0)), 0);
  return count(a) + count(b) !== count(sum);
}

// ---------------------------------------------------------------------------------------------
// executor

/** `executor::validate` (type, id, shutdown grace period, command, container). */
export function validateExecutorInfo(executor: ExecutorInfo, onWarning?: (message: string) => void): string | undefined {
  switch (executor.type) {
    case ExecutorInfo_Type.DEFAULT:
      if (executor.command) return "'ExecutorInfo.command' must not be set for 'DEFAULT' executor";
      if (executor.container) {
        if (executor.container.type !== ContainerInfo_Type.MESOS) return "'ExecutorInfo.container.type' must be 'MESOS' for 'DEFAULT' executor";
        if (executor.container.mesos?.image) return "'ExecutorInfo.container.mesos.image' must not be set for 'DEFAULT' executor";
      }
      break;
    case ExecutorInfo_Type.CUSTOM:
      if (!executor.command) return "'ExecutorInfo.command' must be set for 'CUSTOM' executor";
      break;
  }
  const idErr = validateId(executor.executorId?.value ?? '');
  if (idErr) return idErr;
  if ((executor.shutdownGracePeriod?.nanoseconds ?? 0) < 0) return "ExecutorInfo's 'shutdown_grace_period' must be non-negative";
  if (executor.command) {
    const err = validateCommandInfo(executor.command);
    if (err) return `Executor's \`CommandInfo\` is invalid: ${err}`;
  }
  if (executor.container) {
    const err = validateContainerInfo(executor.container, onWarning);
    if (err) return `Executor's \`ContainerInfo\` is invalid: ${err}`;
  }
  return undefined;
}

/** What task validation needs to know about the framework and the agent. */
export interface TaskContext {
  frameworkId: string;
  /** Ids of the framework's tasks that are not completed (Mesos's `framework->tasks`). */
  taskIds: ReadonlySet<string>;
  unreachableTaskIds: ReadonlySet<string>;
  agentId: string;
  /** Executors the framework already runs on this agent. */
  executors: ReadonlyMap<string, ExecutorInfo>;
  /** Whether the agent handles task resource limits (ippc agents do not). */
  agentSupportsLimits?: boolean;
  onWarning?: (message: string) => void;
}

/** `task::internal::validateTask`: the task's own fields, in Mesos's order. */
export function validateTaskFields(task: TaskInfo, ctx: TaskContext): string | undefined {
  const taskId = task.taskId?.value ?? '';
  const checks: (() => string | undefined)[] = [
    () => validateId(taskId),
    () => {
      if (ctx.taskIds.has(taskId)) return `Task has duplicate ID: ${taskId}`;
      if (ctx.unreachableTaskIds.has(taskId)) return `Task reuses the ID of an unreachable task: ${taskId}`;
      return undefined;
    },
    () => ((task.agentId?.value ?? '') !== ctx.agentId ? `Task uses invalid agent ${task.agentId?.value ?? ''} while agent ${ctx.agentId} is expected` : undefined),
    () => ((task.killPolicy?.gracePeriod?.nanoseconds ?? 0) < 0 ? "Task's 'kill_policy.grace_period' must be non-negative" : undefined),
    () => ((task.maxCompletionTime?.nanoseconds ?? 0) < 0 ? "Task's `max_completion_time` must be non-negative" : undefined),
    () => {
      if (!task.check) return undefined;
      const err = validateCheckInfo(task.check);
      return err ? `Task uses invalid check: ${err}` : undefined;
    },
    () => {
      if (!task.healthCheck) return undefined;
      const err = validateHealthCheck(task.healthCheck);
      return err ? `Task uses invalid health check: ${err}` : undefined;
    },
    () => {
      if ((task.resources ?? []).length === 0) return 'Task uses no resources';
      const err = validateResourceList(task.resources);
      if (err) return `Task uses invalid resources: ${err}`;
      const single = validateAllocatedToSingleRole(task.resources);
      if (single) return `Invalid task resources: ${single}`;
      return undefined;
    },
    () => {
      if (!task.command) return undefined;
      const err = validateCommandInfo(task.command);
      return err ? `Task's \`CommandInfo\` is invalid: ${err}` : undefined;
    },
    () => {
      if (!task.container) return undefined;
      const err = validateContainerInfo(task.container, ctx.onWarning);
      return err ? `Task's \`ContainerInfo\` is invalid: ${err}` : undefined;
    },
    () => {
      const limits = Object.keys(task.limits ?? {});
      if (limits.length === 0) return undefined;
      if (!ctx.agentSupportsLimits) return 'Agent is not capable of handling task resource limits';
      return undefined;
    },
  ];
  for (const check of checks) {
    const err = check();
    if (err) return err;
  }
  return undefined;
}

/** `task::internal::validateExecutor`: the executor (if any) and the resources against the offer. */
export function validateTaskExecutor(task: TaskInfo, ctx: TaskContext, offered: readonly Resource[]): string | undefined {
  if (!!task.executor === !!task.command) return 'Task should have at least one (but not both) of CommandInfo or ExecutorInfo present';
  let total: Resource[] = [...(task.resources ?? [])];
  if (task.executor) {
    const executor = task.executor;
    const err = validateExecutorInfo(executor, ctx.onWarning);
    if (err) return err;
    if (!executor.frameworkId) return "'ExecutorInfo.framework_id' must be set";
    if (executor.frameworkId.value !== ctx.frameworkId) {
      return `ExecutorInfo has an invalid FrameworkID (Actual: ${executor.frameworkId.value ?? ''} vs Expected: ${ctx.frameworkId})`;
    }
    const resErr = validateResourceList(executor.resources ?? []);
    if (resErr) return `Executor uses invalid resources: ${resErr}`;
    const single = validateAllocatedToSingleRole(executor.resources ?? []);
    if (single) return `Invalid executor resources: ${single}`;
    const existing = ctx.executors.get(executor.executorId?.value ?? '');
    if (existing && JSON.stringify(existing) !== JSON.stringify(executor)) {
      return 'ExecutorInfo is not compatible with existing ExecutorInfo with same ExecutorID.\n';
    }
    if (executor.type !== undefined && executor.type !== ExecutorInfo_Type.CUSTOM) return "'ExecutorInfo.type' must be 'CUSTOM'";
    if (!executor.command) return "'ExecutorInfo.command' must be set";
    if (!existing) total = [...total, ...(executor.resources ?? [])];
  }
  // validateTaskAndExecutorResources
  const all = [...(task.resources ?? []), ...(task.executor?.resources ?? [])];
  const allErr = validateResourceList(all);
  if (allErr) return `Task and its executor use invalid resources: ${allErr}`;
  if (task.executor && overlaps(task.resources ?? [], task.executor.resources ?? [])) {
    return `There are overlapping resources in the task resources ${formatResources(task.resources ?? [])} and executor resources ${formatResources(task.executor.resources ?? [])}`;
  }
  if (!containsResources(offered, total)) {
    return `Total resources ${formatResources(normalizeResources(total))} required by task and its executor is more than available ${formatResources(normalizeResources(offered))}`;
  }
  return undefined;
}

/** `task::validate`: the whole task against the framework, the agent and what is left of the offers. */
export function validateTask(task: TaskInfo, ctx: TaskContext, offered: readonly Resource[]): string | undefined {
  return validateTaskFields(task, ctx) ?? validateTaskExecutor(task, ctx, offered);
}

/** The resources a validated task takes from the offer (task, plus a new executor's). */
export function taskConsumes(task: TaskInfo, ctx: Pick<TaskContext, 'executors'>): Resource[] {
  const executorNew = task.executor && !ctx.executors.has(task.executor.executorId?.value ?? '');
  return normalizeResources([...(task.resources ?? []), ...(executorNew ? (task.executor?.resources ?? []) : [])]);
}

export { subtractResources };

// ---------------------------------------------------------------------------------------------
// offers

/** What offer validation needs to know about an outstanding offer. */
export interface OfferFacts {
  frameworkId: string;
  agentId: string;
  role: string;
}

/** `validation::offer::validate`: unique, outstanding, this framework's, one role, one agent. */
export function validateOffers(offerIds: readonly string[], lookup: (id: string) => OfferFacts | undefined, frameworkId: string): string | undefined {
  const seen = new Set<string>();
  for (const id of offerIds) {
    if (seen.has(id)) return `Duplicate offer ${id} in offer list`;
    seen.add(id);
  }
  for (const id of offerIds) if (!lookup(id)) return `Offer ${id} is no longer valid`;
  for (const id of offerIds) {
    const o = lookup(id)!;
    if (o.frameworkId !== frameworkId) return `Offer ${id} has invalid framework ${o.frameworkId} while framework ${frameworkId} is expected`;
  }
  let role: string | undefined;
  for (const id of offerIds) {
    const o = lookup(id)!;
    if (role === undefined) role = o.role;
    else if (o.role !== role) return `Aggregated offers must be allocated to the same role. Offer ${id} uses role '${o.role} but another is using role '${role}`;
  }
  let agent: string | undefined;
  for (const id of offerIds) {
    const o = lookup(id)!;
    if (agent === undefined) agent = o.agentId;
    if (o.agentId !== agent) return `Aggregated offers must belong to one single agent. Offer ${id} uses agent ${o.agentId} and agent ${agent}`;
  }
  return undefined;
}
