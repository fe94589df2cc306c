import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ContainerInfo_DockerInfo_Network, ContainerInfo_Type, NetworkInfo_Protocol, TaskState, type Task } from '@ippc/proto';
import { allocateResources, containerStatusJson, networkInfoJson, parseResources, protobufJson, taskJson, taskStatusJson } from '../index.js';

describe('Mesos JSON model', () => {
  it('writes a NetworkInfo of a status with labels as a bare array and protocol defaulted', () => {
    assert.deepEqual(
      networkInfoJson({
        name: 'mynet',
        groups: ['web'],
        labels: { labels: [{ key: 'app', value: 'web' }] },
        ipAddresses: [{ ipAddress: '192.168.0.2' }, { protocol: NetworkInfo_Protocol.IPv6, ipAddress: 'fd01::2' }],
        portMappings: [{ hostPort: 31000, containerPort: 80, protocol: 'tcp' }],
      }),
      {
        groups: ['web'],
        labels: [{ key: 'app', value: 'web' }],
        ip_addresses: [
          { protocol: 'IPv4', ip_address: '192.168.0.2' },
          { protocol: 'IPv6', ip_address: 'fd01::2' },
        ],
        name: 'mynet',
        port_mappings: [{ host_port: 31000, container_port: 80, protocol: 'tcp' }],
      },
    );
    // Only non-empty keys, in Mesos's order.
    assert.deepEqual(Object.keys(networkInfoJson({ ipAddresses: [{ ipAddress: '10.0.0.5' }], groups: [], portMappings: [] })), ['ip_addresses']);
  });

  it('writes ContainerStatus without executor_pid', () => {
    const json = containerStatusJson({ containerId: { value: 'c1' }, networkInfos: [], executorPid: 42 });
    assert.deepEqual(json, { container_id: { value: 'c1' } });
  });

  it('writes a status with only the fields Mesos shows', () => {
    const json = taskStatusJson({
      taskId: { value: 't' },
      state: TaskState.TASK_RUNNING,
      message: 'hidden',
      reason: 14,
      source: 0,
      uuid: Buffer.alloc(16),
      data: Buffer.from('x'),
      timestamp: 1700000000.5,
      healthy: true,
      labels: { labels: [{ key: 'k', value: 'v' }] },
      containerStatus: { networkInfos: [{ ipAddresses: [{ ipAddress: '127.0.0.2' }], groups: [], portMappings: [] }] },
    });
    assert.deepEqual(json, {
      state: 'TASK_RUNNING',
      timestamp: 1700000000.5,
      labels: [{ key: 'k', value: 'v' }],
      container_status: { network_infos: [{ ip_addresses: [{ protocol: 'IPv4', ip_address: '127.0.0.2' }] }] },
      healthy: true,
    });
  });

  it('writes task.container as stout protobuf JSON with defaults and wrapped labels', () => {
    const json = protobufJson('ContainerInfo', {
      type: ContainerInfo_Type.DOCKER,
      docker: { image: 'busybox', portMappings: [], parameters: [] },
      networkInfos: [
        { name: 'mynet', labels: { labels: [{ key: 'app', value: 'web' }] }, ipAddresses: [{ ipAddress: '10.1.1.1' }], groups: [], portMappings: [] },
      ],
    });
    assert.deepEqual(json, {
      type: 'DOCKER',
      docker: { image: 'busybox', network: 'HOST', privileged: false },
      network_infos: [{ ip_addresses: [{ protocol: 'IPv4', ip_address: '10.1.1.1' }], name: 'mynet', labels: { labels: [{ key: 'app', value: 'web' }] } }],
    });
    const set = protobufJson('ContainerInfo', {
      type: ContainerInfo_Type.DOCKER,
      docker: { image: 'b', network: ContainerInfo_DockerInfo_Network.USER, privileged: true, portMappings: [], parameters: [] },
      networkInfos: [],
    }) as {
      docker: Record<string, unknown>;
    };
    assert.deepEqual(set.docker, { image: 'b', network: 'USER', privileged: true });
    assert.deepEqual(Object.keys(set.docker), ['image', 'network', 'privileged']);
  });

  it('writes a task in the order and shape of http.cpp', () => {
    const task: Task = {
      name: 'web',
      taskId: { value: 'web-1' },
      frameworkId: { value: 'F-0000' },
      agentId: { value: 'F-S0' },
      state: TaskState.TASK_RUNNING,
      resources: allocateResources(parseResources('cpus:0.1;mem:32;ports:[31000-31000]'), '*'),
      statuses: [
        {
          taskId: { value: 'web-1' },
          state: TaskState.TASK_STARTING,
          timestamp: 1,
          containerStatus: { networkInfos: [{ ipAddresses: [{ ipAddress: '127.0.0.2' }], groups: [], portMappings: [] }] },
        },
      ],
      labels: { labels: [{ key: 'team', value: 'a' }] },
      container: { type: ContainerInfo_Type.MESOS, networkInfos: [{ name: 'blue', groups: [], ipAddresses: [], portMappings: [] }] },
      limits: {},
    };
    const json = taskJson(task);
    assert.deepEqual(Object.keys(json), [
      'id',
      'name',
      'framework_id',
      'executor_id',
      'slave_id',
      'state',
      'resources',
      'role',
      'statuses',
      'labels',
      'container',
    ]);
    assert.equal(json.executor_id, '');
    assert.equal(json.role, '*');
    assert.deepEqual(json.resources, { cpus: 0.1, disk: 0, gpus: 0, mem: 32, ports: '[31000-31000]' });
    assert.equal(json.statuses[0]?.container_status?.network_infos?.[0]?.ip_addresses?.[0]?.ip_address, '127.0.0.2');
    assert.deepEqual(json.labels, [{ key: 'team', value: 'a' }]);
    assert.deepEqual(json.container, { type: 'MESOS', network_infos: [{ name: 'blue' }] });
  });
});
