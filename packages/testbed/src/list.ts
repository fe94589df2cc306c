import Docker from 'dockerode';
import { LABEL, OWNER } from './labels.js';

/** Summary of a cluster found by its labels. */
export interface ClusterSummary {
  name: string;
  retained: boolean;
  session?: string;
  containers: { name: string; role: string; state: string; address?: string }[];
}

/** Every ippc cluster on the daemon, by labels. */
export async function listClusters(options: { docker?: Docker } = {}): Promise<ClusterSummary[]> {
  const docker = options.docker ?? new Docker();
  const containers = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [`${LABEL.owner}=${OWNER}`, LABEL.cluster] }) });
  const byName = new Map<string, ClusterSummary>();
  for (const c of containers) {
    const name = c.Labels[LABEL.cluster]!;
    const s = byName.get(name) ?? { name, retained: false, containers: [] };
    if (c.Labels[LABEL.retain] === 'true') s.retained = true;
    if (c.Labels[LABEL.session]) s.session = c.Labels[LABEL.session];
    s.containers.push({
      name: (c.Names[0] ?? c.Id).replace(/^\//, ''),
      role: c.Labels[LABEL.role] ?? '?',
      state: c.State,
      ...(c.Labels[LABEL.address] ? { address: c.Labels[LABEL.address] } : {}),
    });
    byName.set(name, s);
  }
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}
