import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isIppcError, type LaunchSpec, type Termination } from '@ippc/core';
import { createNetworkIsolator, type NetworkIsolator } from '@ippc/network-isolator';
import { ContainerInfo_Type, TaskState, type ContainerID, type ContainerInfo, type ExecutorInfo } from '@ippc/proto';
import { createMesosContainerizer, type MesosContainerizer } from './mesos-containerizer.js';

// A pod against the real kernel and Debian's CNI plugins: the executor's container on a bridge
// network with its own address (the network/cni isolator), two nested containers in it that talk
// over 127.0.0.1 and serve on the pod's address. Plugins run in a scratch "agent" namespace
// (nst-agent-*), where the bridge (nst-br*) lives and from where the pod is reached. Needs root.

const tag = randomBytes(3).toString('hex');
const agentNs = `nst-agent-${tag}`;
const bridge = `nst-br${tag}`;
const subnet = `10.213.${(parseInt(tag, 16) % 250) + 1}`;
const ip = (...args: string[]) => execFileSync('ip', args, { encoding: 'utf8' });
const inAgent = (file: string, args: string[]) => execFileSync('ip', ['netns', 'exec', agentNs, file, ...args], { encoding: 'utf8', timeout: 5000 });
const node = process.execPath;

/** A task that serves HTTP with node: `a` on 127.0.0.1:8080; `b` on :80, asking `a` over localhost for `/a`. */
const SERVE_A = `exec ${node} -e "require('http').createServer((q,r)=>r.end('from a')).listen(8080,'127.0.0.1')"`;
const SERVE_B = `exec ${node} -e "
const http = require('http'), fs = require('fs'), os = require('os');
http.createServer(async (q, r) => {
  if (q.url === '/a') return fetch('http://127.0.0.1:8080/').then(x => x.text()).then(t => r.end(t), e => { r.statusCode = 502; r.end(String(e)); });
  r.end(JSON.stringify({ hostname: os.hostname(), hosts: fs.readFileSync('/etc/hosts', 'utf8') }));
}).listen(80);"`;

let dir: string;
let seq = 0;
const pod: ContainerInfo = { type: ContainerInfo_Type.MESOS, networkInfos: [{ name: 'nst-pod', groups: [], ipAddresses: [], portMappings: [] }] };
const podExecutor: ExecutorInfo = { executorId: { value: 'nst-pod-executor' }, resources: [], container: pod };

/** A launch as the agent makes it: the executor's container names the network; a nested container has only the task's ContainerInfo. */
function spec(command: string, parent?: ContainerID, containerInfo?: ContainerInfo): LaunchSpec & { ends: Promise<Termination> | undefined } {
  const value = `nst${seq++}-${tag}`;
  const sandbox = join(dir, 'sandboxes', value);
  mkdirSync(sandbox, { recursive: true });
  return {
    containerId: parent ? { value, parent } : { value },
    frameworkId: { value: 'F' },
    agentId: { value: 'A' },
    task: { name: value, taskId: { value }, agentId: { value: 'A' }, resources: [], command: { value: command, uris: [], arguments: [] }, limits: {} },
    executor: podExecutor,
    ...(parent ? (containerInfo ? { containerInfo } : {}) : { containerInfo: pod }),
    sandboxDirectory: sandbox,
    environment: {},
    sendStatus: () => undefined,
    ends: undefined,
  };
}
const idOf = (id: ContainerID): string => (id.parent ? `${idOf(id.parent)}.${id.value}` : id.value!);

async function until<T>(probe: () => T | undefined, what: string, ms = 8000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      const v = probe();
      if (v !== undefined) return v;
    } catch {
      // not yet
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const veths = (): number => ip('-n', agentNs, '-o', 'link', 'show', 'type', 'veth').split('\n').filter(Boolean).length;
const leases = (): string[] => readdirSync(join(dir, 'ipam', 'nst-pod')).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f));
const processesIn = (netns: string): number[] =>
  readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readlinkSync(`/proc/${p}/ns/net`) === netns;
      } catch {
        return false;
      }
    })
    .map(Number);

