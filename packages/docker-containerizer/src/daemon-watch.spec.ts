import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import type Docker from 'dockerode';
import { createLogger } from '@ippc/core';
import { watchDaemon } from './daemon-watch.js';

// watchDaemon against a fake daemon whose event stream the test breaks, and which refuses to
// answer for a while (as a restarting daemon does).

describe('watchDaemon', () => {
  it('tells listeners once per return of the daemon, not at the first connection', async () => {
    const streams: PassThrough[] = [];
    let refuse = 0;
    const docker = {
      getEvents: async () => {
        if (refuse > 0) {
          refuse--;
          throw Object.assign(new Error('connect ENOENT /run/docker.sock'), { code: 'ENOENT' });
        }
        const s = new PassThrough();
        streams.push(s);
        return s;
      },
    } as unknown as Docker;
    const watch = watchDaemon(docker, createLogger({ component: 'spec', level: 'silent' }), { retryMs: 5 });
    let calls = 0;
    const unsubscribe = watch.onReconnect(() => calls++);
    const until = async (what: string, check: () => boolean) => {
      for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
      assert.ok(check(), what);
    };
    try {
      await until('connected', () => streams.length === 1);
      assert.equal(calls, 0);
      refuse = 3;
      streams[0]!.end(); // the daemon goes away, then refuses three times
      await until('reconnected', () => streams.length === 2);
      await until('told', () => calls === 1);
      streams[1]!.destroy(new Error('socket hang up'));
      await until('told again', () => calls === 2);
      unsubscribe();
      streams[2]!.end();
      await until('reconnected a third time', () => streams.length === 4);
      assert.equal(calls, 2, 'an unsubscribed listener is not called');
    } finally {
      watch.close();
    }
  });
});
