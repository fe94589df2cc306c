import { appendFileSync, mkdirSync, renameSync, symlinkSync } from 'node:fs';
import { access, mkdir, readdir, readFile, readlink, rename, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { writeAtomic, writeAtomicSync } from '@ippc/core';
import { AgentInfo, ExecutorInfo, FrameworkInfo, Task, TaskStatus } from '@ippc/proto';
import { AgentError } from './errors.js';

// What the agent writes under `--work_dir`, in Mesos's layout (src/slave/paths.hpp), so that a
// restarted agent knows what it launched:
//
//   meta/slaves/latest -> <agent id>                       (symlink)
//   meta/slaves/<aid>/slave.info                           AgentInfo (binary protobuf)
//   meta/slaves/<aid>/frameworks/<fid>/framework.info      FrameworkInfo
//   .../executors/<eid>/executor.info                      ExecutorInfo
//   .../executors/<eid>/runs/<cid>/containerizer           which containerizer runs it (ippc)
//   .../executors/<eid>/runs/<cid>/completed               the run ended and was cleaned up (ippc)
//   .../runs/<cid>/tasks/<tid>/task.info                   Task as launched
//   .../runs/<cid>/tasks/<tid>/task.updates                status updates and acknowledgements, one JSON line each
//
// and sandboxes at `slaves/<aid>/frameworks/<fid>/executors/<eid>/runs/<cid>/`.

export class AgentPaths {
  constructor(readonly workDir: string) {}
  get meta(): string {
    return join(this.workDir, 'meta', 'slaves');
  }
  latest(): string {
    return join(this.meta, 'latest');
  }
  agent(aid: string): string {
    return join(this.meta, aid);
  }
  framework(aid: string, fid: string): string {
    return join(this.agent(aid), 'frameworks', fid);
  }
  executor(aid: string, fid: string, eid: string): string {
    return join(this.framework(aid, fid), 'executors', eid);
  }
  run(aid: string, fid: string, eid: string, cid: string): string {
    return join(this.executor(aid, fid, eid), 'runs', cid);
  }
  task(aid: string, fid: string, eid: string, cid: string, tid: string): string {
    return join(this.run(aid, fid, eid, cid), 'tasks', tid);
  }
  sandbox(aid: string, fid: string, eid: string, cid: string): string {
    return join(this.workDir, 'slaves', aid, 'frameworks', fid, 'executors', eid, 'runs', cid);
  }
}

let tmpSeq = 0;

async function readProto<T>(path: string, decode: (b: Uint8Array) => T): Promise<T> {
  try {
    return decode(await readFile(path));
  } catch (err) {
    throw new AgentError(
      'CHECKPOINT_INVALID',
      `Cannot read checkpoint ${path}: ${(err as Error).message}; remove --work_dir/meta to start afresh (running tasks are then lost)`,
      { cause: err },
    );
  }
}

/** One line of `task.updates`. */
/**
 * One line of a task's `task.updates`: a status update, its acknowledgement, or a kill the agent
 * was asked for (ippc's: the agent plays the executor, whose own memory of a kill would survive an
 * agent crash in Mesos; recorded before the container is signalled, so a restarted agent still
 * reports TASK_KILLED and finishes the kill).
 */
export type UpdateRecord = { type: 'UPDATE'; status: TaskStatus } | { type: 'ACK'; uuid: string } | { type: 'KILL'; graceMs: number };

/**
 * A checkpoint file that may be missing because the agent died between making its folder and
 * writing it (Mesos's state.cpp: "the slave died before it checkpointed"): undefined then, and the
 * entry is skipped as Mesos does. A file that exists but does not decode is still an error.
 */
async function readProtoIfPresent<T>(path: string, decode: (b: Uint8Array) => T): Promise<T | undefined> {
  try {
    await access(path);
  } catch {
    return undefined;
  }
  return readProto(path, decode);
}

export async function checkpointAgent(paths: AgentPaths, info: AgentInfo): Promise<void> {
  const aid = info.id!.value!;
  await mkdir(paths.agent(aid), { recursive: true });
  await writeAtomic(join(paths.agent(aid), 'slave.info'), AgentInfo.encode(info).finish());
  const tmp = `${paths.latest()}.${process.pid}.${tmpSeq++}.tmp`;
  await symlink(aid, tmp);
  await rename(tmp, paths.latest());
}

/** The checkpointed agent id and info, if any. */
export async function readLatestAgent(paths: AgentPaths): Promise<AgentInfo | undefined> {
  let aid: string;
  try {
    aid = await readlink(paths.latest());
  } catch {
    return undefined;
  }
  return readProto(join(paths.agent(aid), 'slave.info'), (b) => AgentInfo.decode(b));
}

// The checkpoints of a launch and of its status updates are small files written synchronously
// (see writeAtomicSync): they are on the path of every task from RUN_TASK to TASK_RUNNING. The
// functions stay async so that a store with real I/O could take their place.

export async function checkpointFramework(paths: AgentPaths, aid: string, info: FrameworkInfo): Promise<void> {
  const dir = paths.framework(aid, info.id!.value!);
  mkdirSync(dir, { recursive: true });
  writeAtomicSync(join(dir, 'framework.info'), FrameworkInfo.encode(info).finish());
}

export async function checkpointRun(
  paths: AgentPaths,
  aid: string,
  fid: string,
  executor: ExecutorInfo,
  cid: string,
  containerizer: string,
  task: Task,
): Promise<void> {
  await checkpointExecutorRun(paths, aid, fid, executor, cid, containerizer);
  await checkpointTask(paths, aid, fid, executor.executorId!.value!, cid, task);
}

/** The executor's info and its run's containerizer: once per run, however many tasks it gets. */
export async function checkpointExecutorRun(
  paths: AgentPaths,
  aid: string,
  fid: string,
  executor: ExecutorInfo,
  cid: string,
  containerizer: string,
): Promise<void> {
  const eid = executor.executorId!.value!;
  const run = paths.run(aid, fid, eid, cid);
  mkdirSync(run, { recursive: true });
  writeAtomicSync(join(paths.executor(aid, fid, eid), 'executor.info'), ExecutorInfo.encode(executor).finish());
  writeAtomicSync(join(run, 'containerizer'), containerizer);
}

/** A task of a run and, for a task of the default executor, the task group it came in (killed together, also after a restart). */
export async function checkpointTask(paths: AgentPaths, aid: string, fid: string, eid: string, cid: string, task: Task, group?: string): Promise<void> {
  const tdir = paths.task(aid, fid, eid, cid, task.taskId!.value!);
  mkdirSync(tdir, { recursive: true });
  writeAtomicSync(join(tdir, 'task.info'), Task.encode(task).finish());
  if (group !== undefined) writeAtomicSync(join(tdir, 'group'), group);
}

export async function appendUpdate(paths: AgentPaths, aid: string, fid: string, eid: string, cid: string, tid: string, record: UpdateRecord): Promise<void> {
  const line = record.type === 'UPDATE' ? { type: 'UPDATE', status: Buffer.from(TaskStatus.encode(record.status).finish()).toString('base64') } : record;
  appendFileSync(join(paths.task(aid, fid, eid, cid, tid), 'task.updates'), JSON.stringify(line) + '\n');
}

export async function markRunCompleted(paths: AgentPaths, aid: string, fid: string, eid: string, cid: string): Promise<void> {
  await writeAtomic(join(paths.run(aid, fid, eid, cid), 'completed'), String(Date.now()));
}

export async function removeFrameworkCheckpoint(paths: AgentPaths, aid: string, fid: string): Promise<void> {
  await rm(paths.framework(aid, fid), { recursive: true, force: true });
}

/**
 * An executor run's sandbox, and `runs/latest` beside it pointing at it (Mesos's sandbox layout:
 * tools and executors written for Mesos read `.../executors/<id>/runs/latest`). The link is
 * replaced atomically (a new link renamed over the old).
 */
export function createSandbox(paths: AgentPaths, aid: string, fid: string, eid: string, cid: string): string {
  const dir = paths.sandbox(aid, fid, eid, cid);
  mkdirSync(dir, { recursive: true });
  const latest = join(dir, '..', 'latest');
  const tmp = `${latest}.${process.pid}.${tmpSeq++}.tmp`;
  symlinkSync(cid, tmp);
  renameSync(tmp, latest);
  return dir;
}

/** Everything checkpointed about one run of one executor. */
export interface RecoveredRun {
  frameworkInfo: FrameworkInfo;
  executor: ExecutorInfo;
  containerId: string;
  containerizer: string;
  completed: boolean;
  tasks: { task: Task; records: UpdateRecord[]; group?: string }[];
}

async function list(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((n) => !n.endsWith('.tmp'));
  } catch {
    return [];
  }
}

