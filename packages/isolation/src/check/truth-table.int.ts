// The truth table of issue 7 on a REAL emulation: 3 agents (scratch namespaces, each a CNI bridge
// network on its own subnet built by Debian's bridge + host-local and our ippc-isolation plugin,
// ippc-isolation-node running inside), joined by a cluster network; 12 containers in 3 groups
// (+ public, a multi-group pair, one without groups) and host-network endpoints; routes installed
// by the enforcers from the service. Observed must equal expected; with enforcement off the same
// check must fail; membership changes while probing; a released address carries no old group.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { packageBin } from '@ippc/core/testing';
import type { Rule } from '../model.js';
import { createEmulation, type Emulation } from '../testing/emulation.js';
import { runNetCheck, type Endpoint } from './check.js';
import { formatCheckText } from './format.js';
import { createNamespaceProber, type NamespaceProber } from './namespace-prober.js';
import { renderCheckSvg } from './svg.js';

const PORT = 8080;
const CTL = packageBin('@ippc/isolation', 'ippc-isolationctl');
const TASK_PORT = 8081;

/** agent → [name, groups] */
const LAYOUT: Record<string, [string, string[]][]> = {
  a1: [
    ['web1', ['web']],
    ['db1', ['db']],
    ['webdb1', ['web', 'db']],
    ['pub1', ['public']],
  ],
  a2: [
    ['web2', ['web']],
    ['db2', ['db']],
    ['cache2', ['cache']],
    ['open2', []],
  ],
  a3: [
    ['cache3', ['cache']],
    ['web3', ['web']],
    ['dbcache3', ['db', 'cache']],
    ['cache4', ['cache']],
  ],
};

/**
 * The model written out independently of the engine (cni-reference.md §4.5), for this test's rules:
 * allow web -> cache on tcp/8080, deny db -> public.
 */
function modelExpects(from: Endpoint, to: Endpoint): boolean {
  const isolated = to.kind === 'container' && to.groups.length > 0;
  if (!isolated) return true; // hosts, host-network tasks, containers without groups: untouched
  if (from.kind !== 'container' && from.agentId === to.agentId) return true; // own agent
  const src = from.kind === 'container' ? from.groups : [];
  if (src.includes('db') && to.groups.includes('public')) return false; // deny rule
  if (to.groups.includes('public')) return true;
  if (src.some((g) => to.groups.includes(g))) return true;
  if (src.includes('web') && to.groups.includes('cache') && (to.port ?? PORT) === 8080) return true; // allow rule
  return false;
}

