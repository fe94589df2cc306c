import type { MasterStateJson, TaskJson } from '@ippc/mesos';

// A /master/state fixture in the Mesos JSON model: two agents, the CLI framework with an opt-in
// task, a plain task, a Docker BRIDGE task and a failed opt-in task.

function task(id: string, agent: string, state: string, container: unknown, networkInfos: unknown[] | undefined, extra: Partial<TaskJson> = {}): TaskJson {
  return {
    id,
    name: id.replace(/-[0-9a-f]{8}$/, ''),
    framework_id: 'M-0000',
    executor_id: '',
    slave_id: agent,
    state,
    resources: { cpus: 0.1, mem: 32 },
    role: '*',
    statuses: [
      { state, timestamp: 1, ...(networkInfos ? { container_status: { container_id: { value: `c-${id}` }, network_infos: networkInfos as never } } : {}) },
    ],
    ...(container ? { container: container as never } : {}),
    ...extra,
  };
}

export function fixtureState(): MasterStateJson {
  return {
    id: 'M',
    pid: 'master@10.99.0.2:5050',
    hostname: '10.99.0.2',
    activated_slaves: 2,
    slaves: [
      {
        id: 'M-S0',
        hostname: '10.99.0.11',
        port: 5051,
        pid: 'slave(1)@10.99.0.11:5051',
        active: true,
        resources: {},
        used_resources: {},
        offered_resources: {},
        unreserved_resources: {},
      },
      {
        id: 'M-S1',
        hostname: '10.99.0.12',
        port: 5051,
        pid: 'slave(1)@10.99.0.12:5051',
        active: true,
        resources: {},
        used_resources: {},
        offered_resources: {},
        unreserved_resources: {},
      },
    ] as never,
    frameworks: [
      {
        id: 'M-0000',
        name: 'ippc-cli',
        active: false,
        connected: false,
        offers: [],
        unreachable_tasks: [],
        completed_tasks: [task('old-0000000a', 'M-S0', 'TASK_KILLED', undefined, undefined)],
        tasks: [
          task('web-00000001', 'M-S0', 'TASK_RUNNING', { type: 'MESOS', network_infos: [{ name: 'ippc-bridge', groups: ['web'] }] }, [
            { name: 'ippc-bridge', groups: ['web'], ip_addresses: [{ protocol: 'IPv4', ip_address: '10.100.0.2' }] },
          ]),
          task('plain-00000002', 'M-S1', 'TASK_RUNNING', undefined, [{ ip_addresses: [{ protocol: 'IPv4', ip_address: '10.99.0.12' }] }], {
            resources: { cpus: 0.1, mem: 32, ports: '[35500-35500]' },
          }),
          task('dbr-00000003', 'M-S1', 'TASK_RUNNING', { type: 'DOCKER', docker: { image: 'i', network: 'BRIDGE' } }, [
            { ip_addresses: [{ protocol: 'IPv4', ip_address: '172.17.0.5' }] },
          ]),
          task('bad-00000004', 'M-S1', 'TASK_FAILED', { type: 'MESOS', network_infos: [{ name: 'nope' }] }, undefined),
        ],
      },
    ] as never,
    completed_frameworks: [],
  } as MasterStateJson;
}
