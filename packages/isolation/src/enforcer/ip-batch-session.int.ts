// The long-running `ip -force -batch -` the enforcer feeds neighbour flushes to: each line runs
// as it arrives, a failing line does not stop the next ones, and a closed session starts again.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TEST_NET } from '../testing/resources.js';
import { createScratch, type Scratch } from '../testing/scratch.js';
import { createIpBatchSession } from './ip-batch-session.js';

describe('ip batch session (real ip, scratch namespace)', () => {
  let s: Scratch;
  before(async () => {
    s = await createScratch();
    await s.addNs('n');
    await s.sh(
      'n',
      [
        'ip link add d0 type veth peer name d1 && ip link set d0 up && ip link set d1 up',
        `ip addr add ${TEST_NET}.9.1/24 dev d0`,
        ...[7, 8, 9].map((i) => `ip neigh add ${TEST_NET}.9.${i} lladdr 02:00:00:00:00:0${i} dev d0 nud reachable`),
      ].join('\n'),
    );
  });
  after(async () => {
    await s?.cleanup();
  });

  const neighbours = async () =>
    (await s.sh('n', 'ip -4 neigh show dev d0'))
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' ')[0])
      .sort();
  async function until(cond: () => Promise<boolean>, what: string): Promise<void> {
    const end = Date.now() + 5_000;
    while (!(await cond())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('runs each line as it arrives, reports a failing one and goes on with a fresh ip, and starts again after close', async () => {
    const errors: string[] = [];
    const session = createIpBatchSession({ netns: s.nsPath('n'), onError: (t) => errors.push(t) });
    try {
      session.send([`neigh flush to ${TEST_NET}.9.7`]);
      await until(async () => !(await neighbours()).includes(`${TEST_NET}.9.7`), 'the first flush');
      assert.deepEqual(await neighbours(), [`${TEST_NET}.9.8`, `${TEST_NET}.9.9`]);
      // A line the kernel refuses is reported, and the next lines go to a fresh ip.
      session.send([`neigh del ${TEST_NET}.9.50 dev d0`]);
      await until(() => Promise.resolve(errors.length > 0), 'the error reported');
      assert.match(errors.join('\n'), /RTNETLINK answers: No such file or directory/);
      session.send([`neigh flush to ${TEST_NET}.9.8`]);
      await until(async () => !(await neighbours()).includes(`${TEST_NET}.9.8`), 'the flush after a failing line');
      session.close();
      session.send([`neigh flush to ${TEST_NET}.9.9`]);
      await until(async () => (await neighbours()).length === 0, 'a flush after close');
    } finally {
      session.close();
    }
  });
});
