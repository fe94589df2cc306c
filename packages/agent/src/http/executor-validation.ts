import { executorv1, TaskState, TaskStatus_Source } from '@ippc/proto';

const { Call_Type } = executorv1;

// Mesos's validation of executor calls (`validation::executor::call::validate`, src/common/
// validation.cpp), message for message. Required fields of proto2 that are missing are reported as
// the parse error Mesos gives ("Not initialized: ..."), which `readCall` turns into its 400.

function notInitialized(missing: (string | false)[]): string | undefined {
  const names = missing.filter((m): m is string => m !== false);
  return names.length > 0 ? `Not initialized: ${names.join(', ')}` : undefined;
}

/** The first error of an executor call, or undefined. */
export function validateExecutorCall(call: executorv1.Call): string | undefined {
  const missing = notInitialized([call.executorId?.value === undefined && 'executor_id', call.frameworkId?.value === undefined && 'framework_id']);
  if (missing) return missing;
  if (call.type === undefined) return "Expecting 'type' to be present";
  const who = `executor ${call.executorId!.value!} of framework ${call.frameworkId!.value!}`;
  switch (call.type) {
    case Call_Type.SUBSCRIBE:
      return call.subscribe ? undefined : "Expecting 'subscribe' to be present";
    case Call_Type.UPDATE: {
      if (!call.update) return "Expecting 'update' to be present";
      const status = call.update.status;
      const fields = notInitialized([
        !status && 'update.status',
        !!status && status.taskId?.value === undefined && 'update.status.task_id',
        !!status && status.state === undefined && 'update.status.state',
      ]);
      if (fields || !status) return fields;
      if (status.uuid === undefined) return "Expecting 'uuid' to be present";
      if (status.uuid.length !== 16) return `Not a valid UUID: expected 16 bytes, got ${status.uuid.length}`;
      if (status.executorId?.value !== undefined && status.executorId.value !== call.executorId!.value) {
        return `ExecutorID in Call: ${call.executorId!.value!} does not match ExecutorID in TaskStatus: ${status.executorId.value}`;
      }
      if (status.source !== TaskStatus_Source.SOURCE_EXECUTOR) return `Received Call from ${who} with invalid source, expecting 'SOURCE_EXECUTOR'`;
      if (status.state === TaskState.TASK_STAGING) return `Received TASK_STAGING from ${who} which is not allowed`;
      return undefined;
    }
    case Call_Type.MESSAGE:
      if (!call.message) return "Expecting 'message' to be present";
      return notInitialized([call.message.data === undefined && 'message.data']);
    default:
      return undefined;
  }
}
