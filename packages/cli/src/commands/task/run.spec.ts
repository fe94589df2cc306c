import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Offer, Resource } from '@ippc/proto';
import { planTaskRun } from '../../task-spec.js';
import { CliError } from '../../errors.js';
import { explainExecutorRefusal, resultText, shellJoin, taskForOffer } from './run.js';

const scalar = (name: string, value: number): Resource => ({ name, type: 0, scalar: { value }, allocationInfo: { role: '*' } }) as Resource;
const offer = (ports: [number, number], cpus = 4): Offer =>
  ({
    id: { value: 'O1' },
    agentId: { value: 'S1' },
    hostname: '10.99.0.11',
    resources: [
      scalar('cpus', cpus),
      scalar('mem', 1024),
      { name: 'ports', type: 1, ranges: { range: [{ begin: ports[0], end: ports[1] }] }, allocationInfo: { role: '*' } } as Resource,
    ],
  }) as unknown as Offer;
const portsOf = (resources: Resource[]) => resources.filter((r) => r.name === 'ports').flatMap((r) => r.ranges!.range.map((x) => [x.begin, x.end]));

describe('task run', () => {
  it('joins argv after -- into one shell command, quoting what the shell would split', () => {
    assert.equal(shellJoin(['busybox', 'httpd', '-f', '-p', '80']), 'busybox httpd -f -p 80');
    assert.equal(shellJoin(['sh', '-c', "echo it's $HOME"]), `sh -c 'echo it'\\''s $HOME'`);
  });

  it('says where a started task runs and with which address', () => {
    const text = resultText({
      id: 'web-1',
      name: 'web',
      state: 'TASK_RUNNING',
      agentId: 'S0',
      agent: '10.99.0.11',
      containerizer: 'MESOS',
      networks: ['ippc-bridge'],
      groups: ['web'],
      addresses: [{ network: 'ippc-bridge', address: '10.100.0.2' }],
      ports: [],
    });
    assert.equal(text, 'task web-1 TASK_RUNNING on agent 10.99.0.11: 10.100.0.2 (ippc-bridge)');
  });

  it('names the executor of a task of one, and says what to do when Mesos refuses a different ExecutorInfo', () => {
    const text = resultText({
      id: 'ex-api-1',
      name: 'ex-api',
      state: 'TASK_RUNNING',
      agentId: 'S1',
      agent: '10.99.0.12',
      containerizer: 'MESOS',
      networks: ['ippc-bridge'],
      groups: [],
      addresses: [{ network: 'ippc-bridge', address: '10.100.1.3' }],
      ports: [],
      executor: 'ex',
    });
    assert.equal(text, 'task ex-api-1 TASK_RUNNING on agent 10.99.0.12 (executor ex): 10.100.1.3 (ippc-bridge)');
    const refused = new CliError(
      'CLI_TASK_FAILED',
      'task t-1 reached TASK_ERROR (REASON_TASK_INVALID): ExecutorInfo is not compatible with existing ExecutorInfo with same ExecutorID.\n',
      { details: { state: 'TASK_ERROR' } },
    );
    const explained = explainExecutorRefusal(refused, 'ex') as CliError;
    assert.equal(explained.code, 'CLI_TASK_FAILED');
    assert.match(explained.message, /same ExecutorID\. \(executor 'ex' runs already: give the --network, --group, --ip and --hostname it started with/);
    assert.deepEqual(explained.details, { state: 'TASK_ERROR' });
    const other = new CliError('CLI_NO_OFFER', 'no agent');
    assert.equal(explainExecutorRefusal(other, 'ex'), other);
  });

  it('names the mapped host ports in the task whether or not the offer holds them, so the master judges them', () => {
    const plan = planTaskRun('dbr', 'sleep 60', { image: 'img', dockerNetwork: 'bridge', portMapping: ['40000:80'] });
    const outside = taskForOffer(offer([35600, 35699]), plan.spec);
    assert.deepEqual(portsOf(outside.resources), [[40000, 40000]], 'the named port, not one the offer holds');
    assert.equal(outside.resources.find((r) => r.name === 'ports')!.allocationInfo?.role, '*', "with the offer's role");
    const inside = taskForOffer(offer([39990, 40010]), plan.spec);
    assert.deepEqual(portsOf(inside.resources), [[40000, 40000]]);
  });

  it('still needs cpus, mem and as many ports as it maps from the offer', () => {
    const plan = planTaskRun('dbr', 'sleep 60', { image: 'img', dockerNetwork: 'bridge', portMapping: ['40000:80', '40001:81'], cpus: '2' });
    assert.throws(() => taskForOffer(offer([35600, 35699], 1), plan.spec), /cannot hold/);
    assert.throws(() => taskForOffer(offer([35600, 35600]), plan.spec), /cannot hold/, 'one port offered, two mapped');
    assert.deepEqual(portsOf(taskForOffer(offer([35600, 35601]), plan.spec).resources), [
      [40000, 40000],
      [40001, 40001],
    ]);
  });
});
