import Docker from 'dockerode';
import type { RemoveReport } from './cluster.js';
import { LABEL, OWNER } from './labels.js';

/**
 * Removes what carries the cluster's labels (and the session's, when given): containers first
 * (forced, with their anonymous volumes), then networks and volumes. Never throws: errors are
 * reported, and a second call finishes the job.
 */
export async function removeResources(docker: Docker, cluster: string, session?: string): Promise<RemoveReport> {
  const label = [`${LABEL.owner}=${OWNER}`, `${LABEL.cluster}=${cluster}`, ...(session ? [`${LABEL.session}=${session}`] : [])];
  const filters = JSON.stringify({ label });
  const errors: string[] = [];
  const report: RemoveReport = { containers: 0, networks: 0, volumes: 0, errors };
  const gone = (err: unknown) => (err as { statusCode?: number }).statusCode === 404;
  // Containers of the cluster, and containers the cluster's agents started (Docker tasks), by label.
  const containers = await docker.listContainers({ all: true, filters }).catch((e: Error) => (errors.push(e.message), []));
  const reaperLast = containers.filter((c) => c.Labels[LABEL.role] !== 'reaper').concat(containers.filter((c) => c.Labels[LABEL.role] === 'reaper'));
  await Promise.all(
    reaperLast.map((c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true, v: true })
        .then(() => report.containers++)
        .catch((e: Error) => gone(e) || errors.push(`container ${c.Names[0] ?? c.Id}: ${e.message}`)),
    ),
  );
  const networks = await docker.listNetworks({ filters }).catch((e: Error) => (errors.push(e.message), []));
  await Promise.all(
    networks.map((n) =>
      docker
        .getNetwork(n.Id)
        .remove()
        .then(() => report.networks++)
        .catch((e: Error) => gone(e) || errors.push(`network ${n.Name}: ${e.message}`)),
    ),
  );
  const volumes = ((await docker.listVolumes({ filters }).catch((e: Error) => (errors.push(e.message), { Volumes: [] }))).Volumes ?? []) as { Name: string }[];
  await Promise.all(
    volumes.map((v) =>
      docker
        .getVolume(v.Name)
        .remove()
        .then(() => report.volumes++)
        .catch((e: Error) => gone(e) || errors.push(`volume ${v.Name}: ${e.message}`)),
    ),
  );
  return report;
}

/** Removes a cluster by name (labels). Resolves with what was removed; nothing found is not an error. */
export async function removeCluster(name: string, options: { docker?: Docker } = {}): Promise<RemoveReport> {
  return removeResources(options.docker ?? new Docker(), name);
}
