// The IPAM seam over real gRPC: an address is reusable only once no member holds it and every
// registered agent acknowledged the release; the guard fails closed.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createIsolationClient } from './client.js';
import { createReuseGuard } from './reuse-guard.js';
import { createIsolationService } from './service/service.js';

describe('reuse guard (the IPAM seam)', () => {
  const cleanups: (() => unknown)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('holds an address back while it is in use and while any agent may still have it, then lets it go', async () => {
    const service = await createIsolationService({ auth: { disabled: true } });
    cleanups.push(() => service.close());
    const port = await service.listen('127.0.0.1:0');
    const client = createIsolationClient({ address: `127.0.0.1:${port}`, auth: { disabled: true } });
    cleanups.push(() => client.close());
    const guard = createReuseGuard({ client, pollMs: 5 });
    await client.registerAgent({ id: 'a1', nodeAddresses: ['10.240.0.11'], subnets: ['10.240.1.0/24'] });
    await client.registerAgent({ id: 'a2', nodeAddresses: ['10.240.0.12'], subnets: ['10.240.2.0/24'] });
    await client.attach({
      agentId: 'a1',
      containerId: 'c1',
      ifName: 'eth0',
      network: 'n',
      addresses: ['10.240.1.7', 'fd10:240:0:1::7'],
      groups: ['web'],
      attachedAtMs: 0,
    });
    assert.deepEqual([...(await guard.mayReuse(['10.240.1.7', '10.240.1.8']))], ['10.240.1.8']);
    const { epoch, revision } = await client.detach({ agentId: 'a1', containerId: 'c1', ifName: 'eth0' });
    const [st] = await guard.check(['fd10:240:0:1:0:0:0:7']);
    assert.deepEqual([st?.address, st?.state, st?.pendingAgents], ['fd10:240:0:1::7', 'draining', ['a1', 'a2']]);
    assert.equal((await guard.mayReuse(['10.240.1.7'])).size, 0);
    const waiting = guard.waitReleased('10.240.1.7', 5_000);
    await client.reportApplied('a1', epoch, revision);
    assert.equal((await guard.mayReuse(['10.240.1.7'])).size, 0, 'a2 has not applied the release yet');
    await client.reportApplied('a2', epoch, revision);
    assert.equal(await waiting, true);
    assert.deepEqual([...(await guard.mayReuse(['fd10:240:0:1:0:0:0:7']))], ['fd10:240:0:1:0:0:0:7'], 'answers in the caller’s spelling');
  });

  it('fails closed when the isolation service cannot answer', async () => {
    const client = createIsolationClient({ address: '127.0.0.1:1', auth: { disabled: true }, deadlineMs: 300 });
    cleanups.push(() => client.close());
    const guard = createReuseGuard({ client, pollMs: 20 });
    assert.equal((await guard.mayReuse(['10.240.1.7'])).size, 0);
    assert.equal(await guard.waitReleased('10.240.1.7', 100), false);
  });
});
