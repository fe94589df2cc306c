import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { recordFigure } from './figures.js';
import { httpCall } from './probe.js';
import { createWorld, expectClean, holdings, type Holdings, type World } from './world.js';

// Bounded fuzzing of the inputs a node takes from outside: CNI stdin and environment at ippc's
// plugin executables and at the node daemons behind them (IPAM and isolation), and the query
// strings of the state endpoints. Every input gets an answer of the documented shape (a CNI
// error JSON, a 4xx with JSON), no daemon dies, and nothing is left behind. Seeded, so a failure
// replays; IPPC_FUZZ_RUNS raises the number of runs.

const RUNS = Number(process.env.IPPC_FUZZ_RUNS ?? 120);
const SEED = Number(process.env.IPPC_FUZZ_SEED ?? 20261123);

let w: World;
let baseline: Holdings;
let bridgeIpam: Record<string, unknown>;
let tried = 0;

const printable = (max: number) =>
  fc.string({
    unit: fc.constantFrom(...' !#%&()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_abcdefghijklmnopqrstuvwxyz{|}~'.split('')),
    maxLength: max,
  });
const command = fc.oneof(fc.constantFrom('ADD', 'DEL', 'CHECK', 'VERSION', 'GC', 'STATUS', 'add', ''), printable(12));
const containerId = fc.oneof(fc.constantFrom('rl-fuzz-1', 'rl-fuzz-2'), printable(70));
const ifName = fc.oneof(fc.constantFrom('eth0', 'eth1', 'lo'), printable(20));

/** A config near the real one (so the fuzz gets past the first check) or anything JSON at all. */
const ipamConfig = () =>
  fc.oneof(
    fc.record({
      cniVersion: fc.oneof(fc.constantFrom('1.0.0', '0.4.0', '0.3.1', '0.2.0', '9.9.9', ''), printable(8)),
      name: fc.oneof(fc.constant('ippc-bridge'), printable(20)),
      type: fc.constant('bridge'),
      ipam: fc.oneof(
        fc.constant(bridgeIpam),
        fc.record({ ...Object.fromEntries(Object.entries(bridgeIpam).map(([k, v]) => [k, fc.constant(v)])), ranges: fc.jsonValue() }),
        fc.record({ ...Object.fromEntries(Object.entries(bridgeIpam).map(([k, v]) => [k, fc.constant(v)])), routes: fc.jsonValue() }),
        fc.jsonValue(),
      ),
      args: fc.oneof(fc.constant(undefined), fc.jsonValue(), fc.record({ 'org.apache.mesos': fc.record({ network_info: fc.jsonValue() }) })),
      runtimeConfig: fc.oneof(fc.constant(undefined), fc.record({ ips: fc.array(fc.oneof(printable(20), fc.ipV4(), fc.ipV6()), { maxLength: 3 }) })),
    }),
    fc.jsonValue(),
  );

