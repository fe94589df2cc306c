import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { allocateResources, formatResources, parseResources } from '@ippc/mesos';
import { ContainerInfo_Type, FrameworkInfo_Capability_Type, HealthCheck_Type, Offer_Operation_Type, schedulerv1, type ExecutorInfo } from '@ippc/proto';
import { GROUP_VALIDATION_CASES, validGroup } from '../testing/validation-cases.js';
import { validateFrameworkInfo, validateId, validateRole, validateSchedulerCall } from './framework.js';
import { validateOffers } from './offers.js';
import { taskGroupConsumes, validateTaskGroup } from './task-group.js';
import type { TaskContext } from './task.js';

const { Call_Type } = schedulerv1;

describe('Mesos validation helpers', () => {
  it('validates ids (common::validation::validateID)', () => {
    assert.equal(validateId('web-1'), undefined);
    assert.equal(validateId(''), 'ID must not be empty');
    assert.equal(validateId('.'), "'.' is disallowed");
    assert.equal(validateId('a\\b'), "'a\\b' contains invalid characters");
    assert.equal(validateId('tab\there'), "'tab\there' contains invalid characters");
    assert.equal(validateId('x'.repeat(255)), undefined);
  });

  it('validates scheduler calls (validation::scheduler::call::validate)', () => {
    assert.equal(validateSchedulerCall({} as schedulerv1.Call), "Expecting 'type' to be present");
    assert.equal(validateSchedulerCall({ type: Call_Type.SUBSCRIBE } as schedulerv1.Call), "Expecting 'subscribe' to be present");
    assert.equal(
      validateSchedulerCall({ type: Call_Type.SUBSCRIBE, subscribe: { frameworkInfo: { capabilities: [], roles: [] } } } as schedulerv1.Call),
      'Not initialized: subscribe.framework_info.user, subscribe.framework_info.name',
    );
    assert.equal(validateSchedulerCall({ type: Call_Type.DECLINE, frameworkId: { value: 'f' } } as schedulerv1.Call), "Expecting 'decline' to be present");
    assert.equal(validateSchedulerCall({ type: Call_Type.KILL, frameworkId: { value: 'f' } } as schedulerv1.Call), "Expecting 'kill' to be present");
    assert.equal(validateSchedulerCall({ type: Call_Type.RECONCILE, frameworkId: { value: 'f' } } as schedulerv1.Call), "Expecting 'reconcile' to be present");
    assert.equal(
      validateSchedulerCall({ type: Call_Type.ACKNOWLEDGE, frameworkId: { value: 'f' } } as schedulerv1.Call),
      "Expecting 'acknowledge' to be present",
    );
    assert.equal(validateSchedulerCall({ type: Call_Type.TEARDOWN, frameworkId: { value: 'f' } } as schedulerv1.Call), undefined);
  });

  it('validates FrameworkInfo roles and failover timeout', () => {
    const base = { user: 'u', name: 'n', capabilities: [], roles: [] };
    assert.equal(validateFrameworkInfo(base), undefined);
    assert.equal(validateFrameworkInfo({ ...base, roles: ['a'] }), "'FrameworkInfo.roles' must not be set when the framework is not MULTI_ROLE capable");
    const multi = { ...base, capabilities: [{ type: FrameworkInfo_Capability_Type.MULTI_ROLE }] };
    assert.equal(validateFrameworkInfo({ ...multi, role: 'a' }), "'FrameworkInfo.role' must not be set when the framework is MULTI_ROLE capable");
    assert.equal(validateFrameworkInfo({ ...multi, roles: ['a', 'a'] }), "'FrameworkInfo.roles' contains duplicate items: { a }");
    assert.equal(validateFrameworkInfo({ ...base, role: '-x' }), "'FrameworkInfo.role' is not a valid role: Role '-x' cannot start with '-'");
    assert.equal(validateFrameworkInfo({ ...base, failoverTimeout: -1 }), 'The framework failover_timeout (-1) is invalid');
    assert.equal(validateRole('a/b'), undefined);
    assert.equal(validateRole('a//b'), "Role 'a//b' cannot contain two adjacent slashes");
  });

  it('validates offers in Mesos order (unique, outstanding, framework, role, agent)', () => {
    const offers: Record<string, { frameworkId: string; agentId: string; role: string }> = {
      o1: { frameworkId: 'F', agentId: 'A', role: '*' },
      o2: { frameworkId: 'F', agentId: 'B', role: '*' },
      o3: { frameworkId: 'G', agentId: 'A', role: '*' },
    };
    const lookup = (id: string) => offers[id];
    assert.equal(validateOffers(['o1'], lookup, 'F'), undefined);
    assert.equal(validateOffers(['o1', 'o1'], lookup, 'F'), 'Duplicate offer o1 in offer list');
    assert.equal(validateOffers(['o9'], lookup, 'F'), 'Offer o9 is no longer valid');
    assert.equal(validateOffers(['o3'], lookup, 'F'), 'Offer o3 has invalid framework G while framework F is expected');
    assert.equal(validateOffers(['o1', 'o2'], lookup, 'F'), 'Aggregated offers must belong to one single agent. Offer o2 uses agent B and agent A');
  });
});

