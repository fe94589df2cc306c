import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ExecutorInfo, FrameworkInfo, Task } from '@ippc/proto';
import { AgentPaths, checkpointFramework, checkpointRun, readRuns } from './checkpoint.js';

describe('checkpoint recovery', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('skips what an agent killed mid-launch never wrote (Mesos: "died before it checkpointed"), and still refuses a corrupt file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ippc-ckpt-'));
    dirs.push(dir);
    const paths = new AgentPaths(dir);
    const aid = 'A-S0';
    const fid = 'F-0000';
    await checkpointFramework(paths, aid, FrameworkInfo.fromPartial({ name: 'f', user: 'root', id: { value: fid } }));
    const executor = (id: string) => ExecutorInfo.fromPartial({ executorId: { value: id }, frameworkId: { value: fid } });
    const task = (id: string) => Task.fromPartial({ name: id, taskId: { value: id }, frameworkId: { value: fid } });
    await checkpointRun(paths, aid, fid, executor('whole'), 'c1', 'mesos', task('whole'));
    // Killed between mkdir and the writes: a task folder without task.info, an executor without
    // executor.info, a run without its containerizer (never launched).
    await mkdir(paths.task(aid, fid, 'half', 'c2', 'half'), { recursive: true });
    await writeFile(join(paths.executor(aid, fid, 'half'), 'executor.info'), ExecutorInfo.encode(executor('half')).finish());
    await writeFile(join(paths.run(aid, fid, 'half', 'c2'), 'containerizer'), 'mesos');
    await mkdir(paths.task(aid, fid, 'half', 'c4', 'never'), { recursive: true });
    await mkdir(paths.run(aid, fid, 'bare', 'c3'), { recursive: true });
    await mkdir(join(paths.agent(aid), 'frameworks', 'F-none'), { recursive: true });

    const runs = await readRuns(paths, aid);
    assert.deepEqual(runs.map((r) => [r.executor.executorId?.value, r.containerId, r.tasks.map((t) => t.task.taskId?.value)]).sort(), [
      ['half', 'c2', []],
      ['whole', 'c1', ['whole']],
    ]);

    await writeFile(join(paths.task(aid, fid, 'whole', 'c1', 'whole'), 'task.info'), Buffer.from([0x0a, 0x7f, 0x01]));
    await assert.rejects(readRuns(paths, aid), /Cannot read checkpoint .*task\.info/);
  });
});
