import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizeRule } from '../model.js';
import { chooseControls, expectedMatrix, runNetCheck, type Endpoint, type Prober } from './check.js';
import { checkReportJson, formatCheckText } from './format.js';
import { renderCheckSvg } from './svg.js';

const E = (id: string, kind: Endpoint['kind'], agentId: string, address: string, groups: string[] = []): Endpoint => ({ id, kind, agentId, address, groups });
const endpoints: Endpoint[] = [
  E('a1', 'agent', 'a1', '10.240.0.11'),
  E('a1/web', 'container', 'a1', '10.240.1.2', ['web']),
  E('a1/db', 'container', 'a1', '10.240.1.3', ['db']),
  E('a2', 'agent', 'a2', '10.240.0.12'),
  E('a2/web', 'container', 'a2', '10.240.2.2', ['web']),
  E('a2/pub', 'container', 'a2', '10.240.2.3', ['public']),
];
const idx = (id: string) => endpoints.findIndex((e) => e.id === id);

/** A prober that answers from a table (the policy, with deliberate faults). */
function tableProber(allowed: (from: string, to: string) => boolean, calls: string[] = []): Prober {
  return {
    async probe(from, to) {
      calls.push(`${from.id}>${to.id}`);
      return allowed(from.id, to.id) ? { reachable: true, detail: 'connected' } : { reachable: false, detail: 'timeout' };
    },
  };
}

