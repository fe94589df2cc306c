// Launch-to-TASK_RUNNING through the Docker containerizer, side by side with a raw `docker run` +
// `docker inspect` of the same image, command and network, for BRIDGE and USER, in one run.
//
//   cd packages/docker-containerizer && npx tsx bench/launch.ts [--runs 20] [--warmup 2]
//
// Variants, interleaved in rotating order so drift on a shared machine hits all of them alike:
//   containerizer  launch() until the TASK_RUNNING status is sent (image check, create, start,
//                  inspect; the sandbox mount, resources and labels a real task has)
//   raw API        the Engine API calls docker run + docker inspect make: create, start, inspect
//   docker CLI     `docker run -d` then `docker inspect` as processes (what Mesos itself runs)
// Removal after each launch is not timed. Target: containerizer p50 under 1.2x the raw API's p50.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import Docker from 'dockerode';
import { silentLogger } from '@ippc/core';
import { planBootstrap } from '@ippc/host';
import { ContainerInfo_DockerInfo_Network as Network, ContainerInfo_Type, TaskState, Value_Type, type ContainerInfo } from '@ippc/proto';
import { createDockerContainerizer } from '../src/index.js';

const run = promisify(execFile);
const { values } = parseArgs({ options: { runs: { type: 'string', default: '20' }, warmup: { type: 'string', default: '2' } } });
const RUNS = Math.max(1, Number(values.runs));
const WARMUP = Math.max(0, Number(values.warmup));
const TARGET = 1.2;
const USER_NET = 'ippc-dkr-bench-u';
const LABELS = { 'org.ippc.owner': 'ippc', 'org.ippc.test': 'docker-containerizer', 'org.ippc.test.run': `bench-${process.pid}` };
const COMMAND = 'exec sleep 300';

const docker = new Docker();
const { images } = await planBootstrap();
const image = images.base;
const tmp = mkdtempSync('/tmp/dkr-');
const scope = `dkr-bench-${process.pid}`;
const containerizer = createDockerContainerizer({ docker, scope, labels: LABELS, logger: silentLogger(), pullImages: false });

type Variant = 'containerizer' | 'raw API' | 'docker CLI';
const VARIANTS: Variant[] = ['containerizer', 'raw API', 'docker CLI'];
const MODES = [
  { label: 'BRIDGE', mode: Network.BRIDGE, net: 'bridge' },
  { label: 'USER', mode: Network.USER, net: USER_NET },
] as const;

async function viaContainerizer(mode: Network, net: string): Promise<number> {
  const containerId = randomUUID();
  const sandbox = join(tmp, containerId);
  mkdirSync(sandbox);
  const container: ContainerInfo = {
    type: ContainerInfo_Type.DOCKER,
    networkInfos: mode === Network.USER ? [{ name: net, groups: [], ipAddresses: [], portMappings: [] }] : [],
    docker: { image, network: mode, portMappings: [], parameters: [] },
  };
  const resources = [
    { name: 'cpus', type: Value_Type.SCALAR, scalar: { value: 0.1 }, reservations: [] },
    { name: 'mem', type: Value_Type.SCALAR, scalar: { value: 32 }, reservations: [] },
  ];
  let runningAt = 0;
  const t0 = performance.now();
  await containerizer.launch({
    containerId: { value: containerId },
    frameworkId: { value: 'bench' },
    agentId: { value: 'bench-S0' },
    task: { name: 'bench', taskId: { value: `bench-${containerId}` }, resources, command: { value: COMMAND, uris: [], arguments: [] }, container, limits: {} },
    executor: { executorId: { value: 'bench' }, resources: [], container },
    containerInfo: container,
    sandboxDirectory: sandbox,
    environment: {},
    sendStatus: (s) => {
      if (s.state === TaskState.TASK_RUNNING) runningAt = performance.now();
      else if (s.state !== TaskState.TASK_STARTING) throw new Error(`unexpected ${TaskState[s.state]}: ${s.message}`);
    },
  });
  if (!runningAt) throw new Error('no TASK_RUNNING');
  const ms = runningAt - t0;
  await containerizer.destroy(containerId, { gracePeriodMs: 0 });
  return ms;
}

async function viaApi(net: string): Promise<number> {
  const t0 = performance.now();
  const c = await docker.createContainer({ Image: image, Entrypoint: ['/bin/sh'], Cmd: ['-c', COMMAND], Labels: LABELS, HostConfig: { NetworkMode: net } });
  await c.start();
  const info = await c.inspect();
  const ms = performance.now() - t0;
  if (!info.NetworkSettings.Networks[net]?.IPAddress) throw new Error(`raw API: no address on ${net}`);
  await removeLikeDestroy(c);
  return ms;
}

