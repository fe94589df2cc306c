import Docker from 'dockerode';
import type { Cluster } from '@ippc/testbed';
import type { TaskGroupFlags } from '../../group-spec.js';
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

/** A pod: launched as one task group (`ippc task group`), its tasks one row each. */
export interface ShowcasePod {
  pod: string;
  /** Agent index, modulo the number of agents. */
  agent: number;
  flags: TaskGroupFlags;
  /** What each task shows, by task name. */
  why: Record<string, string>;
}

export type ShowcaseItem = ShowcaseTask | ShowcasePod;

/** The task names of the showcase, in the order of its table. */
export function showcaseTaskNames(items: readonly ShowcaseItem[]): string[] {
  return items.flatMap((i) => ('pod' in i ? Object.keys(i.why) : [i.name]));
}

/** The pod's back end serves on 127.0.0.1 only (not 8080: net check's probe listens there in every container). */
const POD_BACK = 'mkdir -p www && echo hello from pod-back > www/index.html && exec busybox httpd -f -p 127.0.0.1:9000 -h www';
/** The pod's front end reads it over localhost and serves what it read on port 80 of the pod's address. */
const POD_FRONT = 'for i in $(seq 1 100); do curl -sf -o index.html http://127.0.0.1:9000/ && break; sleep 0.1; done; exec busybox httpd -f -p 80 -h .';

/**
 * The showcase's tasks. Opt-in tasks serve HTTP on port 80 in their own namespace; plain tasks on
 * an offered host port; two tasks of one custom executor (the shell executor) on its one address;
 * a pod of two tasks on one address, one reaching the other on 127.0.0.1. `image` is the node image
 * (on the daemon already: nothing is pulled).
 */
export function showcaseTasks(options: { bridge: string; ptp?: string; userNetwork?: string; image: string }): ShowcaseItem[] {
  const httpd = 'exec busybox httpd -f -p 80';
  const ex = { executor: 'showcase-ex', network: [options.bridge], group: ['web'] };
  const tasks: ShowcaseItem[] = [
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
  tasks.push(
    { name: 'ex-web', agent: 1, flags: { ...ex, cmd: httpd }, why: "custom executor showcase-ex (group web): the executor container's address, port 80" },
    { name: 'ex-api', agent: 1, flags: { ...ex, cmd: 'exec busybox httpd -f -p 8000' }, why: "showcase-ex's second task: the same address, port 8000" },
    {
      pod: 'pod',
      agent: 2,
      flags: { network: [options.bridge], group: ['public'], task: [`pod-back=${POD_BACK}`, `pod-front=${POD_FRONT}`] },
      why: {
        'pod-back': 'pod (task group, group public): one address, serves on 127.0.0.1:9000 only',
        'pod-front': 'the same pod: reads pod-back over 127.0.0.1, serves it on port 80 of the pod address',
      },
    },
  );
  return tasks;
}

/** The showcase's tasks on `cluster`: its first bridge and ptp networks, its first Docker user network, the image its nodes run. */
export async function showcaseTasksFor(cluster: Cluster): Promise<ShowcaseItem[]> {
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
