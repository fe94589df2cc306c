import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExecutorInfo } from '@ippc/proto';
import { planTaskGroup } from '../../group-spec.js';
import { planTaskRun } from '../../task-spec.js';
import { showcaseTaskNames, showcaseTasks, type ShowcasePod, type ShowcaseTask } from './tasks.js';

const items = () => showcaseTasks({ bridge: 'ippc-bridge', ptp: 'ippc-ptp', userNetwork: 'ippc-user', image: 'ippc/node:x' });
const bytes = (e: ExecutorInfo | undefined) => Buffer.from(ExecutorInfo.encode(e!).finish()).toString('hex');

describe('showcase tasks', () => {
  it('covers opt-in and plain tasks, every Docker mode and several groups, and each plans cleanly', () => {
    const all = items();
    const tasks = all.filter((t): t is ShowcaseTask => !('pod' in t));
    const plans = tasks.map((t) => planTaskRun(t.name, undefined, t.flags));
    const pods = all.filter((t): t is ShowcasePod => 'pod' in t).map((p) => planTaskGroup(p.pod, p.flags));
    assert.deepEqual([...new Set(plans.filter((p) => p.containerizer === 'DOCKER').map((p) => p.dockerNetwork))].sort(), ['BRIDGE', 'HOST', 'NONE', 'USER']);
    assert.ok(
      plans.some((p) => p.containerizer === 'MESOS' && p.networks.length === 0),
      'a plain task',
    );
    assert.deepEqual([...new Set([...plans, ...pods].flatMap((p) => p.groups))].sort(), ['db', 'public', 'web']);
    const names = showcaseTaskNames(all);
    assert.equal(new Set(names).size, names.length);
    assert.equal(names.length, 17, 'the 13 tasks of before, two of a custom executor and a pod of two');
  });

  it('runs two tasks on one custom executor (the same ExecutorInfo, so the same container and address) and a pod of two', () => {
    const all = items();
    const onExecutor = all.filter((t): t is ShowcaseTask => !('pod' in t) && t.flags.executor !== undefined);
    assert.deepEqual(
      onExecutor.map((t) => t.name),
      ['ex-web', 'ex-api'],
    );
    const [web, api] = onExecutor.map((t) => planTaskRun(t.name, undefined, { ...t.flags, label: ['org.ippc.showcase=true'] }));
    assert.equal(bytes(web!.spec.executor), bytes(api!.spec.executor), 'a second task carries the first one’s ExecutorInfo');
    assert.equal(onExecutor[0]!.agent, onExecutor[1]!.agent);
    assert.deepEqual([web!.spec.data, api!.spec.data], ['exec busybox httpd -f -p 80', 'exec busybox httpd -f -p 8000']);

    const [pod] = all.filter((t): t is ShowcasePod => 'pod' in t);
    const plan = planTaskGroup(pod!.pod, pod!.flags);
    assert.deepEqual(
      plan.tasks.map((t) => t.name),
      ['pod-back', 'pod-front'],
    );
    assert.deepEqual(Object.keys(pod!.why), ['pod-back', 'pod-front']);
    assert.match(String(plan.tasks[0]!.command), /httpd -f -p 127\.0\.0\.1:9000/, 'the back end serves on localhost only');
    assert.match(
      String(plan.tasks[1]!.command),
      /curl .*http:\/\/127\.0\.0\.1:9000\/.*httpd -f -p 80/,
      'the front end reads it over localhost and serves on 80',
    );
    assert.deepEqual(plan.networks, ['ippc-bridge']);
  });

  it("serves nothing on 8080 in a shared container: net check's probe listens there in every container", () => {
    for (const item of items()) {
      const commands = 'pod' in item ? (item.flags.task ?? []) : [item.flags.cmd ?? ''];
      for (const c of commands) assert.doesNotMatch(c, /-p (127\.0\.0\.1:)?8080\b/, c);
    }
  });
});