describe('fuzz: CNI input and state endpoint queries', { timeout: 300_000 }, () => {
  before(async () => {
    w = await createWorld({ isolation: true });
    await w.startAgent();
    await w.waitForAgents(1);
    const conf = JSON.parse(await readFile(join(w.configDir, 'ippc-bridge.conflist'), 'utf8')) as { plugins: Array<{ ipam?: Record<string, unknown> }> };
    bridgeIpam = conf.plugins[0]!.ipam!;
    baseline = await holdings(w);
  });
  after(async () => {
    recordFigure({ suite: 'fuzz', name: `CNI and state inputs (${RUNS} runs per target, seed ${SEED})`, cases: tried });
    await w?.dispose();
  });

  /** Whatever was added by a fuzz input that happened to be a valid ADD is taken away again. */
  async function undoAdds(): Promise<void> {
    for (const lease of await w.ipam.client.listLeases()) await w.ipam.client.release(lease.handle);
    for (const m of await w.isolation!.client.listMembers({ agentId: `rl-node-${w.id}` }))
      await w.isolation!.client.detach({ agentId: m.agentId, containerId: m.containerId, ifName: m.ifName }).catch(() => undefined);
  }

  it('the IPAM node daemon answers every CNI request with a CNI result or a CNI error, and keeps serving', async () => {
    await fc.assert(
      fc.asyncProperty(
        command,
        containerId,
        ifName,
        printable(60),
        fc.oneof(
          ipamConfig().map((c) => JSON.stringify(c)),
          printable(200),
        ),
        async (cmd, cid, ifn, args, body) => {
          tried += 1;
          const out = await httpCall(
            { socketPath: w.ipamSocket, path: '/v1/cni' },
            {
              method: 'POST',
              body,
              headers: {
                'x-cni-command': cmd,
                'x-cni-containerid': cid,
                'x-cni-ifname': ifn,
                'x-cni-args': args,
                'x-cni-netns': '/proc/1/ns/net',
                'content-type': 'application/json',
              },
            },
          );
          assert.ok([200, 400].includes(out.status), `${out.status} ${out.body}`);
          if (out.status === 400) {
            const err = JSON.parse(out.body) as { code: number; msg: string };
            assert.ok(Number.isInteger(err.code) && err.code > 0, out.body);
            assert.ok(typeof err.msg === 'string' && err.msg.length > 0, out.body);
          } else if (out.body.trim()) JSON.parse(out.body);
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
    assert.equal((await httpCall({ socketPath: w.ipamSocket, path: '/health' })).status, 200);
    await undoAdds();
    await expectClean(w, baseline, 'fuzzing the IPAM node daemon');
  });

  it('the isolation node daemon answers every CNI request with JSON, and keeps serving', async () => {
    const isoConfig = fc.oneof(
      fc.record({
        cniVersion: fc.constantFrom('1.0.0', '0.4.0', '9.9.9'),
        name: fc.oneof(fc.constant('ippc-bridge'), printable(20)),
        type: fc.constant('ippc-isolation'),
        socket: fc.constant(w.isolation!.socket),
        prevResult: fc.oneof(
          fc.jsonValue(),
          fc.record({
            cniVersion: fc.constant('1.0.0'),
            ips: fc.array(
              fc.record({
                address: fc.oneof(
                  printable(20),
                  fc.ipV4().map((a) => `${a}/24`),
                ),
              }),
              { maxLength: 3 },
            ),
          }),
        ),
        args: fc.oneof(
          fc.constant(undefined),
          fc.jsonValue(),
          fc.record({ 'org.apache.mesos': fc.record({ network_info: fc.record({ name: printable(10), groups: fc.array(printable(10), { maxLength: 3 }) }) }) }),
        ),
      }),
      fc.jsonValue(),
    );
    await fc.assert(
      fc.asyncProperty(
        command,
        containerId,
        ifName,
        fc.oneof(
          isoConfig.map((c) => JSON.stringify(c)),
          printable(200),
        ),
        async (cmd, cid, ifn, body) => {
          tried += 1;
          const out = await httpCall(
            { socketPath: w.isolation!.socket, path: '/cni' },
            { method: 'POST', body, headers: { 'x-cni-command': cmd, 'x-cni-containerid': cid, 'x-cni-ifname': ifn, 'x-cni-netns': '/proc/1/ns/net' } },
          );
          assert.ok([200, 400].includes(out.status), `${out.status} ${out.body}`);
          if (out.body.trim()) JSON.parse(out.body);
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
    assert.equal((await httpCall({ socketPath: w.isolation!.socket, path: '/status' })).status, 200);
    await undoAdds();
    await expectClean(w, baseline, 'fuzzing the isolation node daemon');
  });

  it("ippc's plugin executables turn any stdin and environment into a CNI answer, quickly", async () => {
    const plugins: Array<[string, (c: Record<string, unknown>) => Record<string, unknown>]> = [
      // The socket always points at this world's daemon: a plugin must never reach the machine's default socket.
      ['ippc-ipam', (c) => ({ ...c, ipam: { ...(typeof c.ipam === 'object' && c.ipam ? c.ipam : {}), daemonSocket: w.ipamSocket } })],
      ['ippc-isolation', (c) => ({ ...c, socket: w.isolation!.socket })],
    ];
    for (const [name, pin] of plugins) {
      await fc.assert(
        fc.asyncProperty(
          command,
          containerId,
          ifName,
          printable(40),
          fc.dictionary(printable(10), fc.jsonValue(), { maxKeys: 4 }),
          async (cmd, cid, ifn, path, extra) => {
            tried += 1;
            const stdin = JSON.stringify(pin({ cniVersion: '1.0.0', name: 'ippc-bridge', type: name, ...extra }));
            const r = spawnSync(join(w.pluginDir, name), [], {
              input: stdin,
              env: { CNI_COMMAND: cmd, CNI_CONTAINERID: cid, CNI_IFNAME: ifn, CNI_NETNS: '/proc/1/ns/net', CNI_PATH: path },
              timeout: 10_000,
              encoding: 'utf8',
            });
            assert.equal(r.error, undefined, `${name} ran (${r.error?.message})`);
            assert.ok(r.status !== null, `${name} ended by itself (signal ${r.signal})`);
            if (r.status !== 0) {
              const err = JSON.parse(r.stdout) as { code: number; msg: string };
              assert.ok(Number.isInteger(err.code) && typeof err.msg === 'string', r.stdout);
            } else if (r.stdout.trim()) JSON.parse(r.stdout);
          },
        ),
        // A process per run (and a daemon round trip): a quarter of the runs keeps this bounded.
        { numRuns: Math.ceil(RUNS / 4), seed: SEED },
      );
    }
    await undoAdds();
    await expectClean(w, baseline, 'fuzzing the plugin executables');
  });

  it('the state endpoints answer any query with JSON: 200, or 400 with what to send', async () => {
    const query = fc.oneof(
      fc.record({
        since: fc.oneof(printable(12), fc.integer().map(String), fc.constant('')),
        timeout: fc.oneof(fc.stringMatching(/^[a-z!#%]{1,8}$/), fc.constantFrom('0', '0.1', '-1', 'NaN', 'Infinity', '1e400', '')),
      }),
      fc.dictionary(printable(8), printable(16), { maxKeys: 3 }),
    );
    const paths = fc.constantFrom('/master/state', '/state', '/master/state.json', '/master/slaves', '/master/frameworks');
    const agentPaths = fc.constantFrom('/state', '/slave(1)/state', '/monitor/statistics', '/state.json');
    await fc.assert(
      fc.asyncProperty(fc.boolean(), paths, agentPaths, query, async (onMaster, mp, ap, q) => {
        tried += 1;
        const search = new URLSearchParams(Object.entries(q).filter(([, v]) => v !== undefined) as [string, string][]).toString();
        const url = onMaster ? `${w.masterUrl}${mp}?${search}` : `${w.agent!.url}${ap}?${search}`;
        const out = await httpCall({ url }, { timeoutMs: 5_000 });
        assert.ok([200, 400].includes(out.status), `${url}: ${out.status} ${out.body.slice(0, 200)}`);
        const body = JSON.parse(out.body) as { error?: string };
        if (out.status === 400) assert.match(body.error ?? '', /since|timeout/);
      }),
      { numRuns: RUNS, seed: SEED },
    );
    assert.equal((await httpCall({ url: `${w.masterUrl}/health` })).status, 200);
    assert.equal((await httpCall({ url: `${w.agent!.url}/health` })).status, 200);
  });
});