describe('Mesos task group validation (validation::task::group::validate)', () => {
  const offered = allocateResources(parseResources('cpus:2;mem:1024;disk:1024;ports:[31000-31004]'), '*');
  const ids = { agentId: 'A-S0', frameworkId: 'F-0000', offered: formatResources(offered) };
  const ctx = (executors: Map<string, ExecutorInfo> = new Map(), taskIds: string[] = []): TaskContext => ({
    frameworkId: ids.frameworkId,
    taskIds: new Set(taskIds),
    unreachableTaskIds: new Set(),
    agentId: ids.agentId,
    executors,
  });

  it('accepts the valid group, a task on networks of its own with a COMMAND check, and a task naming the group executor itself', () => {
    const g = validGroup(ids.agentId, ids.frameworkId);
    // The master copies the group's executor into each task first; a task still without one is refused.
    assert.equal(validateTaskGroup(g.tasks, g.executor, ctx(), offered), "Task 't1' is invalid: 'TaskInfo.executor' must be set");
    assert.equal(
      validateTaskGroup(
        g.tasks.map((t) => ({ ...t, executor: g.executor })),
        g.executor,
        ctx(),
        offered,
      ),
      undefined,
    );
    const own = {
      ...g.tasks[0]!,
      executor: g.executor,
      container: { type: ContainerInfo_Type.MESOS, networkInfos: [{ name: 'blue', groups: [], ipAddresses: [], portMappings: [] }] },
      healthCheck: { type: HealthCheck_Type.COMMAND, command: { value: 'true', uris: [], arguments: [] } },
    };
    assert.equal(validateTaskGroup([own, { ...g.tasks[1]!, executor: g.executor }], g.executor, ctx(), offered), undefined);
  });

  for (const c of GROUP_VALIDATION_CASES) {
    it(`answers with Mesos's message: ${c.name}`, () => {
      const g = c.mutate(validGroup(ids.agentId, ids.frameworkId), ids);
      // As the master does before validating: each task without an executor gets the group's.
      const tasks = g.tasks.map((t) => ({ ...t, executor: t.executor ?? g.executor }));
      assert.equal(validateTaskGroup(tasks, g.executor, ctx(), offered), typeof c.message === 'string' ? c.message : c.message(ids));
    });
  }

  it("refuses a task id the framework already uses, and a different ExecutorInfo under a running executor's id", () => {
    const g = validGroup(ids.agentId, ids.frameworkId);
    const tasks = g.tasks.map((t) => ({ ...t, executor: g.executor }));
    assert.equal(validateTaskGroup(tasks, g.executor, ctx(new Map(), ['t2']), offered), "Task 't2' is invalid: Task has duplicate ID: t2");
    const running = new Map([['default', { ...g.executor, resources: allocateResources(parseResources('cpus:0.2;mem:32;disk:32'), '*') }]]);
    assert.equal(
      validateTaskGroup(tasks, g.executor, ctx(running), offered),
      'ExecutorInfo is not compatible with existing ExecutorInfo with same ExecutorID.\n',
    );
  });

  it("takes the executor's resources only while it is new on the agent", () => {
    const g = validGroup(ids.agentId, ids.frameworkId);
    const tasks = g.tasks.map((t) => ({ ...t, executor: g.executor }));
    assert.equal(formatResources(taskGroupConsumes(tasks, g.executor, ctx())), 'cpus(allocated: *):0.3; mem(allocated: *):96; disk(allocated: *):32');
    const running = new Map([['default', g.executor]]);
    assert.equal(formatResources(taskGroupConsumes(tasks, g.executor, ctx(running))), 'cpus(allocated: *):0.2; mem(allocated: *):64');
    // Against a running executor, only the tasks must fit what is offered.
    const small = allocateResources(parseResources('cpus:0.2;mem:64'), '*');
    assert.equal(validateTaskGroup(tasks, g.executor, ctx(running), small), undefined);
    assert.equal(
      validateTaskGroup(tasks, g.executor, ctx(), small),
      'Total resources cpus(allocated: *):0.3; mem(allocated: *):96; disk(allocated: *):32 required by task group and its executor are more than available cpus(allocated: *):0.2; mem(allocated: *):64',
    );
  });

  it("refuses a LAUNCH_GROUP without its required fields as protobuf's parse does", () => {
    const accept = (launchGroup: object) =>
      validateSchedulerCall({
        type: schedulerv1.Call_Type.ACCEPT,
        frameworkId: { value: 'f' },
        accept: {
          offerIds: [],
          operations: [
            { type: Offer_Operation_Type.LAUNCH, launch: { taskInfos: [] } },
            { type: Offer_Operation_Type.LAUNCH_GROUP, launchGroup },
          ],
        },
      } as unknown as schedulerv1.Call);
    assert.equal(accept({}), 'Not initialized: accept.operations[1].launch_group.executor, accept.operations[1].launch_group.task_group');
    assert.equal(accept({ executor: { resources: [] }, taskGroup: { tasks: [] } }), 'Not initialized: accept.operations[1].launch_group.executor.executor_id');
    assert.equal(
      accept({ executor: { executorId: {}, resources: [] }, taskGroup: { tasks: [] } }),
      'Not initialized: accept.operations[1].launch_group.executor.executor_id.value',
    );
    assert.equal(accept({ executor: { executorId: { value: 'e' }, resources: [] }, taskGroup: { tasks: [] } }), undefined);
  });
});