async function readRecords(path: string): Promise<UpdateRecord[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return [];
  }
  const out: UpdateRecord[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const r = JSON.parse(line) as { type: string; status?: string; uuid?: string };
      if (r.type === 'UPDATE' && r.status) out.push({ type: 'UPDATE', status: TaskStatus.decode(Buffer.from(r.status, 'base64')) });
      else if (r.type === 'ACK' && r.uuid) out.push({ type: 'ACK', uuid: r.uuid });
      else if (r.type === 'KILL') out.push({ type: 'KILL', graceMs: Number((r as { graceMs?: number }).graceMs ?? 0) });
    } catch {
      // A torn last line (the agent died while appending): the update was never sent.
    }
  }
  return out;
}

/** Reads every run of every framework of the agent. */
export async function readRuns(paths: AgentPaths, aid: string): Promise<RecoveredRun[]> {
  const out: RecoveredRun[] = [];
  for (const fid of await list(join(paths.agent(aid), 'frameworks'))) {
    const fdir = paths.framework(aid, fid);
    const frameworkInfo = await readProtoIfPresent(join(fdir, 'framework.info'), (b) => FrameworkInfo.decode(b));
    if (!frameworkInfo) continue;
    for (const eid of await list(join(fdir, 'executors'))) {
      const edir = paths.executor(aid, fid, eid);
      const executor = await readProtoIfPresent(join(edir, 'executor.info'), (b) => ExecutorInfo.decode(b));
      if (!executor) continue;
      for (const cid of await list(join(edir, 'runs'))) {
        const rdir = paths.run(aid, fid, eid, cid);
        const containerizer = (await readFile(join(rdir, 'containerizer'), 'utf8').catch(() => '')).trim();
        // Written before the launch (checkpointRun): a run without it was never launched.
        if (!containerizer) continue;
        const completed = await readFile(join(rdir, 'completed')).then(
          () => true,
          () => false,
        );
        const tasks = [];
        for (const tid of await list(join(rdir, 'tasks'))) {
          const tdir = paths.task(aid, fid, eid, cid, tid);
          const task = await readProtoIfPresent(join(tdir, 'task.info'), (b) => Task.decode(b));
          if (!task) continue;
          const group = (await readFile(join(tdir, 'group'), 'utf8').catch(() => '')).trim();
          tasks.push({ task, records: await readRecords(join(tdir, 'task.updates')), ...(group ? { group } : {}) });
        }
        out.push({ frameworkInfo, executor, containerId: cid, containerizer, completed, tasks });
      }
    }
  }
  return out;
}
