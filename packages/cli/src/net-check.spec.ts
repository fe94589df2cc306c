import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cniRootFromArgv, planEndpoints } from './net-check.js';
import { fixtureState } from './testing-state.js';

describe('net check on a cluster', () => {
  it('finds the CNI isolator root from the agent flags, as the agent does', () => {
    assert.equal(cniRootFromArgv(['node', 'agent', '--work_dir=/var/lib/ippc/agent']), '/var/lib/ippc/agent/run/isolators/network/cni');
    assert.equal(cniRootFromArgv(['--work_dir=/w', '--runtime_dir=/run/x']), '/run/x/isolators/network/cni');
    assert.equal(cniRootFromArgv(['--work_dir=/w', '--runtime_dir=/run/x', '--network_cni_root_dir_persist=true']), '/w/isolators/network/cni');
  });

  it('lays out agents, host-network tasks (own probe ports) and opt-in containers (their netns handle); Docker tasks are left out with the reason', () => {
    const agents = [
      { index: 0, address: '10.99.0.11', isolationId: 'agent-0', hostPid: 100, cniRoot: '/w/run/isolators/network/cni' },
      { index: 1, address: '10.99.0.12', isolationId: 'agent-1', hostPid: 200, cniRoot: '/w/run/isolators/network/cni' },
    ];
    const { endpoints, skipped } = planEndpoints(fixtureState(), agents, 8080);
    assert.deepEqual(
      endpoints.map((e) => [e.id, e.kind, e.agentId, e.address, e.port ?? null, e.groups.join(','), e.netns]),
      [
        ['a0', 'agent', 'agent-0', '10.99.0.11', null, '', '/proc/100/ns/net'],
        ['a1', 'agent', 'agent-1', '10.99.0.12', null, '', '/proc/200/ns/net'],
        ['a0/web', 'container', 'agent-0', '10.100.0.2', null, 'web', '/proc/100/root/w/run/isolators/network/cni/c-web-00000001/ns'],
        ['a1/plain', 'host-task', 'agent-1', '10.99.0.12', 8081, '', '/proc/200/ns/net'],
      ],
    );
    assert.deepEqual(
      skipped.map((s) => [s.name, s.reason]),
      [['dbr', "Docker BRIDGE task: on a Docker network of the machine, outside the cluster's isolation provider"]],
    );
  });

  it("tasks of one executor (no network asked themselves; their statuses name the executor's) are one endpoint", () => {
    const state = fixtureState();
    const status = {
      state: 'TASK_RUNNING',
      timestamp: 1,
      container_status: {
        container_id: { value: 'c-pod' },
        network_infos: [{ name: 'ippc-bridge', groups: ['api'], ip_addresses: [{ ip_address: '10.100.0.9' }] }],
      },
    };
    const executorTask = (id: string) => ({
      ...state.frameworks[0]!.tasks[0]!,
      id,
      name: id,
      executor_id: 'pod',
      slave_id: 'M-S1',
      container: undefined,
      statuses: [status],
    });
    state.frameworks[0]!.tasks = [executorTask('ex-web'), executorTask('ex-api')] as never;
    const agents = [{ index: 1, address: '10.99.0.12', isolationId: 'agent-1', hostPid: 200, cniRoot: '/c' }];
    const { endpoints } = planEndpoints(state, agents, 8080);
    assert.deepEqual(
      endpoints.map((e) => [e.id, e.kind, e.address, e.groups.join(','), e.netns]),
      [
        ['a1', 'agent', '10.99.0.12', '', '/proc/200/ns/net'],
        ['a1/ex-web+ex-api', 'container', '10.100.0.9', 'api', '/proc/200/root/c/c-pod/ns'],
      ],
    );
  });
});
