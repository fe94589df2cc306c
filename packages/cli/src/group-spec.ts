import { randomUUID } from 'node:crypto';
import type { ExecutorSpec, TaskSpec } from '@ippc/scheduler';
import { checkName, planNetworks, positiveNumber, usage, type NetworkFlags } from './flags.js';
import { parseLabel } from './task-spec.js';

// `ippc task group` flags → what @ippc/scheduler's groupFromOffer takes: a DEFAULT executor on the
// pod's networks and one command task per `--task NAME=CMD`. Pure (but for the executor id's
// random suffix, which a caller may give).

/** The flags of `ippc task group`, as commander hands them over. */
export interface TaskGroupFlags extends NetworkFlags {
  /** `NAME=CMD`, one per task of the group (repeatable). */
  task?: string[];
  label?: string[];
  cpus?: string;
  mem?: string;
}

/** What `task group` launches. */
export interface TaskGroupPlan {
  /** The pod's name (the executor's `name`). */
  name: string;
  executor: ExecutorSpec & { id: string };
  tasks: TaskSpec[];
  /** The pod's networks and groups (its executor container's): every task has its address. */
  networks: string[];
  groups: string[];
}

/** `NAME=CMD` → a task of the group (the command runs with `sh -c`). */
export function parseGroupTask(text: string): { name: string; command: string } {
  const eq = text.indexOf('=');
  if (eq <= 0 || !text.slice(eq + 1).trim()) throw usage(`--task '${text}' must look like NAME=COMMAND (e.g. --task web='exec busybox httpd -f -p 80')`);
  const name = text.slice(0, eq);
  checkName('--task name', name);
  return { name, command: text.slice(eq + 1) };
}

/**
 * Builds the group: `--task NAME=CMD` (repeatable, at least one, names unique) are its tasks, each
 * with `--cpus`, `--mem` (defaults 0.1 and 32) and `--label`; `--network`, `--group` and `--ip`
 * are the pod's (the default executor's container: one address for every task, which reach each
 * other on 127.0.0.1). The executor id is `<name>-<8 hex>` unless `executorId` is given.
 */
export function planTaskGroup(name: string, flags: TaskGroupFlags, executorId = `${name}-${randomUUID().slice(0, 8)}`): TaskGroupPlan {
  checkName('pod name', name);
  const given = (flags.task ?? []).map(parseGroupTask);
  if (given.length === 0) throw usage("a task group needs at least one --task NAME=COMMAND: 'ippc task group NAME --task a='...' --task b='...''");
  const dup = given.find((t, i) => given.findIndex((u) => u.name === t.name) !== i);
  if (dup) throw usage(`--task ${dup.name} is given twice: the tasks of a group need names of their own`);
  const { networks, groups, networkInfos } = planNetworks(flags, 'a pod');
  const cpus = positiveNumber('--cpus', flags.cpus, false);
  const mem = positiveNumber('--mem', flags.mem, false);
  const labels = (flags.label ?? []).map(parseLabel);
  const tasks: TaskSpec[] = given.map((t) => ({
    name: t.name,
    command: t.command,
    ...(cpus !== undefined ? { cpus } : {}),
    ...(mem !== undefined ? { mem } : {}),
    ...(labels.length > 0 ? { labels: { labels } } : {}),
  }));
  return { name, executor: { id: executorId, name, networks: networkInfos }, tasks, networks, groups };
}
