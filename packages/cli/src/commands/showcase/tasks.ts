import Docker from 'dockerode';
import type { Cluster } from '@ippc/testbed';
import type { TaskRunFlags } from '../../task-spec.js';

/** Label that marks showcase tasks (a second run replaces them). */
export const SHOWCASE_LABEL = 'org.ippc.showcase';

export interface ShowcaseTask {
  name: string;
  /** Agent index, modulo the number of agents. */
  agent: number;
  flags: TaskRunFlags;
  /** What it shows. */
  why: string;
}

/**
 * The showcase's tasks. Opt-in tasks serve HTTP on port 80 in their own namespace; plain tasks on
 * an offered host port. `image` is the node image (on the daemon already: nothing is pulled).
 */
export function showcaseTasks(options: { bridge: string; ptp?: string; userNetwork?: string; image: string }): ShowcaseTask[] {
  const httpd = 'exec busybox httpd -f -p 80';
  const tasks: ShowcaseTask[] = [
    { name: 'web-1', agent: 0, flags: { network: [options.bridge], group: ['web'], cmd: httpd }, why: 'opt-in, group web' },
    { name: 'web-2', agent: 1, flags: { network: [options.bridge], group: ['web'], cmd: httpd }, why: 'opt-in, group web, another agent' },
    { name: 'db-1', agent: 2, flags: { network: [options.bridge], group: ['db'], cmd: httpd }, why: 'opt-in, group db: web cannot reach it' },
    { name: 'api-1', agent: 0, flags: { network: [options.bridge], group: ['web', 'db'], cmd: httpd }, why: 'opt-in, groups web+db (the union)' },
    { name: 'pub-1', agent: 1, flags: { network: [options.bridge], group: ['public'], cmd: httpd }, why: 'opt-in, group public: open to all' },
    { name: 'free-1', agent: 2, flags: { network: [options.bridge], cmd: httpd }, why: 'opt-in, no group: not isolated' },
    ...(options.ptp
      ? [{ name: 'ptp-1', agent: 1, flags: { network: [options.ptp], group: ['db'], cmd: httpd }, why: 'opt-in on a ptp network, group db' }]
      : []),
    { name: 'plain-1', agent: 0, flags: { port: '1', cmd: 'exec busybox httpd -f -p $PORT0' }, why: 'no network: the agent address, an offered port' },
    { name: 'plain-2', agent: 1, flags: { port: '1', cmd: 'exec busybox httpd -f -p $PORT0' }, why: 'no network, beside opt-in tasks (mixed mode)' },
    { name: 'd-host', agent: 0, flags: { image: options.image, dockerNetwork: 'host', cmd: 'exec sleep 86400' }, why: 'Docker HOST: the agent address' },
    {
      name: 'd-bridge',
      agent: 1,
      flags: { image: options.image, dockerNetwork: 'bridge', portMapping: [], cmd: httpd },
      why: 'Docker BRIDGE: the Docker bridge address',
    },
    {
      name: 'd-none',
      agent: 2,
      flags: { image: options.image, dockerNetwork: 'none', cmd: 'exec sleep 86400' },
      why: 'Docker NONE: no network, the agent address reported',
    },
  ];
  if (options.userNetwork)
    tasks.push({
      name: 'd-user',
      agent: 2,
      flags: { image: options.image, dockerNetwork: 'user', network: [options.userNetwork], cmd: httpd },
      why: 'Docker USER: a user network made with the cluster',
    });
  return tasks;
}

/** The showcase's tasks on `cluster`: its first bridge and ptp networks, its first Docker user network, the image its nodes run. */
export async function showcaseTasksFor(cluster: Cluster): Promise<ShowcaseTask[]> {
  // Docker tasks run the image the cluster's nodes run: it is on the daemon (nothing is pulled).
  const image = (await new Docker().getContainer(cluster.agents[0]!.containerId).inspect()).Config.Image;
  const nets = cluster.config.containerNetworks;
  return showcaseTasks({
    bridge: nets.find((n) => n.type === 'bridge')?.name ?? nets[0]?.name ?? 'ippc-bridge',
    ...(nets.find((n) => n.type === 'ptp') ? { ptp: nets.find((n) => n.type === 'ptp')!.name } : {}),
    ...(cluster.dockerNetworks[0] ? { userNetwork: cluster.dockerNetworks[0].name } : {}),
    image,
  });
}
