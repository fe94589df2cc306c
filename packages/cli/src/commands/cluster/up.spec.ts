import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { StartClusterOptions, StartedCluster } from '@ippc/testbed';
import type { Testbed } from '../../context.js';
import { clusterUp, parseWait, readClusterFile } from './up.js';

const dir = await mkdtemp(join(tmpdir(), 'ippc-cli-spec-'));
after(() => rm(dir, { recursive: true, force: true }));

async function file(name: string, text: string): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, text);
  return p;
}

/** A testbed whose startCluster records its options and replays the phases. */
function fakeTestbed(seen: StartClusterOptions[]): Testbed {
  return {
    startCluster: async (o: StartClusterOptions = {}) => {
      seen.push(o);
      for (const phase of ['prepare', 'network', 'containers', 'services', 'agents'] as const) {
        o.onProgress?.({ phase, status: 'start' });
        o.onProgress?.({ phase, status: 'done', ms: 10 });
      }
      return { name: o.name ?? (o.config as { name?: string } | undefined)?.name ?? 'ippc', readyAfterMs: 4321, timings: {} } as unknown as StartedCluster;
    },
    attachCluster: async () => assert.fail('not used'),
    listClusters: async () => [],
    removeCluster: async () => ({ containers: 0, networks: 0, volumes: 0, errors: [] }),
  };
}

describe('cluster up', () => {
  it('reads a YAML or JSON cluster file; unknown fields are refused with the field named', async () => {
    const good = await readClusterFile(await file('a.yaml', 'apiVersion: ippc.dev/v1alpha1\nkind: Cluster\nname: cli-x\nagents: 3\n'));
    assert.equal(good.name, 'cli-x');
    assert.equal(good.agents, 3);
    const json = await readClusterFile(await file('a.json', JSON.stringify({ apiVersion: 'ippc.dev/v1alpha1', kind: 'Cluster', agents: 1 })));
    assert.equal(json.agents, 1);
    await assert.rejects(
      readClusterFile(await file('b.yaml', 'apiVersion: ippc.dev/v1alpha1\nkind: Cluster\nagentz: 3\nnetwork:\n  subnett: 10.0.0.0/24\n')),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'CONFIG_INVALID');
        assert.match(err.message, /agentz/);
        assert.match(err.message, /network.*subnett/s);
        return true;
      },
    );
    await assert.rejects(readClusterFile(join(dir, 'missing.yaml')), { code: 'CLI_CONFIG_FILE' });
  });

  it('flags win over the file; progress for each phase and "ready after N s" go to the progress stream; the cluster is detached', async () => {
    const seen: StartClusterOptions[] = [];
    const lines: string[] = [];
    const path = await file('c.yaml', 'apiVersion: ippc.dev/v1alpha1\nkind: Cluster\nname: from-file\nagents: 1\n');
    const { readyAfterMs } = await clusterUp(
      { config: path, agents: '3', name: 'cli-flag', wait: '90s', retain: true },
      { testbed: fakeTestbed(seen), progress: (l) => lines.push(l) },
    );
    assert.equal(readyAfterMs, 4321);
    assert.equal(seen[0]!.name, 'cli-flag');
    assert.equal(seen[0]!.agents, 3);
    assert.equal(seen[0]!.detached, true);
    assert.equal(seen[0]!.retainOnFailure, true);
    assert.equal(seen[0]!.timeoutMs, 90_000);
    assert.equal((seen[0]!.config as { name: string }).name, 'from-file');
    assert.equal(lines.filter((l) => /: done in 10 ms$/.test(l)).length, 5);
    assert.equal(lines.at(-1), 'cluster cli-flag: ready after 4.3 s');
  });

  it('refuses a bad --agents or --wait before starting anything', async () => {
    const seen: StartClusterOptions[] = [];
    await assert.rejects(clusterUp({ agents: 'two' }, { testbed: fakeTestbed(seen), progress: () => {} }), { code: 'CLI_USAGE' });
    await assert.rejects(clusterUp({ wait: 'soon' }, { testbed: fakeTestbed(seen), progress: () => {} }), { code: 'CLI_USAGE' });
    assert.equal(seen.length, 0);
  });

  it('parses --wait durations', () => {
    assert.equal(parseWait('60s'), 60_000);
    assert.equal(parseWait('2m'), 120_000);
    assert.equal(parseWait('90secs'), 90_000);
    assert.equal(parseWait('500ms'), 500);
    assert.throws(() => parseWait('0s'), { code: 'CLI_USAGE' });
  });
});