describe('Mesos containerizer: nested containers on a real CNI network (root)', () => {
  let isolator: NetworkIsolator;
  let mc: MesosContainerizer;
  before(async () => {
    dir = mkdtempSync('/tmp/nst-int-');
    ip('netns', 'add', agentNs);
    ip('-n', agentNs, 'link', 'set', 'lo', 'up');
    mkdirSync(join(dir, 'net.d'));
    const config = {
      cniVersion: '1.0.0',
      name: 'nst-pod',
      plugins: [
        {
          type: 'bridge',
          bridge,
          isGateway: true,
          ipMasq: false,
          ipam: { type: 'host-local', ranges: [[{ subnet: `${subnet}.0/24` }]], dataDir: join(dir, 'ipam') },
        },
      ],
    };
    writeFileSync(join(dir, 'net.d', 'nst-pod.conflist'), JSON.stringify(config));
    isolator = createNetworkIsolator({
      configDir: join(dir, 'net.d'),
      rootDir: join(dir, 'cni'),
      pluginDirs: ['/usr/lib/cni'],
      pluginNetns: `/run/netns/${agentNs}`,
    });
    await isolator.recover([], []);
    mc = createMesosContainerizer({ runtimeDir: join(dir, 'run'), isolators: [isolator], defaultGracePeriodMs: 1000 });
    await mc.recover([]);
  });
  after(async () => {
    for (const id of mc.containers().sort((a, b) => b.length - a.length)) await mc.destroy(id, { gracePeriodMs: 0 }).catch(() => undefined);
    await isolator.dispose().catch(() => undefined);
    ip('netns', 'delete', agentNs);
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs a pod: one address and netns for the executor and its tasks, 127.0.0.1 between tasks, the address reached from the host', async () => {
    const parent = spec('exec sleep 600');
    await mc.launch(parent);
    const pst = await mc.status(idOf(parent.containerId));
    const address = pst.networkInfos[0]?.ipAddresses[0]?.ipAddress;
    assert.match(address ?? '', new RegExp(`^${subnet.replace(/\./g, '\\.')}\\.\\d+$`), 'the pod has an address on the bridge network');
    const vethsWithPod = veths();
    const leasesWithPod = leases();

    const a = spec(SERVE_A, parent.containerId);
    const b = spec(SERVE_B, parent.containerId, { type: ContainerInfo_Type.MESOS, networkInfos: [] });
    await mc.launch(a);
    await mc.launch(b);
    a.ends = mc.wait(idOf(a.containerId));
    b.ends = mc.wait(idOf(b.containerId));
    assert.equal(veths(), vethsWithPod, 'nested containers get no interface of their own');
    assert.deepEqual(leases(), leasesWithPod, 'nor an address');

    const [sa, sb] = [await mc.status(idOf(a.containerId)), await mc.status(idOf(b.containerId))];
    assert.deepEqual(sa.networkInfos, pst.networkInfos, "a nested container reports its parent's network");
    assert.deepEqual(sb.networkInfos, pst.networkInfos);
    assert.deepEqual(sa.containerId, a.containerId);
    const pids = [pst.executorPid!, sa.executorPid!, sb.executorPid!];
    assert.equal(new Set(pids).size, 3, 'each has its own process');
    const netns = pids.map((p) => readlinkSync(`/proc/${p}/ns/net`));
    assert.equal(new Set(netns).size, 1, `one network namespace: ${netns.join(' ')}`);
    assert.notEqual(netns[0], readlinkSync('/proc/self/ns/net'));
    assert.equal(new Set(pids.map((p) => readlinkSync(`/proc/${p}/ns/uts`))).size, 1, 'one UTS namespace');

    const fromHost = await until(() => inAgent('curl', ['-sf', '--max-time', '2', `http://${address}:80/`]) || undefined, 'task b on the pod address');
    const seen = JSON.parse(fromHost) as { hostname: string; hosts: string };
    assert.equal(seen.hostname, parent.containerId.value, "the pod's hostname");
    assert.match(seen.hosts, new RegExp(`^${address!.replace(/\./g, '\\.')}\\s+${parent.containerId.value}`, 'm'), "the pod's /etc/hosts");
    assert.equal(
      await until(() => inAgent('curl', ['-sf', '--max-time', '2', `http://${address}:80/a`]) || undefined, 'task b to reach task a over 127.0.0.1'),
      'from a',
    );
    assert.throws(() => inAgent('curl', ['-sf', '--max-time', '2', `http://${address}:8080/`]), 'task a listens on 127.0.0.1 only');

    // One task goes: the others and the address stay.
    await mc.destroy(idOf(a.containerId), { gracePeriodMs: 1000 });
    assert.equal((await a.ends).state, TaskState.TASK_KILLED);
    assert.deepEqual((await mc.status(idOf(parent.containerId))).networkInfos, pst.networkInfos);
    assert.equal(JSON.parse(inAgent('curl', ['-sf', '--max-time', '2', `http://${address}:80/`])).hostname, parent.containerId.value, 'task b still answers');
    assert.equal(veths(), vethsWithPod);
    assert.deepEqual(leases(), leasesWithPod);

    // The executor's container goes: its task first, then the network, once.
    const parentEnds = mc.wait(idOf(parent.containerId));
    await mc.destroy(idOf(parent.containerId), { gracePeriodMs: 1000 });
    assert.equal((await b.ends).state, TaskState.TASK_KILLED);
    assert.equal((await parentEnds).state, TaskState.TASK_KILLED);
    assert.deepEqual(mc.containers(), []);
    assert.equal(veths(), 0, 'no veth left');
    assert.deepEqual(leases(), [], 'no lease left');
    await until(() => (processesIn(netns[0]!).length === 0 ? true : undefined), 'the pod network namespace to lose its last process');
    assert.equal(readFileSync('/proc/self/mountinfo', 'utf8').includes(join(dir, 'cni') + '/'), false, 'no namespace handle left mounted');
    assert.deepEqual(readdirSync(join(dir, 'cni')), [], 'no isolator checkpoint left');
    assert.deepEqual(readdirSync(join(dir, 'run', 'containers')), [], 'no containerizer checkpoint left');
    assert.deepEqual(isolator.containers(), []);
  });

  it('fails a nested launch cleanly: a parent that does not exist, networks of its own', async () => {
    const before = veths();
    await assert.rejects(
      mc.launch(spec(SERVE_A, { value: 'nst-missing' })),
      (err) => isIppcError(err, 'CONTAINER_LAUNCH_FAILED') && (err as Error).message === 'Parent container nst-missing does not exist',
    );
    assert.equal(existsSync(join(dir, 'run', 'containers', 'nst-missing')), false);

    const parent = spec('exec sleep 600');
    await mc.launch(parent);
    const own = spec(SERVE_A, parent.containerId, pod);
    await assert.rejects(
      mc.launch(own),
      (err) =>
        isIppcError(err, 'CONTAINER_LAUNCH_FAILED') &&
        (err as Error).message === "Currently, we don't support different network namespaces for parent and nested containers.",
    );
    assert.deepEqual(mc.containers(), [idOf(parent.containerId)]);
    assert.deepEqual(readdirSync(join(dir, 'run', 'containers', parent.containerId.value!, 'containers')), [], 'no run directory left for it');
    assert.equal(veths(), before + 1, "only the parent's veth");
    await mc.destroy(idOf(parent.containerId), { gracePeriodMs: 0 });
    assert.equal(veths(), before);
    assert.deepEqual(leases(), []);
  });
});
