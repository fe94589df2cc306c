import { ContainerizerError, messageOf, type LaunchSpec } from '@ippc/core';
import { TaskState } from '@ippc/proto';
import { DockerContainerizerError, daemonMessage } from '../errors.js';
import { addressesFromInspect, runningNetworkInfo } from '../inspect.js';
import { EXECUTOR_ID_LABEL } from '../labels.js';
import type { DockerContext, Entry } from './context.js';
import { stopContainer } from './destroy.js';
import { finish } from './entries.js';
import { forwardHostPorts } from './host-ports.js';
import { startLogs } from './logs.js';
import { buildRunOptions, createAndStart, inspectUntilStarted, type PreparedRun } from './start.js';
import { watch } from './watch.js';

// A custom executor in a Docker container, as Mesos's DockerContainerizer launches one
// (`launchExecutorContainer`, src/slave/containerizer/docker.cpp): ExecutorInfo.command runs in
// ExecutorInfo.container.docker.image, with the executor's environment and the sandbox mounted at
// MESOS_SANDBOX, on HOST, BRIDGE, NONE or USER as a task container would. No docker executor
// stands in between: the executor subscribes to the agent and reports its tasks itself, so the
// containerizer sends no status. What goes wrong before the container runs is a launch failure
// (thrown, Mesos's message; the agent reports `Failed to launch container: <message>`) and leaves
// nothing behind. The addresses Docker gave the container become its ContainerStatus (status.ts),
// which every task of the executor reports.

/** Launches the executor's container; resolves once it started and its addresses are known (or never will be). */
export async function launchExecutor(ctx: DockerContext, entry: Entry, spec: LaunchSpec): Promise<void> {
  const executorId = spec.executor.executorId?.value ?? '';
  if (entry.killed) throw abandon(ctx, entry, 'Container destroyed while launching');
  let prepared: PreparedRun;
  try {
    prepared = await executorRunOptions(ctx, entry, spec);
  } catch (err) {
    ctx.log.warn({ containerId: entry.id, executorId, err: messageOf(err) }, 'cannot launch the executor container');
    throw abandon(ctx, entry, messageOf(err), err);
  }
  const { runOptions, logBase } = prepared;
  entry.networkMode = runOptions.networkMode;
  // createAndStart ends the entry (and removes what it created) when it returns false.
  if (!(await createAndStart(ctx, entry, runOptions, executorId))) {
    throw new ContainerizerError('CONTAINER_LAUNCH_FAILED', entry.terminated?.message ?? 'Container destroyed while launching');
  }
  entry.phase = 'running';
  startLogs(ctx, entry, logBase);
  watch(ctx, entry);
  if (entry.killed) entry.stopping ??= stopContainer(ctx, entry, entry.killGraceMs ?? ctx.defaultGraceMs);
  const inspected = await inspectUntilStarted(ctx, entry);
  if (inspected && !entry.terminated) {
    entry.networkInfo = runningNetworkInfo(spec.containerInfo, addressesFromInspect(inspected));
    // Port mappings of the executor's container reach it at the agent's addresses, as a task's do.
    await forwardHostPorts(ctx, entry, inspected, [...spec.task.resources, ...spec.executor.resources]);
  }
  entry.markRunning();
  ctx.log.info(
    { containerId: entry.id, executorId, networkMode: entry.networkMode, addresses: entry.networkInfo?.ipAddresses.map((a) => a.ipAddress) },
    'executor container running',
  );
}

/** Ends an entry that never got a container; the error to throw (Mesos's launch failure). */
function abandon(ctx: DockerContext, entry: Entry, message: string, cause?: unknown): ContainerizerError {
  finish(ctx, entry, { state: TaskState.TASK_FAILED, message });
  return new ContainerizerError('CONTAINER_LAUNCH_FAILED', message, cause === undefined ? undefined : { cause });
}

/** The executor's run options: its command, its environment with the agent's endpoint as its network reaches it. */
async function executorRunOptions(ctx: DockerContext, entry: Entry, spec: LaunchSpec): Promise<PreparedRun> {
  const labels = { [EXECUTOR_ID_LABEL]: spec.executor.executorId?.value ?? '' };
  const run = { command: spec.executor.command, environment: spec.environment, labels };
  const first = buildRunOptions(ctx, entry, spec, run);
  const endpoint = await agentEndpoint(ctx, first.runOptions.networkMode, spec.environment.MESOS_AGENT_ENDPOINT);
  if (endpoint === undefined) return first;
  // Mesos's executor environment names the agent twice: its endpoint and its libprocess pid.
  const environment = { ...spec.environment, MESOS_AGENT_ENDPOINT: endpoint, MESOS_SLAVE_PID: `slave(1)@${endpoint}` };
  return buildRunOptions(ctx, entry, spec, { ...run, environment });
}

/**
 * Where the executor reaches the agent's executor API from its network: undefined to keep
 * MESOS_AGENT_ENDPOINT as the agent gave it. That is right for an agent on the machine (HOST is
 * Docker's host network): a BRIDGE or USER container reaches the machine's addresses through its
 * gateway, as under Mesos; and for HOST and NONE (the agent's own namespace, or no network). An
 * agent that is itself a container (`hostNetwork: { container }`) is unreachable from another
 * Docker network (the daemon drops traffic between its networks) except at an address of its own
 * on the executor's network: that address, with the agent's port. Throws
 * `DOCKER_AGENT_UNREACHABLE` when the agent's container has none.
 */
export async function agentEndpoint(ctx: DockerContext, networkMode: string, given: string | undefined): Promise<string | undefined> {
  if (given === undefined || ctx.hostNetwork === 'host') return undefined;
  if (networkMode === 'host' || networkMode === 'none' || networkMode.startsWith('container:')) return undefined;
  const agent = ctx.hostNetwork.container;
  const port = given.slice(given.lastIndexOf(':') + 1);
  let address: string | undefined;
  try {
    const inspected = await ctx.docker.getContainer(agent).inspect();
    address = inspected.NetworkSettings?.Networks?.[networkMode]?.IPAddress || undefined;
  } catch (err) {
    throw new DockerContainerizerError('DOCKER_AGENT_UNREACHABLE', `Cannot inspect the agent's container '${agent}': ${daemonMessage(err)}`, { cause: err });
  }
  if (!address) {
    throw new DockerContainerizerError(
      'DOCKER_AGENT_UNREACHABLE',
      `The agent's container '${agent}' has no address on Docker network '${networkMode}', so an executor there cannot reach the agent at ${given}: ` +
        `connect it (docker network connect ${networkMode} ${agent}) or run the executor on another network`,
    );
  }
  return `${address}:${port}`;
}
