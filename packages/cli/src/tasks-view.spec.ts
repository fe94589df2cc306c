import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderTable } from '@ippc/core';
import { taskRows, taskViews } from './tasks-view.js';
import { fixtureState } from './testing-state.js';

describe('task views of /master/state', () => {
  it('reads containerizer, networks, groups and addresses, and whether a task opted in', () => {
    const views = taskViews(fixtureState());
    assert.deepEqual(
      views.map((v) => [v.name, v.containerizer, v.dockerNetwork ?? '', v.networks.join(','), v.groups.join(','), v.addresses.join(','), v.optedIn, v.agent]),
      [
        ['web', 'MESOS', '', 'ippc-bridge', 'web', '10.100.0.2', true, '10.99.0.11'],
        ['plain', 'MESOS', '', '', '', '10.99.0.12', false, '10.99.0.12'],
        ['dbr', 'DOCKER', 'BRIDGE', '', '', '172.17.0.5', true, '10.99.0.12'],
        ['bad', 'MESOS', '', 'nope', '', '', true, '10.99.0.12'],
      ],
    );
    assert.equal(views[0]!.containerId, 'c-web-00000001');
    assert.equal(views[1]!.ports, '[35500-35500]');
  });

  it('a finished task shows the address it ran with, not the one its terminal status reports', () => {
    const state = fixtureState();
    const web = state.frameworks[0]!.tasks[0]!;
    web.statuses.push({
      state: 'TASK_KILLED',
      timestamp: 2,
      container_status: { network_infos: [{ ip_addresses: [{ protocol: 'IPv4', ip_address: '10.99.0.11' }] }] },
    });
    web.state = 'TASK_KILLED';
    assert.deepEqual(taskViews(state)[0]!.addresses, ['10.100.0.2']);
  });

  it("a task of a custom executor or a pod names its executor and reports the executor's networks", () => {
    const state = fixtureState();
    const web = state.frameworks[0]!.tasks[0]!;
    state.frameworks[0]!.tasks = [{ ...web, id: 'ex-web-1', name: 'ex-web', executor_id: 'ex', container: undefined }] as never;
    const [view] = taskViews(state);
    assert.deepEqual([view!.executor, view!.networks, view!.groups, view!.addresses, view!.optedIn], ['ex', ['ippc-bridge'], ['web'], ['10.100.0.2'], true]);
    assert.deepEqual(taskRows([view!])[1]!.slice(4, 7), ['mesos', 'ex', 'ippc-bridge']);
    assert.equal(taskViews(fixtureState())[0]!.executor, undefined, 'a command task has none');
  });

  it('--all adds finished tasks', () => {
    assert.equal(taskViews(fixtureState()).length, 4);
    assert.equal(taskViews(fixtureState(), { all: true }).length, 5);
  });

  it('renders the table people read', () => {
    assert.equal(
      renderTable(taskRows(taskViews(fixtureState()))),
      [
        'ID              NAME   STATE    AGENT       CONTAINERIZER  EXECUTOR  NETWORKS         GROUPS  ADDRESSES',
        'web-00000001    web    RUNNING  10.99.0.11  mesos          -         ippc-bridge      web     10.100.0.2',
        'plain-00000002  plain  RUNNING  10.99.0.12  mesos          -         (agent: host)    -       10.99.0.12',
        'dbr-00000003    dbr    RUNNING  10.99.0.12  docker/bridge  -         (docker bridge)  -       172.17.0.5',
        'bad-00000004    bad    FAILED   10.99.0.12  mesos          -         nope             -       -',
      ].join('\n'),
    );
  });
});