describe('truth table on an emulated 3-agent cluster', () => {
  let emu: Emulation;
  let prober: NamespaceProber;
  let endpoints: Endpoint[];
  let rules: Rule[];
  const namespaces: Record<string, string> = {};

  before(async () => {
    emu = await createEmulation({ agents: 3 });
    for (const [agentId, list] of Object.entries(LAYOUT)) for (const [name, groups] of list) await emu.addContainer(agentId, name, groups);
    await emu.client.addRule({ from: 'web', to: 'cache', ports: [PORT], description: 'web reads the caches' });
    await emu.client.addRule({ action: 'deny', from: 'db', to: 'public', description: 'databases stay inside' });
    rules = await emu.client.listRules();
    await emu.settle();
    endpoints = [];
    for (const a of emu.agents) {
      endpoints.push({ id: a.id, kind: 'agent', agentId: a.id, address: a.nodeAddress, groups: [] });
      endpoints.push({ id: `${a.id}/task`, kind: 'host-task', agentId: a.id, address: a.nodeAddress, port: TASK_PORT, groups: [] });
      namespaces[a.id] = a.nsPath;
      namespaces[`${a.id}/task`] = a.nsPath;
      for (const [name] of LAYOUT[a.id]!) {
        const c = emu.containers.get(name)!;
        endpoints.push({ id: `${a.id}/${name}`, kind: 'container', agentId: a.id, address: c.address, groups: c.groups });
        namespaces[`${a.id}/${name}`] = c.nsPath;
      }
    }
    prober = createNamespaceProber({ dir: `${emu.scratch.dir}/probe`, namespaces, port: PORT });
    await prober.start(endpoints);
  });
  after(async () => {
    await prober?.close();
    await emu?.close();
  });

  it('has the shape the issue asks for: >= 3 agents, >= 3 groups, 12 containers, host endpoints, routes from the service', async () => {
    assert.equal(emu.agents.length, 3);
    assert.equal(endpoints.filter((e) => e.kind === 'container').length, 12);
    assert.ok(new Set(endpoints.flatMap((e) => e.groups)).size >= 3);
    assert.equal(endpoints.filter((e) => e.kind !== 'container').length, 6);
    for (const a of emu.agents) {
      const routes = await emu.scratch.exec(a.id, 'ip', ['route', 'show', 'proto', '241']);
      const others = emu.agents.filter((o) => o.id !== a.id);
      assert.deepEqual(
        routes.stdout
          .trim()
          .split('\n')
          .map((l) => l.split(' ').slice(0, 3).join(' '))
          .sort(),
        others.map((o) => `${o.subnet} via ${o.nodeAddress}`).sort(),
        `routes on ${a.id}`,
      );
    }
  });

  it('observed reachability equals the expected table (and the engine agrees with the model written here)', async () => {
    const report = await runNetCheck({ endpoints, rules, prober, port: PORT });
    console.log(formatCheckText(report));
    endpoints.forEach((from, i) =>
      endpoints.forEach((to, j) => {
        if (i !== j) assert.equal(report.expected[i]![j], modelExpects(from, to), `engine vs model: ${from.id} -> ${to.id}`);
      }),
    );
    // Every kind of cell is present: cross-agent allowed and blocked, hosts, rules.
    const at = (f: string, t: string) => report.expected[endpoints.findIndex((e) => e.id === f)]![endpoints.findIndex((e) => e.id === t)];
    assert.deepEqual(
      [
        at('a2/web2', 'a1/web1'),
        at('a2/db2', 'a1/web1'),
        at('a3/web3', 'a2/cache2'),
        at('a2/cache2', 'a3/web3'),
        at('a2/db2', 'a1/pub1'),
        at('a3', 'a1/pub1'),
        at('a3', 'a1/web1'),
        at('a1/task', 'a1/db1'),
      ],
      [true, false, true, false, false, true, false, true],
    );
    assert.equal(report.counts.unknownRows, 0);
    assert.deepEqual(report.mismatches, []);
    assert.equal(report.status, 'pass');
    const svg = renderCheckSvg(report, {
      agents: emu.agents.map((a) => ({ id: a.id, nodeAddresses: [a.nodeAddress], subnets: [a.subnet] })),
      routes: await emu.client.listRoutes(),
    });
    assert.ok(svg.includes('ippc net check: PASS'));
  });

  it('ippc-isolationctl check (a real process) prints JSON and writes the SVG for a subset', async () => {
    // Other ports than the test's own probe agents hold (they keep running); on 9090 the
    // web -> cache rule (tcp/8080) does not apply, so web -> cache is blocked here.
    const subset = ['a1', 'a1/web1', 'a1/db1', 'a2/web2', 'a3/cache3', 'a3/task'].map((id) => {
      const e = endpoints.find((x) => x.id === id)!;
      return { ...e, port: e.kind === 'host-task' ? 9091 : 9090, netns: namespaces[id]! };
    });
    const file = `${emu.scratch.dir}/endpoints.json`;
    const svg = `${emu.scratch.dir}/check.svg`;
    await writeFile(file, JSON.stringify(subset));
    const res = await emu.scratch.exec(
      undefined,
      process.execPath,
      ['--import', 'tsx', CTL, '--service', emu.serviceAddress, '--no-auth', 'check', '--endpoints', file, '--svg', svg, '--json', '--port', String(PORT)],
      { timeoutMs: 60_000 },
    );
    assert.equal(res.code, 0, res.stderr + res.stdout);
    const report = JSON.parse(res.stdout) as { status: string; counts: { cells: number }; observed: Record<string, Record<string, boolean | null>> };
    assert.deepEqual([report.status, report.counts.cells], ['pass', 30]);
    assert.equal(report.observed['a2/web2']!['a1/web1'], true);
    assert.equal(report.observed['a1/db1']!['a1/web1'], false);
    assert.equal(report.observed['a2/web2']!['a3/cache3'], false);
    const picture = await readFile(svg, 'utf8');
    assert.match(picture, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.match(picture, /agent a3/);
  });

  it('would fail with enforcement off: the same check reports every expected block as a mismatch', async () => {
    for (const a of emu.agents) await emu.scratch.sh(a.id, 'nft delete table inet ippc_iso');
    const report = await runNetCheck({ endpoints, rules, prober, port: PORT, retryDelayMs: 50 });
    const blockedCells = report.expected.flat().filter((v) => v === false).length;
    assert.equal(report.status, 'fail');
    assert.ok(blockedCells > 50, `the table has many blocked cells (${blockedCells})`);
    assert.equal(report.mismatches.length, blockedCells);
    assert.ok(report.mismatches.every((m) => !m.expected && m.observed));
    // Enforcement back: the daemons rebuild their tables and the check passes again.
    await Promise.all(emu.agents.map((a) => a.resync()));
    const again = await runNetCheck({ endpoints, rules, prober, port: PORT });
    assert.equal(again.status, 'pass', formatCheckText(again));
  });

  it('membership changes while probing: a removed container leaves every allow-set; its address comes back without its old groups', async () => {
    const web1 = endpoints.find((e) => e.id === 'a1/web1')!;
    const pairs: [string, string, boolean][] = [
      ['a2/web2', 'a1/web1', true],
      ['a2/db2', 'a1/web1', false],
      ['a3/web3', 'a1/db1', false],
      ['a3/dbcache3', 'a1/db1', true],
    ];
    const byId = (id: string) => endpoints.find((e) => e.id === id)!;
    let probing = true;
    const wrong: string[] = [];
    let rounds = 0;
    const loop = (async () => {
      // Until the change is over, and at least 4 rounds (blocked probes cost their full timeout).
      while ((probing || rounds < 4) && rounds < 200) {
        rounds++;
        await Promise.all(
          pairs.map(async ([f, t, want]) => {
            const r = await prober.probe(byId(f), byId(t), PORT, { timeoutMs: 400 });
            if (r.reachable !== want) wrong.push(`${f}->${t}: ${r.detail}`);
          }),
        );
      }
    })();
    const victim = emu.containers.get('webdb1')!;
    const address = victim.address;
    await new Promise((r) => setTimeout(r, 300));
    await emu.removeContainer('webdb1');
    // The IPAM seam: draining until every agent applied the removal, then clear, and by then no
    // agent has the address in any set.
    const deadline = Date.now() + 5_000;
    let state = (await emu.client.checkAddresses([address]))[0]!.state;
    while (state !== 'clear') {
      assert.ok(Date.now() < deadline, `address ${address} still ${state}`);
      await new Promise((r) => setTimeout(r, 10));
      state = (await emu.client.checkAddresses([address]))[0]!.state;
    }
    for (const a of emu.agents) {
      const text = (await emu.scratch.exec(a.id, 'nft', ['-j', 'list', 'table', 'inet', 'ippc_iso'])).stdout;
      assert.ok(!text.includes(`"${address}"`), `${address} left every set on ${a.id}`);
    }
    // Hand the same address out again (as IPAM would after the check) to a container in db only.
    const a1 = emu.agents.find((a) => a.id === 'a1')!;
    const bridge = a1.baseConflist.plugins[0]!;
    const staticConf = {
      ...a1.conflist,
      plugins: [
        { ...bridge, ipam: { type: 'static', addresses: [{ address: `${address}/24`, gateway: a1.gateway }], routes: [{ dst: '0.0.0.0/0' }] } },
        a1.conflist.plugins[1]!,
      ],
    };
    const reused = await emu.addContainer('a1', 'reuse1', ['db'], { conflist: staticConf });
    assert.equal(reused.address, address);
    await emu.settle();
    probing = false;
    await loop;
    assert.deepEqual(wrong, [], 'pairs not involved in the change kept their reachability while it happened');
    assert.ok(rounds >= 4, `probed while changing (${rounds} rounds)`);
    const reuseEp: Endpoint = { id: 'a1/reuse1', kind: 'container', agentId: 'a1', address, groups: ['db'] };
    namespaces['a1/reuse1'] = reused.nsPath;
    await prober.start([reuseEp]);
    const got = await Promise.all([
      prober.probe(byId('a2/web2'), reuseEp, PORT, { timeoutMs: 1_000 }),
      prober.probe(byId('a2/db2'), reuseEp, PORT, { timeoutMs: 1_000 }),
      prober.probe(byId('a3/web3'), reuseEp, PORT, { timeoutMs: 1_000 }),
    ]);
    assert.deepEqual(
      got.map((g) => g.reachable),
      [false, true, false],
      `the reused address is in db only: web no longer reaches it (${JSON.stringify(got)})`,
    );
    assert.equal(web1.groups[0], 'web');
  });
});
