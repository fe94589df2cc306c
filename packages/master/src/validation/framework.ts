import { FrameworkInfo_Capability_Type, schedulerv1, type FrameworkInfo } from '@ippc/proto';

// Mesos's validation of scheduler calls and FrameworkInfo (src/master/validation.cpp, src/common/validation.cpp,
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
      const missing = [
        info.user === undefined ? 'subscribe.framework_info.user' : undefined,
        info.name === undefined ? 'subscribe.framework_info.name' : undefined,
      ].filter(Boolean);
      return `Not initialized: ${missing.join(', ')}`;
    }
    if ((info.id?.value ?? '') !== (call.frameworkId?.value ?? '')) return "'framework_id' differs from 'subscribe.framework_info.id'";
    return undefined;
  }
  if (!call.frameworkId) return "Expecting 'framework_id' to be present";
  switch (call.type) {
    case Call_Type.ACCEPT:
      return call.accept ? launchGroupsInitialized(call.accept) : "Expecting 'accept' to be present";
    case Call_Type.DECLINE:
      return call.decline ? undefined : "Expecting 'decline' to be present";
    case Call_Type.KILL:
      if (!call.kill) return "Expecting 'kill' to be present";
      return call.kill.taskId?.value === undefined ? 'Not initialized: kill.task_id' : undefined;
    case Call_Type.ACKNOWLEDGE: {
      if (!call.acknowledge) return "Expecting 'acknowledge' to be present";
      const missing = notInitialized([
        call.acknowledge.agentId?.value === undefined ? 'acknowledge.agent_id' : undefined,
        call.acknowledge.taskId?.value === undefined ? 'acknowledge.task_id' : undefined,
        call.acknowledge.uuid === undefined ? 'acknowledge.uuid' : undefined,
      ]);
      if (missing) return missing;
      // id::UUID::fromBytes: a UUID is exactly 16 bytes.
      if (call.acknowledge.uuid!.length !== 16) return `Not a valid UUID: expected 16 bytes, got ${call.acknowledge.uuid!.length}`;
      return undefined;
    }
    case Call_Type.RECONCILE:
      return call.reconcile ? undefined : "Expecting 'reconcile' to be present";
    case Call_Type.SHUTDOWN:
      if (!call.shutdown) return "Expecting 'shutdown' to be present";
      return notInitialized([
        call.shutdown.executorId?.value === undefined ? 'shutdown.executor_id' : undefined,
        call.shutdown.agentId?.value === undefined ? 'shutdown.agent_id' : undefined,
      ]);
    case Call_Type.MESSAGE:
      if (!call.message) return "Expecting 'message' to be present";
      return notInitialized([
        call.message.agentId?.value === undefined ? 'message.agent_id' : undefined,
        call.message.executorId?.value === undefined ? 'message.executor_id' : undefined,
        call.message.data === undefined ? 'message.data' : undefined,
      ]);
    case Call_Type.REQUEST:
      return call.request ? undefined : "Expecting 'request' to be present";
    case Call_Type.TEARDOWN:
    case Call_Type.REVIVE:
    case Call_Type.SUPPRESS:
    case Call_Type.UNKNOWN:
      return undefined;
    default:
      return undefined;
  }
}

/** LaunchGroup's required fields (`executor` with its `executor_id`, `task_group`), as protobuf's parse checks them. */
function launchGroupsInitialized(accept: schedulerv1.Call_Accept): string | undefined {
  return notInitialized(
    accept.operations.flatMap((op, i) => {
      const group = op.launchGroup;
      if (!group) return [];
      const at = `accept.operations[${i}].launch_group`;
      return [
        group.executor ? undefined : `${at}.executor`,
        group.executor && !group.executor.executorId ? `${at}.executor.executor_id` : undefined,
        group.executor?.executorId && group.executor.executorId.value === undefined ? `${at}.executor.executor_id.value` : undefined,
        group.taskGroup ? undefined : `${at}.task_group`,
      ];
    }),
  );
}

/** proto2's parse error for required fields left out (`Not initialized: a, b`), or undefined. */
function notInitialized(missing: (string | undefined)[]): string | undefined {
  const names = missing.filter((m): m is string => m !== undefined);
  return names.length > 0 ? `Not initialized: ${names.join(', ')}` : undefined;
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
  if (!Number.isFinite(timeout) || timeout < 0 || timeout * 1e9 > Number.MAX_SAFE_INTEGER * 1e3)
    return `The framework failover_timeout (${timeout}) is invalid`;
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

/** `validation::framework::validateUpdate`: what a subscribing framework may not change. */
export function validateFrameworkUpdate(old: FrameworkInfo, next: FrameworkInfo): string | undefined {
  if ((old.principal ?? undefined) !== (next.principal ?? undefined)) return "Changing framework's principal is not allowed.";
  if ((next.user ?? '') !== (old.user ?? ''))
    return `Updating 'FrameworkInfo.user' is unsupported; attempted to update from '${old.user ?? ''}' to '${next.user ?? ''}'`;
  if ((next.checkpoint ?? false) !== (old.checkpoint ?? false)) {
    return `Updating 'FrameworkInfo.checkpoint' is unsupported; attempted to update from '${old.checkpoint ?? false}' to '${next.checkpoint ?? false}'`;
  }
  return undefined;
}
