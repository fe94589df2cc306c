import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '@ippc/core';
import { RecordIoDecoder } from '@ippc/mesos';
import { startMaster, type StartedMaster } from '../server.js';

// Authentication on the master's HTTP side, as Mesos offers it: HTTP Basic against the
// credentials file, the cluster token as a bearer secret, Mesos's 401 challenge, the principal's
// implicit authorization, and `--authenticate_http_readonly` on the read-only endpoints.

const TOKEN = 'auth-spec-token';
const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

describe('HTTP authentication', () => {
  let m: StartedMaster;
  let open: StartedMaster;

  before(async () => {
    const credentials = [
      { principal: 'fw', secret: 'fw-secret' },
      { principal: 'ops', secret: 'ops-secret' },
    ];
    m = await startMaster({ port: 0, auth: { token: TOKEN }, credentials, authenticateHttpReadonly: true, log: silentLogger() });
    open = await startMaster({ port: 0, auth: { token: TOKEN }, log: silentLogger() });
  });
  after(async () => {
    await m?.close();
    await open?.close();
  });

  /** POSTs to the scheduler API; for SUBSCRIBE reads the first event and closes the stream. */
  async function post(master: StartedMaster, authorization: string | undefined, body: object, streamId?: string) {
    const ac = new AbortController();
    const res = await fetch(`${master.url}/api/v1/scheduler`, {
      method: 'POST',
      signal: ac.signal,
      headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}), ...(streamId ? { 'mesos-stream-id': streamId } : {}) },
      body: JSON.stringify(body),
    });
    let first: Record<string, any> | undefined; // eslint-disable-line @typescript-eslint/no-explicit-any
    let text = '';
    if (res.status === 200) {
      const reader = res.body!.getReader();
      const decoder = new RecordIoDecoder();
      while (!first) {
        const { value, done } = await reader.read();
        if (done) break;
        const [record] = decoder.push(value);
        if (record) first = JSON.parse(record.toString('utf8'));
      }
      ac.abort();
    } else text = await res.text();
    return { status: res.status, headers: res.headers, text, first, streamId: res.headers.get('mesos-stream-id') ?? undefined };
  }
  const subscribe = (principal?: string) => ({
    type: 'SUBSCRIBE',
    subscribe: { framework_info: { user: 'root', name: 'auth', ...(principal ? { principal } : {}) } },
  });

  it('takes a principal of the credentials file (Basic) or the cluster token (Bearer); anything else is a 401 with the challenges', async () => {
    const ok = await post(m, basic('fw', 'fw-secret'), subscribe());
    assert.equal(ok.first?.type, 'SUBSCRIBED');
    const state = (await (await fetch(`${m.url}/master/state`, { headers: { authorization: basic('ops', 'ops-secret') } })).json()) as {
      frameworks: { principal?: string }[];
      completed_frameworks: { principal?: string }[];
    };
    // The stream was closed after SUBSCRIBED and the failover timeout is 0: the framework may already be a completed one.
    const fw = [...state.frameworks, ...state.completed_frameworks][0];
    assert.equal(fw?.principal, 'fw', "a framework that names no principal gets the caller's");
    assert.equal((await post(m, `Bearer ${TOKEN}`, subscribe())).first?.type, 'SUBSCRIBED');
    for (const bad of [basic('fw', 'wrong'), basic('nobody', 'fw-secret'), 'Bearer wrong', undefined]) {
      const r = await post(m, bad, subscribe());
      assert.equal(r.status, 401, String(bad));
      assert.equal(r.headers.get('www-authenticate'), 'Basic realm="mesos", Bearer realm="mesos"');
    }
  });

  it("refuses a principal acting for another's framework, as Mesos's implicit authorization does", async () => {
    const wrongInfo = await post(m, basic('fw', 'fw-secret'), subscribe('ops'));
    assert.deepEqual(
      [wrongInfo.status, wrongInfo.text],
      [400, "Failed to validate scheduler::Call: Authenticated principal 'fw' does not match principal 'ops' set in `FrameworkInfo`"],
    );
    const sub = await post(m, basic('fw', 'fw-secret'), subscribe());
    const frameworkId = sub.first!.subscribed.framework_id.value as string;
    const other = await post(m, basic('ops', 'ops-secret'), { type: 'REVIVE', framework_id: { value: frameworkId } }, sub.streamId);
    assert.deepEqual([other.status, other.text], [400, "Authenticated principal 'ops' does not match principal 'fw' set in `FrameworkInfo`"]);
  });

  it('--authenticate_http_readonly guards the endpoints that reveal tasks and addresses, not /health or /version', async () => {
    for (const path of ['/master/state', '/state', '/master/tasks', '/master/frameworks', '/slaves', '/metrics/snapshot']) {
      const res = await fetch(`${m.url}${path}`);
      assert.equal(res.status, 401, path);
      assert.equal((await fetch(`${m.url}${path}`, { headers: { authorization: basic('ops', 'ops-secret') } })).status, 200, path);
      assert.equal((await fetch(`${m.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } })).status, 200, path);
    }
    for (const path of ['/health', '/version']) assert.equal((await fetch(`${m.url}${path}`)).status, 200, path);
    assert.equal((await fetch(`${open.url}/master/state`)).status, 200, 'off by default, as in Mesos');
  });
});
