import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { silentLogger } from '@ippc/core';
import { parseResources } from '@ippc/mesos';
import { schedulerv1 } from '@ippc/proto';
import { Master, type MasterObserver } from './master.js';

// The observer seam of the master core, in memory: who hears what, in order, and that an
// observer can neither break the master nor outlive it.

function recorder(log: string[], name = ''): MasterObserver {
  return {
    taskAdded: (t) => log.push(`${name}taskAdded ${t.taskId?.value}`),
    taskUpdated: (t, s) => log.push(`${name}taskUpdated ${t.taskId?.value} ${s.state}`),
    frameworkAdded: (f) => log.push(`${name}frameworkAdded ${f.info.name}`),
    frameworkUpdated: (f) => log.push(`${name}frameworkUpdated ${f.info.name} ${f.conn ? 'connected' : 'disconnected'}`),
    frameworkRemoved: (f) => log.push(`${name}frameworkRemoved ${f.info.name}`),
    agentAdded: (a) => log.push(`${name}agentAdded ${a.info.hostname}`),
    agentRemoved: (id) => log.push(`${name}agentRemoved ${id}`),
    masterStopped: () => log.push(`${name}masterStopped`),
  };
}

const conn = { send() {}, close() {} };

describe('master observers', () => {
  it('hear agents and frameworks come and go, in order; a removed observer hears nothing more', () => {
    const master = new Master({ ip: '127.0.0.1', port: 5050, id: 'M', log: silentLogger() });
    const heard: string[] = [];
    const remove = master.observers.add(recorder(heard));
    const agent = { agent: { hostname: 'a1', resources: parseResources('cpus:1;mem:128'), attributes: [] }, version: 't', pid: 'slave(1)@127.0.0.2:5051' };
    master.registerAgent(agent, conn);
    master.registerAgent({ ...agent, agent: { ...agent.agent, hostname: 'a1-again' } }, conn);
    const call = { type: schedulerv1.Call_Type.SUBSCRIBE, subscribe: { frameworkInfo: { user: 'root', name: 'fw', capabilities: [], roles: [] } } };
    const { frameworkId, streamId } = master.subscribe(call, conn);
    master.frameworkDisconnected(frameworkId, streamId);
    assert.deepEqual(heard, ['agentAdded a1', 'agentRemoved M-S0', 'agentAdded a1-again', 'frameworkAdded fw', 'frameworkUpdated fw disconnected']);
    remove();
    remove();
    assert.equal(master.observers.size, 0);
    master.stop();
    assert.equal(heard.length, 5);
  });

  it('an observer that throws is logged and the others still hear; stopping the master tells all and forgets them', () => {
    const master = new Master({ ip: '127.0.0.1', port: 5050, log: silentLogger() });
    const heard: string[] = [];
    master.observers.add({ ...recorder([]), agentAdded: () => assert.fail('broken observer') });
    master.observers.add(recorder(heard, 'b: '));
    master.registerAgent({ agent: { hostname: 'a1', resources: parseResources('cpus:1'), attributes: [] }, version: 't', pid: 'p' }, conn);
    assert.deepEqual(heard, ['b: agentAdded a1']);
    master.stop();
    assert.deepEqual(heard, ['b: agentAdded a1', 'b: masterStopped']);
    assert.equal(master.observers.size, 0);
  });
});
