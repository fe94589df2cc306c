// Labels on every container the Docker containerizer creates, and the names it gives them. The
// labels are the truth about what it owns: recover() finds an agent's containers by them after a
// restart, with no checkpoint of its own.

export const OWNER_LABEL = 'org.ippc.owner';
export const OWNER_VALUE = 'ippc';
/** Which agent instance on a shared daemon owns the container (see `DockerContainerizerOptions.scope`). */
export const SCOPE_LABEL = 'org.ippc.docker.scope';
export const AGENT_ID_LABEL = 'org.ippc.agent-id';
export const FRAMEWORK_ID_LABEL = 'org.ippc.framework-id';
export const TASK_ID_LABEL = 'org.ippc.task-id';
export const CONTAINER_ID_LABEL = 'org.ippc.container-id';
/** On a custom executor's container: its ExecutorInfo.executor_id. */
export const EXECUTOR_ID_LABEL = 'org.ippc.executor-id';
/**
 * `<stdout bytes>,<stderr bytes>` already in the sandbox files before the container started (a
 * fetcher may write there): after a restart, file size minus this is how much of the container's
 * log the previous agent had copied.
 */
export const LOG_OFFSETS_LABEL = 'org.ippc.docker.log-offsets';

/** Docker's name for a Mesos container (Mesos's `DOCKER_NAME_PREFIX`). */
export const NAME_PREFIX = 'mesos-';

export function containerName(containerId: string): string {
  return `${NAME_PREFIX}${containerId}`;
}
