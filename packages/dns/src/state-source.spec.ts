import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isIppcError } from '@ippc/core';
import { createPollingStateSource, stateUrl, type StateEvent } from './state-source.js';

interface Call {
  url: string;
  headers: Record<string, string>;
}

/** A fetch that answers from a script of responses and records what it was asked. */
function scriptedFetch(script: Array<(call: Call) => Response | Promise<Response>>) {
  const calls: Call[] = [];
  const fn = (async (input: URL | string, init?: RequestInit) => {
    const call = { url: String(input), headers: { ...(init?.headers as Record<string, string>) } };
    calls.push(call);
    const step = script[Math.min(calls.length - 1, script.length - 1)]!;
    return step(call);
  }) as typeof fetch;
  return { fn, calls };
}

const state = (n: number) => JSON.stringify({ frameworks: [{ name: 'm', tasks: [{ id: `t${n}` }] }], slaves: [] });

describe('stateUrl', () => {
  it('appends /master/state to a bare master URL and keeps an explicit path', () => {
    assert.equal(stateUrl('http://10.0.0.1:5050').href, 'http://10.0.0.1:5050/master/state');
    assert.equal(stateUrl('http://10.0.0.1:5050/').href, 'http://10.0.0.1:5050/master/state');
    assert.equal(stateUrl('http://10.0.0.1:5050/state.json').href, 'http://10.0.0.1:5050/state.json');
  });
  it('rejects what is not an http(s) URL', () => {
    assert.throws(
      () => stateUrl('10.0.0.1:5050'),
      (e: unknown) => isIppcError(e, 'DNS_INVALID_OPTIONS'),
    );
    assert.throws(
      () => stateUrl('ftp://x'),
      (e: unknown) => isIppcError(e, 'DNS_INVALID_OPTIONS'),
    );
  });
});

describe('createPollingStateSource', () => {
  it('reports a state, then unchanged for a 304 and for an identical body, then a changed state', async () => {
    const { fn, calls } = scriptedFetch([
      () => new Response(state(1), { headers: { etag: '"v1"' } }),
      () => new Response(null, { status: 304 }),
      () => new Response(state(1)),
      () => new Response(state(2)),
    ]);
    const events: StateEvent[] = [];
    const source = createPollingStateSource({ master: 'http://m:5050', intervalMs: 60_000, fetch: fn });
    source.start((e) => void events.push(e));
    await source.refresh(); // waits for the first poll, then polls again
    await source.refresh();
    await source.refresh();
    await source.close();
    assert.deepEqual(
      events.map((e) => e.kind),
      ['state', 'unchanged', 'unchanged', 'state'],
    );
    assert.equal(calls[0]!.url, 'http://m:5050/master/state');
    assert.equal(calls[0]!.headers['if-none-match'], undefined, 'nothing to compare against yet');
    assert.equal(calls[1]!.headers['if-none-match'], '"v1"', 'conditional request once the master sent an ETag');
    const last = events[3]!;
    assert.equal(last.kind === 'state' && last.state.frameworks?.[0]?.tasks?.[0]?.id, 't2');
  });

  it('reports errors with a typed code and keeps polling', async () => {
    const { fn } = scriptedFetch([
      () => Promise.reject(new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } })),
      () => new Response('oops', { status: 503, statusText: 'Service Unavailable' }),
      () => new Response('<html>'),
      () => new Response('[1,2]'),
      () => new Response(state(3)),
    ]);
    const events: StateEvent[] = [];
    const source = createPollingStateSource({ master: 'http://m:5050', intervalMs: 60_000, fetch: fn });
    source.start((e) => void events.push(e));
    for (let i = 0; i < 4; i++) await source.refresh();
    await source.close();
    const codes = events.map((e) => (e.kind === 'error' ? e.error.code : e.kind));
    assert.deepEqual(codes, ['DNS_STATE_UNAVAILABLE', 'DNS_STATE_UNAVAILABLE', 'DNS_STATE_INVALID', 'DNS_STATE_INVALID', 'state']);
    const first = events[0]!;
    assert.match(first.kind === 'error' ? first.error.message : '', /ECONNREFUSED.*last good state/);
  });

  it('times out a master that does not answer', async () => {
    // Never answers by itself: only the abort signal ends the request.
    const hanging = (async (_input: URL | string, init?: RequestInit) =>
      new Promise<Response>((_, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal!.reason)))) as typeof fetch;
    const events: StateEvent[] = [];
    const source = createPollingStateSource({ master: 'http://m:5050', intervalMs: 60_000, timeoutMs: 50, fetch: hanging });
    source.start((e) => void events.push(e));
    await source.refresh();
    await source.close();
    assert.equal(events[0]?.kind, 'error');
    assert.match(events[0]?.kind === 'error' ? events[0].error.message : '', /no answer within 50 ms/);
  });

  it('polls on its own at the interval and stops on close', async () => {
    const { fn, calls } = scriptedFetch([(c) => new Response(state(calls.indexOf(c)))]);
    const source = createPollingStateSource({ master: 'http://m:5050', intervalMs: 20, fetch: fn });
    source.start(() => undefined);
    await new Promise((r) => setTimeout(r, 150));
    await source.close();
    const n = calls.length;
    assert.ok(n >= 3, `polled ${n} times in 150 ms at 20 ms`);
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(calls.length, n, 'no poll after close');
  });

  it('rejects a bad interval and a refresh before start', () => {
    assert.throws(
      () => createPollingStateSource({ master: 'http://m', intervalMs: 0 }),
      (e: unknown) => isIppcError(e, 'DNS_INVALID_OPTIONS'),
    );
    const s = createPollingStateSource({ master: 'http://m' });
    return assert.rejects(s.refresh(), (e: unknown) => isIppcError(e, 'DNS_INVALID_OPTIONS'));
  });
});