async function viaCli(net: string): Promise<number> {
  const labels = Object.entries(LABELS).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
  const t0 = performance.now();
  const { stdout: id } = await run('docker', ['run', '-d', ...labels, '--net', net, '--entrypoint', '/bin/sh', image, '-c', COMMAND]);
  const { stdout } = await run('docker', ['inspect', '--type=container', id.trim()]);
  const ms = performance.now() - t0;
  const info = JSON.parse(stdout) as Array<{ NetworkSettings: { Networks: Record<string, { IPAddress: string }> } }>;
  if (!info[0]?.NetworkSettings.Networks[net]?.IPAddress) throw new Error(`docker CLI: no address on ${net}`);
  await removeLikeDestroy(docker.getContainer(id.trim()));
  return ms;
}

/** What destroy(id, {gracePeriodMs: 0}) does, so every variant leaves the daemon in the same state. */
async function removeLikeDestroy(c: Docker.Container): Promise<void> {
  await c.stop({ t: 0 });
  await c.wait();
  await c.remove({ force: true, v: true });
}

function measure(variant: Variant, mode: Network, net: string): Promise<number> {
  return variant === 'containerizer' ? viaContainerizer(mode, net) : variant === 'raw API' ? viaApi(net) : viaCli(net);
}

function percentile(sorted: number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

async function cleanup(): Promise<void> {
  await containerizer.close();
  const left = await docker.listContainers({ all: true, filters: { label: [`org.ippc.test.run=${LABELS['org.ippc.test.run']}`] } });
  await Promise.all(
    left.map((c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true, v: true })
        .catch(() => undefined),
    ),
  );
  await docker
    .getNetwork(USER_NET)
    .remove()
    .catch(() => undefined);
  rmSync(tmp, { recursive: true, force: true });
}

try {
  const stale = await docker.listNetworks({ filters: { name: [USER_NET], label: ['org.ippc.test=docker-containerizer'] } });
  for (const n of stale.filter((s) => s.Name === USER_NET)) await docker.getNetwork(n.Id).remove();
  await docker.createNetwork({
    Name: USER_NET,
    Driver: 'bridge',
    CheckDuplicate: true,
    IPAM: { Driver: 'default', Config: [{ Subnet: '10.230.10.0/24' }] },
    Labels: LABELS,
  });

  const samples = new Map<string, number[]>();
  const key = (mode: string, variant: Variant) => `${mode}/${variant}`;
  const started = Date.now();
  for (let i = 0; i < WARMUP + RUNS; i++) {
    for (const m of MODES) {
      // Rotate which variant goes first so none always pays for the previous one's removal.
      const order = VARIANTS.map((_, j) => VARIANTS[(i + j) % VARIANTS.length]!);
      for (const variant of order) {
        const ms = await measure(variant, m.mode, m.net);
        if (i >= WARMUP) samples.set(key(m.label, variant), [...(samples.get(key(m.label, variant)) ?? []), ms]);
      }
    }
  }

  const { stdout: version } = await run('docker', ['version', '--format', '{{.Server.Version}} (API {{.Server.APIVersion}})']);
  console.log(
    `launch to TASK_RUNNING vs raw docker run + inspect — image ${image}, Docker ${version.trim()}, ${RUNS} runs each after ${WARMUP} warm-up, ${((Date.now() - started) / 1000).toFixed(0)} s`,
  );
  console.log('');
  const header = ['mode', 'variant', 'p50 ms', 'p95 ms', 'mean ms', 'min ms', 'p50 ratio'];
  const rows: string[][] = [];
  const verdicts: string[] = [];
  for (const m of MODES) {
    const stats = Object.fromEntries(
      VARIANTS.map((v) => {
        const s = [...samples.get(key(m.label, v))!].sort((a, b) => a - b);
        return [v, { p50: percentile(s, 50), p95: percentile(s, 95), mean: s.reduce((a, b) => a + b, 0) / s.length, min: s[0]! }];
      }),
    ) as Record<Variant, { p50: number; p95: number; mean: number; min: number }>;
    for (const v of VARIANTS) {
      const s = stats[v];
      const ratio = v === 'containerizer' ? '' : `${(stats.containerizer.p50 / s.p50).toFixed(2)}x`;
      rows.push([m.label, v, s.p50.toFixed(1), s.p95.toFixed(1), s.mean.toFixed(1), s.min.toFixed(1), ratio ? `containerizer/${v} = ${ratio}` : '']);
    }
    const ratio = stats.containerizer.p50 / stats['raw API'].p50;
    verdicts.push(`${m.label}: containerizer p50 ${ratio.toFixed(2)}x raw API p50 (target < ${TARGET}x: ${ratio < TARGET ? 'met' : 'MISSED'})`);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  console.log(line(header));
  for (const r of rows) console.log(line(r));
  console.log('');
  for (const v of verdicts) console.log(v);
} finally {
  await cleanup();
}