describe('net check engine', () => {
  const { allowed: expected } = expectedMatrix(endpoints, [], 8080);
  const policy = (f: string, t: string) => expected[idx(f)]![idx(t)] === true;

  it('computes the expected matrix from the model', () => {
    const at = (f: string, t: string) => expected[idx(f)]![idx(t)];
    assert.deepEqual(
      [at('a1/web', 'a2/web'), at('a1/db', 'a1/web'), at('a1', 'a1/db'), at('a2', 'a1/db'), at('a1/db', 'a2/pub'), at('a1/web', 'a2'), at('a1', 'a1')],
      [true, false, true, false, true, true, null],
    );
  });

  it('passes when observation equals the policy, probing every ordered pair once', async () => {
    const calls: string[] = [];
    const report = await runNetCheck({ endpoints, rules: [], prober: tableProber(policy, calls), concurrency: 4 });
    assert.equal(report.status, 'pass');
    assert.equal(calls.length, 30);
    assert.equal(new Set(calls).size, 30);
    assert.deepEqual(
      report.rows.map((r) => r.control),
      ['a2', 'a1', 'a1', 'a1', 'a2', 'a2'],
    );
  });

  it('reports a mismatch, after retrying it once', async () => {
    const calls: string[] = [];
    const report = await runNetCheck({
      endpoints,
      rules: [],
      prober: tableProber((f, t) => policy(f, t) || (f === 'a1/db' && t === 'a1/web'), calls),
      retryDelayMs: 1,
    });
    assert.equal(report.status, 'fail');
    assert.deepEqual(report.mismatches, [
      { from: 'a1/db', to: 'a1/web', expected: false, observed: true, reason: 'no rule admits [db] -> [web]', detail: 'connected' },
    ]);
    assert.equal(calls.filter((c) => c === 'a1/db>a1/web').length, 2);
    assert.equal(report.counts.retried, 1);
  });

  it('a flaky cell that recovers on the retry is not a mismatch', async () => {
    let first = true;
    const flaky: Prober = {
      async probe(from, to) {
        if (from.id === 'a1/web' && to.id === 'a2/web' && first) {
          first = false;
          return { reachable: false, detail: 'timeout' };
        }
        return { reachable: policy(from.id, to.id) };
      },
    };
    const report = await runNetCheck({ endpoints, rules: [], prober: flaky, retryDelayMs: 1 });
    assert.equal(report.status, 'pass');
  });

  it('a row whose source cannot reach its known-open control is unknown, not blocked', async () => {
    // a1/web's prober is broken: everything from it times out.
    const report = await runNetCheck({ endpoints, rules: [], prober: tableProber((f, t) => f !== 'a1/web' && policy(f, t)), retryDelayMs: 1 });
    assert.equal(report.status, 'inconclusive');
    assert.deepEqual(report.rows[idx('a1/web')], { id: 'a1/web', control: 'a1', status: 'unknown' });
    assert.ok(report.observed[idx('a1/web')]!.every((v) => v === null));
    assert.equal(report.mismatches.length, 0);
    const text = formatCheckText(report);
    assert.match(text, /a1\/web: could not reach a1 \(timeout\)/);
    assert.match(text, /result: INCONCLUSIVE/);
  });

  it('rules change the expectation (ports), and a bad endpoint list is refused', async () => {
    const rules = [normalizeRule({ from: 'db', to: 'web', ports: [8080] })];
    assert.equal(expectedMatrix(endpoints, rules, 8080).allowed[idx('a1/db')]![idx('a1/web')], true);
    assert.equal(expectedMatrix(endpoints, rules, 9090).allowed[idx('a1/db')]![idx('a1/web')], false);
    await assert.rejects(runNetCheck({ endpoints: [...endpoints, endpoints[0]!], rules: [], prober: tableProber(() => true) }), /used twice/);
    assert.deepEqual(chooseControls(endpoints, expected, { 'a1/web': 'a2/web' })[idx('a1/web')], idx('a2/web'));
  });

  it('prints expected / observed / difference tables, JSON and an SVG', async () => {
    const report = await runNetCheck({ endpoints, rules: [], prober: tableProber((f, t) => policy(f, t) || (f === 'a2' && t === 'a1/db')), retryDelayMs: 1 });
    const text = formatCheckText(report);
    assert.match(text, /expected \(from the policy\)\n\s+1 2 3 4 5 6\n1 a1 +- \. \. \. X \./);
    assert.match(text, /difference \(\. agrees\)[\s\S]*4 a2 +\. \. ! - \. \./);
    assert.match(text, /a2 -> a1\/db: expected blocked \(no rule admits host of a2 -> \[db\]\), observed allowed \(connected\)/);
    const json = checkReportJson(report) as { status: string; expected: Record<string, Record<string, boolean | null>> };
    assert.equal(json.status, 'fail');
    assert.equal(json.expected['a2']!['a1/db'], false);
    const svg = renderCheckSvg(report, {
      agents: [
        { id: 'a1', nodeAddresses: ['10.240.0.11'], subnets: ['10.240.1.0/24'] },
        { id: 'a2', nodeAddresses: ['10.240.0.12'], subnets: ['10.240.2.0/24'] },
      ],
      routes: [
        { agentId: 'a1', destination: '10.240.2.0/24', via: '10.240.0.12' },
        { agentId: 'a9', destination: '10.240.9.0/24', via: '10.240.0.19' },
      ],
    });
    assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
    assert.equal((svg.match(/<rect x="\d+" y="\d+" width="21" height="21"/g) ?? []).length, 36);
    assert.match(svg, /fill="#e15759"><title>a2 -&gt; a1\/db: expected blocked/);
    // Routes sit under their agent's box; those of an agent not drawn name it, in a column of their own.
    const a1Box = Number(/<rect x="(\d+)" y="50" width="230"/.exec(svg)![1]);
    assert.match(svg, new RegExp(`<text x="${a1Box}" y="\\d+" font-size="10">10\\.240\\.2\\.0/24 via 10\\.240\\.0\\.12</text>`));
    assert.match(svg, new RegExp(`<text x="${a1Box + 2 * 250}" y="\\d+" font-size="10">a9: 10\\.240\\.9\\.0/24 via 10\\.240\\.0\\.19</text>`));
    assert.match(svg, /font-size="10">10\.240\.0\.11<\/text>/);
    assert.match(svg, /<\/svg>\n$/);
  });
});
