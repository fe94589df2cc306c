import type Docker from 'dockerode';
import type { KnownContainer } from '@ippc/core';
import { containerIdToString } from '@ippc/mesos';
import { TaskState, TaskStatus_Reason } from '@ippc/proto';
import { daemonMessage } from '../errors.js';
import { addressesFromInspect, runningNetworkInfo } from '../inspect.js';
import { CONTAINER_ID_LABEL, EXECUTOR_ID_LABEL, LOG_OFFSETS_LABEL, OWNER_LABEL, OWNER_VALUE, SCOPE_LABEL } from '../labels.js';
import type { DockerContext, Entry } from './context.js';
import { fail, finish, newEntry } from './entries.js';
import { noteHostPorts, recoverHostPorts } from './host-ports.js';
import { startLogs } from './logs.js';
import { removeContainer } from './remove.js';
import { exited, watch } from './watch.js';

/**
 * Takes over this scope's containers after an agent restart, from their labels alone: re-attaches
 * to the known running ones (wait, logs), reports the known ones that exited or vanished meanwhile,
 * and removes the others unless `killOrphans` is off; then forwards the host ports of the running
 * ones (and no others) with a `hostPorts` forwarder.
 */
export async function recover(ctx: DockerContext, known: KnownContainer[]): Promise<void> {
  const { docker, live, log, scope } = ctx;
  const found = await docker.listContainers({ all: true, filters: { label: [`${OWNER_LABEL}=${OWNER_VALUE}`, `${SCOPE_LABEL}=${scope}`] } });
  const byId = new Map<string, Docker.ContainerInfo>();
  const unlabelled: Docker.ContainerInfo[] = [];
  for (const c of found) {
    const cid = c.Labels?.[CONTAINER_ID_LABEL];
    if (cid) byId.set(cid, c);
    else unlabelled.push(c);
  }
  let recovered = 0;
  const watched: Entry[] = [];
  for (const k of known) {
    if (k.containerizer !== 'docker') continue;
    const id = containerIdToString(k.containerId);
    if (live.has(id)) continue;
    const summary = byId.get(id);
    byId.delete(id);
    const entry = newEntry(ctx, id, k.task, k.containerInfo, k.sandboxDirectory);
    if (!summary) {
      // Gone while the agent was away (someone removed it): as Mesos does when an executor vanished.
      log.warn({ containerId: id }, 'known container not found on the daemon');
      finish(ctx, entry, { state: TaskState.TASK_FAILED, reason: TaskStatus_Reason.REASON_EXECUTOR_TERMINATED, message: 'Executor terminated' });
      continue;
    }
    entry.dockerId = summary.Id;
    // A custom executor's container says so in its labels (the agent's record of it names no executor).
    entry.executor = summary.Labels?.[EXECUTOR_ID_LABEL] !== undefined;
    entry.networkMode = summary.HostConfig?.NetworkMode;
    let inspected: Docker.ContainerInspectInfo | undefined;
    try {
      inspected = await docker.getContainer(summary.Id).inspect();
    } catch (err) {
      log.warn({ containerId: id, err: daemonMessage(err) }, 'inspect failed during recovery');
    }
    if (inspected) {
      entry.networkMode = inspected.HostConfig?.NetworkMode;
      entry.networkInfo = runningNetworkInfo(k.containerInfo, addressesFromInspect(inspected));
    }
    entry.markRunning();
    const offsets = (summary.Labels?.[LOG_OFFSETS_LABEL] ?? '0,0').split(',').map(Number);
    const neverStarted = !inspected?.State?.StartedAt || inspected.State.StartedAt.startsWith('0001-');
    if (inspected && neverStarted) {
      // The agent died between create and start: nothing ran.
      await removeContainer(ctx, summary.Id);
      fail(ctx, entry, 'Failed to run docker container: the container was created but never started');
      continue;
    }
    startLogs(ctx, entry, { stdout: offsets[0] || 0, stderr: offsets[1] || 0 });
    if (inspected?.State?.Running || !inspected) {
      entry.phase = 'running';
      if (inspected) noteHostPorts(ctx, entry, inspected, [...k.task.resources, ...k.executor.resources]);
      watched.push(entry);
      watch(ctx, entry);
    } else {
      // Exited while the agent was away: report how, once its log is in the sandbox.
      await exited(ctx, entry, inspected.State?.ExitCode);
    }
    recovered++;
  }
  const orphans = [...byId.values(), ...unlabelled];
  if (ctx.killOrphans) await Promise.all(orphans.map((o) => removeContainer(ctx, o.Id)));
  await recoverHostPorts(ctx, watched);
  log.info({ recovered, orphans: orphans.length, reaped: ctx.killOrphans ? orphans.length : 0, scope }, 'recovered docker containers');
}
