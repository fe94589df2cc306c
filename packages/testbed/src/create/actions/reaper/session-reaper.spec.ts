import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type Docker from 'dockerode';
import type { CreateContext } from '../../context.js';
import { startSessionReaper } from './session-reaper.js';

describe('startSessionReaper', () => {
  it('lets a reaper that fails early be awaited later, without an unhandled rejection in between', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const docker = { createContainer: () => Promise.reject(new Error('no such image')) } as unknown as Docker;
      const ctx = { docker, session: 's-test', config: { name: 'c' } } as unknown as CreateContext;
      const guard = startSessionReaper(ctx, 'ippc/node:x');
      // The start goes on making networks and containers for a while before it awaits the reaper.
      await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(unhandled, []);
      await assert.rejects(guard.ready, /no such image/);
      assert.equal(guard.reaper, undefined);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
