import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KeyedMutex, Mutex } from './mutex.js';

const tick = () => new Promise((r) => setImmediate(r));

describe('Mutex', () => {
  it('runs calls one at a time in order, after failures too', async () => {
    const m = new Mutex();
    const log: string[] = [];
    const step = (name: string, fail = false) =>
      m.run(async () => {
        log.push(`${name}+`);
        await tick();
        log.push(`${name}-`);
        if (fail) throw new Error(name);
        return name;
      });
    const results = await Promise.allSettled([step('a'), step('b', true), step('c')]);
    assert.deepEqual(log, ['a+', 'a-', 'b+', 'b-', 'c+', 'c-']);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
  });
});

describe('KeyedMutex', () => {
  it('serializes per key, lets keys run side by side, and forgets idle keys', async () => {
    const m = new KeyedMutex();
    const log: string[] = [];
    const step = (key: string, name: string) =>
      m.run(key, async () => {
        log.push(`${name}+`);
        await tick();
        log.push(`${name}-`);
      });
    await Promise.all([step('x', 'x1'), step('y', 'y1'), step('x', 'x2')]);
    assert.ok(log.indexOf('x1-') < log.indexOf('x2+'), 'x2 waits for x1');
    assert.ok(log.indexOf('y1+') < log.indexOf('x1-'), 'y runs beside x');
    await tick();
    assert.equal(m.size, 0);
  });
});

describe('idle()', () => {
  it('resolves once every call made so far has settled, failed ones too, and never rejects', async () => {
    const m = new Mutex();
    const keyed = new KeyedMutex();
    const done: string[] = [];
    const slow =
      (name: string, fail = false) =>
      async () => {
        await tick();
        await tick();
        done.push(name);
        if (fail) throw new Error(name);
      };
    void m.run(slow('a')).catch(() => undefined);
    void m.run(slow('b', true)).catch(() => undefined);
    await m.idle();
    assert.deepEqual(done, ['a', 'b']);
    void keyed.run('x', slow('x', true)).catch(() => undefined);
    void keyed.run('y', slow('y')).catch(() => undefined);
    await keyed.idle();
    assert.deepEqual(done, ['a', 'b', 'x', 'y']);
    await new Mutex().idle();
    await new KeyedMutex().idle();
  });
});
