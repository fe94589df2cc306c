import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { hostname as hostHostname } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isIppcError, type ContainerConfig } from '@ippc/core';
import { eventually } from '@ippc/core/testing';
import { ContainerInfo_Type, NetworkInfo_Protocol, type ContainerID, type ExecutorInfo, type NetworkInfo } from '@ippc/proto';
import { createHostOps } from '../host/host-ops.js';
import { createNetworkIsolator, type NetworkIsolator } from './isolator.js';
import { renderNetworkTemplates } from '../templates.js';
import { captureLogger } from '../testing/fakes.js';
import { createScratch, INSPECT_SERVER, probe, sh, type ContainerProcess, type Scratch } from '../testing/scratch.js';

// The network/cni isolator on Debian's real plugins, real namespaces and real container processes
// (created the way the containerizer does: new net/uts/mnt namespaces, held until isolate is done).
// Plugins run in a scratch "agent" namespace, so bridges and iptables never touch the machine's.

let s: Scratch;
let iso: NetworkIsolator;
const log = captureLogger();
const live = new Map<string, ContainerProcess>();
let seq = 0;
const agentHostname = hostHostname();

function net(name: string, extra: Partial<NetworkInfo> = {}): NetworkInfo {
  return { name, ipAddresses: [], groups: [], portMappings: [], ...extra };
}

function config(id: string, networkInfos: NetworkInfo[], hostname?: string): ContainerConfig {
  return {
    containerId: { value: id },
    executor: { resources: [], container: { type: ContainerInfo_Type.MESOS, networkInfos, ...(hostname ? { hostname } : {}) } } as unknown as ExecutorInfo,
    sandboxDirectory: '/tmp',
  };
}

function newIsolator(): NetworkIsolator {
  return createNetworkIsolator({ configDir: s.configDir, rootDir: s.rootDir, pluginDirs: s.pluginDirs, pluginNetns: s.hostNsPath, logger: log.logger });
}

/** A containerizer's launch: prepare, create the held process with what prepare asked for, isolate, release. */
async function launch(
  networks: NetworkInfo[],
  options: { hostname?: string; id?: string; command?: string[] } = {},
): Promise<{ id: ContainerID; proc: ContainerProcess }> {
  const id = { value: options.id ?? `c${++seq}-${s.id}` };
  const launchInfo = await iso.prepare(config(id.value!, networks, options.hostname));
  assert.deepEqual(launchInfo?.namespaces, ['net', 'uts', 'mnt']);
  const proc = await s.spawnContainer({ command: options.command ?? INSPECT_SERVER, env: launchInfo!.environment });
  try {
    await iso.isolate(id, proc.pid);
  } catch (err) {
    await proc.kill();
    throw err;
  }
  live.set(id.value!, proc);
  proc.release();
  if (!options.command) await proc.waitFor(/listening/);
  return { id, proc };
}

async function destroy(id: ContainerID, on: NetworkIsolator = iso): Promise<void> {
  await live.get(id.value!)?.kill();
  live.delete(id.value!);
  await on.cleanup(id);
}

async function ipOf(id: ContainerID, index = 0): Promise<string> {
  return (await iso.status(id)).networkInfos[index]!.ipAddresses[0]!.ipAddress!;
}

/** The spy plugin logs every call, then runs the real bridge. */
async function spyLog(): Promise<string[]> {
  return (await readFile(join(s.dir, 'spy.log'), 'utf8').catch(() => '')).split('\n').filter(Boolean);
}

before(async () => {
  s = await createScratch({ subnet: '10.220.230' });
  const br = (x: string) => `cnibr${s.id.slice(0, 4)}${x}`;
  const hostLocal = (subnet: string, extra: Record<string, unknown> = {}) => ({ type: 'host-local', dataDir: s.dataDir, subnet, ...extra });
  await s.writeConfig('10-blue.conflist', {
    cniVersion: '1.0.0',
    name: 'blue',
    plugins: [{ type: 'bridge', bridge: br('b'), isGateway: true, ipMasq: false, ipam: hostLocal('10.220.231.0/24') }],
  });
  await s.writeConfig('anything.json', { cniVersion: '0.2.0', name: 'green', type: 'ptp', ipMasq: false, ipam: hostLocal('10.220.232.0/24') });
  await s.writeConfig('30-dns.conf', {
    cniVersion: '1.0.0',
    name: 'withdns',
    type: 'bridge',
    bridge: br('d'),
    isGateway: true,
    ipam: hostLocal('10.220.233.0/24'),
    dns: { nameservers: ['10.220.233.53'], domain: 'ippc.test', search: ['ippc.test', 'svc.ippc.test'], options: ['ndots:2'] },
  });
  await s.writePlugin(
    'cni-spy',
    `#!/bin/sh\necho "$CNI_COMMAND $CNI_CONTAINERID $CNI_IFNAME netns=\${CNI_NETNS:-}" >> ${join(s.dir, 'spy.log')}\nexec /usr/lib/cni/bridge\n`,
  );
  await s.writeConfig('40-spied.conf', {
    cniVersion: '1.0.0',
    name: 'spied',
    type: 'cni-spy',
    bridge: br('s'),
    isGateway: true,
    ipam: hostLocal('10.220.234.0/24'),
  });
  await s.writePlugin('cni-fail', '#!/bin/sh\ncat >/dev/null\nif [ "$CNI_COMMAND" = ADD ]; then echo "Plugin failed"; exit 1; fi\nexit 0\n');
  await s.writeConfig('50-fails.conf', { cniVersion: '1.0.0', name: 'fails', type: 'cni-fail' });
  await s.writeConfig('60-chain.conflist', {
    cniVersion: '1.0.0',
    name: 'chain',
    plugins: [
      { type: 'bridge', bridge: br('c'), isGateway: true, ipMasq: false, ipam: hostLocal('10.220.235.0/24', { routes: [{ dst: '0.0.0.0/0' }] }) },
      { type: 'portmap', capabilities: { portMappings: true }, snat: true },
      { type: 'firewall' },
      { type: 'bandwidth', capabilities: { bandwidth: true } },
    ],
  });
  await s.writeConfig('70-dual.conflist', {
    cniVersion: '1.0.0',
    name: 'dual',
    plugins: [
      {
        type: 'bridge',
        bridge: br('6'),
        isGateway: true,
        ipam: { type: 'host-local', dataDir: s.dataDir, ranges: [[{ subnet: '10.220.236.0/24' }], [{ subnet: 'fd10:220:236::/64' }]] },
      },
    ],
  });
  iso = newIsolator();
  await iso.recover([], []);
  // portmap and firewall install top-level chains and jumps on first use and never remove them (by
  // design): create them once so every census below compares per-container state exactly.
  const warm = await launch([net('chain', { portMappings: [{ hostPort: 33029, containerPort: 8080 }] })], { command: ['true'] });
  await destroy(warm.id);
});

after(async () => {
  for (const id of [...live.keys()]) await destroy({ value: id }).catch(() => undefined);
  await s?.dispose();
});

describe('network/cni isolator on real plugins', () => {
  it('one network: an address, its own hostname and /etc files, lo up, LIBPROCESS_IP, reachable from the agent', async () => {
    const { id } = await launch([net('blue', { groups: ['web'] })]);
    const status = await iso.status(id);
    assert.equal(status.networkInfos.length, 1);
    const info = status.networkInfos[0]!;
    assert.equal(info.name, 'blue');
    assert.deepEqual(info.groups, ['web']);
    assert.equal(info.ipAddresses[0]!.protocol, NetworkInfo_Protocol.IPv4);
    const ip = info.ipAddresses[0]!.ipAddress!;
    assert.match(ip, /^10\.220\.231\.\d+$/);

    const inside = await probe(s, s.hostNs, ip, 8080); // the agent reaches the container by its address
    assert.equal(inside.hostname, id.value);
    assert.equal(inside.etcHostname, id.value);
    assert.equal(inside.hosts, `127.0.0.1 localhost\n${ip} ${id.value}\n`);
    assert.equal(inside.libprocessIp, '0.0.0.0');
    const ifs = inside.interfaces as Record<string, string[]>;
    assert.equal(ifs.eth0![0], ip);
    assert.ok(ifs.lo!.includes('127.0.0.1'), 'lo is up');
    assert.equal(inside.remote, '::ffff:10.220.231.1', 'the agent reaches it through the bridge gateway');
    // The container's loopback works from inside.
    const self = JSON.parse(
      await sh('nsenter', [`--target=${live.get(id.value!)!.pid}`, '--net', '--', 'curl', '-sS', '-m', '3', 'http://127.0.0.1:8080/']),
    ) as { hostname: string };
    assert.equal(self.hostname, id.value);
    // The host keeps its own hostname and files.
    assert.equal(hostHostname(), agentHostname);
    assert.doesNotMatch(await readFile('/etc/hosts', 'utf8'), new RegExp(id.value!));

    // Mesos's checkpoint layout.
    const dir = join(s.rootDir, id.value!);
    assert.deepEqual((await readdir(dir)).sort(), ['blue', 'hostname', 'hosts', 'ns']);
    assert.deepEqual((await readdir(join(dir, 'blue'))).sort(), ['eth0', 'network.conf']);
    const conf = JSON.parse(await readFile(join(dir, 'blue', 'network.conf'), 'utf8'));
    assert.deepEqual(conf.plugins[0].args['org.apache.mesos'], { network_info: { groups: ['web'], name: 'blue' } });
    const result = JSON.parse(await readFile(join(dir, 'blue', 'eth0', 'network.info'), 'utf8'));
    assert.equal(result.ips[0].address, `${ip}/24`);
    await destroy(id);
    assert.equal(existsSync(dir), false);
  });

  it('two networks: eth0 and eth1 in request order, both reachable, both in status', async () => {
    const { id } = await launch([net('green'), net('blue')]);
    const status = await iso.status(id);
    assert.deepEqual(
      status.networkInfos.map((n) => n.name),
      ['green', 'blue'],
    );
    const [green, blue] = [await ipOf(id, 0), await ipOf(id, 1)];
    assert.match(green, /^10\.220\.232\./);
    assert.match(blue, /^10\.220\.231\./);
    const inside = await probe(s, s.hostNs, blue, 8080);
    const ifs = inside.interfaces as Record<string, string[]>;
    assert.equal(ifs.eth0![0], green);
    assert.equal(ifs.eth1![0], blue);
    assert.equal(inside.hosts, `127.0.0.1 localhost\n${green} ${id.value}\n`, 'the first network in request order names the host');
    await probe(s, s.hostNs, green, 8080);
    await destroy(id);
  });

  it("CNI 0.2.0 and 1.0.0 results: the ptp network's ip4 and the bridge network's ips both reach status", async () => {
    const { id } = await launch([net('green'), net('blue')]);
    const dir = join(s.rootDir, id.value!);
    const old = JSON.parse(await readFile(join(dir, 'green', 'eth0', 'network.info'), 'utf8'));
    const now = JSON.parse(await readFile(join(dir, 'blue', 'eth1', 'network.info'), 'utf8'));
    assert.equal(old.cniVersion, '0.2.0');
    assert.equal(old.ip4.ip, `${await ipOf(id, 0)}/24`);
    assert.equal(now.cniVersion, '1.0.0');
    assert.equal(now.ips[0].address, `${await ipOf(id, 1)}/24`);
    await destroy(id);
  });

  it('IPv4 and IPv6 from a dual-stack network, in that order', async () => {
    const { id } = await launch([net('dual')]);
    const addrs = (await iso.status(id)).networkInfos[0]!.ipAddresses;
    assert.deepEqual(
      addrs.map((a) => a.protocol),
      [NetworkInfo_Protocol.IPv4, NetworkInfo_Protocol.IPv6],
    );
    assert.match(addrs[1]!.ipAddress!, /^fd10:220:236::[0-9a-f]+\/64$/, 'as Mesos reports ip6: prefix kept');
    await destroy(id);
  });

  it("unknown network and the same network twice fail at prepare with Mesos's messages and create nothing", async () => {
    const before = await s.census();
    await assert.rejects(
      iso.prepare(config('u1', [net('blue'), net('nope')])),
      (err) => isIppcError(err, 'CNI_UNKNOWN_NETWORK') && (err as Error).message === "Unknown CNI network 'nope'",
    );
    await assert.rejects(
      iso.prepare(config('u2', [net('blue'), net('blue')])),
      (err) => (err as Error).message === "Attempted to join CNI network 'blue' multiple times",
    );
    assert.deepEqual(await s.census(), before);
  });

  it("a failing plugin fails isolate with Mesos's message and leaves no namespace, veth, address, rule or checkpoint", async () => {
    const before = await s.census();
    const id = `f1-${s.id}`;
    await assert.rejects(launch([net('blue'), net('chain', { portMappings: [{ hostPort: 33021, containerPort: 8080 }] }), net('fails')], { id }), (err) => {
      assert.equal(
        (err as Error).message,
        `The CNI plugin '${join(s.pluginDir, 'cni-fail')}' failed to attach container ${id} to CNI network 'fails': stdout='Plugin failed\n', stderr=''`,
      );
      return true;
    });
    assert.deepEqual(await s.census(), before);
    assert.equal(existsSync(join(s.rootDir, id)), false);
    await iso.cleanup({ value: id });
  });

  it('refuses a process that still shares the agent network namespace, before any plugin runs', async () => {
    const before = await s.census();
    const id = { value: `shared-${s.id}` };
    await iso.prepare(config(id.value, [net('blue')]));
    const { spawn } = await import('node:child_process');
    const sleeper = spawn('unshare', ['--uts', '--mount', '--propagation=slave', 'sleep', '60'], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 200));
      await assert.rejects(
        iso.isolate(id, sleeper.pid!),
        (err) => isIppcError(err, 'CNI_SETUP_FAILED') && /shares the agent's net namespace/.test((err as Error).message),
      );
    } finally {
      sleeper.kill('SIGKILL');
    }
    assert.deepEqual(await s.census(), before);
  });

  it('networks added and removed at run time: a new config is used at once, a deleted one is gone, running containers keep theirs', async () => {
    await assert.rejects(iso.prepare(config('d0', [net('late')])), /Unknown CNI network 'late'/);
    const path = await s.writeConfig('zz-late.conf', {
      cniVersion: '1.0.0',
      name: 'late',
      type: 'bridge',
      bridge: `cnibr${s.id.slice(0, 4)}l`,
      ipam: { type: 'host-local', dataDir: s.dataDir, subnet: '10.220.237.0/24' },
    });
    const { id } = await launch([net('late')]);
    assert.match(await ipOf(id), /^10\.220\.237\./);
    await rm(path);
    await assert.rejects(iso.prepare(config('d1', [net('late')])), /Unknown CNI network 'late'/);
    const before = (await s.census()).hostLocalAddresses;
    await destroy(id); // DEL from the checkpointed config, though the file is gone
    assert.equal((await s.census()).hostLocalAddresses, before - 1);
  });

  it('hostname override from ContainerInfo.hostname', async () => {
    const { id } = await launch([net('blue')], { hostname: 'web-1' });
    const inside = await probe(s, s.hostNs, await ipOf(id), 8080);
    assert.equal(inside.hostname, 'web-1');
    assert.equal(inside.etcHostname, 'web-1');
    assert.equal(inside.hosts, `127.0.0.1 localhost\n${await ipOf(id)} web-1\n`);
    await destroy(id);
  });

  it("resolver file: the plugin's DNS in Mesos's format, else the host's resolv.conf", async () => {
    const { id } = await launch([net('withdns')]);
    const inside = await probe(s, s.hostNs, await ipOf(id), 8080);
    assert.equal(inside.resolv, 'domain ippc.test\nsearch ippc.test svc.ippc.test\noptions ndots:2\nnameserver 10.220.233.53\n');
    assert.equal(await readFile(join(s.rootDir, id.value!, 'resolv.conf'), 'utf8'), inside.resolv);
    await destroy(id);
    const plain = await launch([net('blue')]);
    assert.equal((await probe(s, s.hostNs, await ipOf(plain.id), 8080)).resolv, await readFile('/etc/resolv.conf', 'utf8'));
    assert.equal(existsSync(join(s.rootDir, plain.id.value!, 'resolv.conf')), false);
    await destroy(plain.id);
  });

  it("conflist chaining with port mapping: reachable on the agent's address, shaped, opened in FORWARD, all undone", async () => {
    const before = await s.census();
    const chain = net('chain', {
      portMappings: [{ hostPort: 33020, containerPort: 8080, protocol: 'tcp' }],
      labels: {
        labels: [
          { key: 'org.ippc.bandwidth.ingressRate', value: '80000000' },
          { key: 'org.ippc.bandwidth.ingressBurst', value: '800000' },
          { key: 'org.ippc.bandwidth.egressRate', value: '80000000' },
          { key: 'org.ippc.bandwidth.egressBurst', value: '800000' },
        ],
      },
    });
    const { id } = await launch([chain]);
    const ip = await ipOf(id);
    const fromClient = await probe(s, s.clientNs, s.agentIp, 33020); // another host → agent:33020 → container:8080
    assert.equal(fromClient.hostname, id.value);
    assert.equal((await probe(s, s.hostNs, s.agentIp, 33020)).hostname, id.value, 'also from the agent itself');
    const status = (await iso.status(id)).networkInfos[0]!;
    assert.deepEqual(status.portMappings, chain.portMappings);
    assert.match(await s.inNetns(s.hostNs, 'iptables', ['-S', 'CNI-FORWARD']), new RegExp(ip.replace(/\./g, '\\.')));
    assert.match(await s.inNetns(s.hostNs, 'tc', ['qdisc', 'show']), /tbf/);
    const usage = await iso.usage(id);
    assert.ok(usage && usage.rxBytes > 0 && usage.txBytes > 0 && usage.rxPackets > 0 && usage.txPackets > 0, JSON.stringify(usage));
    await destroy(id);
    await assert.rejects(probe(s, s.clientNs, s.agentIp, 33020));
    assert.deepEqual(await s.census(), before);
    assert.doesNotMatch(await s.inNetns(s.hostNs, 'iptables-save', []), new RegExp(`${ip.replace(/\./g, '\\.')}|33020`));
  });

  it('the same container set-up through the util-linux path (nsenter, mount, ip) as through the perl helper', async () => {
    const before = await s.census();
    const viaUtilLinux = createNetworkIsolator({
      configDir: s.configDir,
      rootDir: s.rootDir,
      pluginDirs: s.pluginDirs,
      pluginNetns: s.hostNsPath,
      logger: log.logger,
      host: createHostOps({ helper: 'util-linux' }),
    });
    const main = iso;
    iso = viaUtilLinux;
    try {
      const { id } = await launch([net('withdns')], { hostname: 'util-1' });
      const ip = await ipOf(id);
      const inside = await probe(s, s.hostNs, ip, 8080);
      assert.equal(inside.hostname, 'util-1');
      assert.equal(inside.etcHostname, 'util-1');
      assert.equal(inside.hosts, `127.0.0.1 localhost\n${ip} util-1\n`);
      assert.match(inside.resolv as string, /^domain ippc\.test\n/);
      assert.ok((inside.interfaces as Record<string, string[]>).lo!.includes('127.0.0.1'));
      await destroy(id);
    } finally {
      iso = main;
    }
    assert.deepEqual(await s.census(), before);
  });

  it('the default networks render per agent: the host-local one attaches, the ippc-ipam ones wait for their plugin', async () => {
    await renderNetworkTemplates({
      outDir: s.configDir,
      variables: {
        BRIDGE_SUBNET: '10.220.238.0/24',
        PTP_SUBNET: '10.220.239.0/24',
        LOCAL_SUBNET: '10.220.228.0/24',
        BRIDGE_NAME: `cnibr${s.id.slice(0, 4)}i`,
        LOCAL_BRIDGE_NAME: `cnibr${s.id.slice(0, 4)}h`,
        LOCAL_DATA_DIR: s.dataDir,
      },
    });
    const found = await iso.networks();
    assert.ok(found.has('ippc-local'));
    assert.equal(found.has('ippc-bridge') || found.has('ippc-ptp'), false);
    for (const name of ['ippc-bridge', 'ippc-ptp']) {
      assert.ok(
        log.lines.some(
          (l) =>
            l.msg ===
            `Skipping network '${name}' , from configuration file '${join(s.configDir, `${name}.conflist`)}', since we failed to find IPAM plugin 'ippc-ipam' used by this network.`,
        ),
        `${name} skipped with Mesos's log line`,
      );
    }
    const { id } = await launch([net('ippc-local', { portMappings: [{ hostPort: 33022, containerPort: 8080 }] })]);
    const ip = await ipOf(id);
    assert.match(ip, /^10\.220\.228\./);
    assert.equal((await probe(s, s.clientNs, s.agentIp, 33022)).hostname, id.value, 'port mapping through the shipped portmap');
    await destroy(id);
    for (const f of ['ippc-bridge.conflist', 'ippc-local.conflist', 'ippc-ptp.conflist']) await rm(join(s.configDir, f));
  });

  it('survives the resident namespace helper being killed: the next launch starts a new one', async () => {
    await destroy((await launch([net('blue')])).id); // make sure the helper runs
    const { readdir: ls, readFile: read } = await import('node:fs/promises');
    let killed = 0;
    for (const p of await ls('/proc')) {
      if (!/^\d+$/.test(p)) continue;
      const stat = await read(`/proc/${p}/stat`, 'utf8').catch(() => '');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && stat.includes('(perl)')) {
        process.kill(Number(p), 'SIGKILL');
        killed++;
      }
    }
    assert.equal(killed, 1, 'one resident helper, a child of this process');
    await new Promise((r) => setTimeout(r, 100));
    const { id } = await launch([net('blue')], { hostname: 'after-kill' });
    assert.equal((await probe(s, s.hostNs, await ipOf(id), 8080)).hostname, 'after-kill');
    await destroy(id);
  });

  it('CHECK on a live container', async () => {
    const { id } = await launch([net('blue')]);
    await iso.check(id);
    await destroy(id);
  });

  it('agent restart with a live container: same addresses and status, no DEL, still reachable', async () => {
    const { id, proc } = await launch([net('spied', { labels: { labels: [{ key: 'k', value: 'v' }] } })]);
    const before = await iso.status(id);
    const files = await readFile(join(s.rootDir, id.value!, 'spied', 'eth0', 'network.info'), 'utf8');
    const calls = (await spyLog()).length;
    const agent2 = newIsolator(); // the agent restarted: a new isolator over the same checkpoints
    await agent2.recover(
      [{ containerId: id, config: config(id.value!, [net('spied', { labels: { labels: [{ key: 'k', value: 'v' }] } })]), pid: proc.pid }],
      [],
    );
    assert.deepEqual(await agent2.status(id), before);
    assert.equal((await spyLog()).length, calls, 'no plugin call at all');
    assert.equal(await readFile(join(s.rootDir, id.value!, 'spied', 'eth0', 'network.info'), 'utf8'), files);
    assert.equal((await probe(s, s.hostNs, await ipOf(id), 8080)).hostname, id.value);
    assert.ok((await agent2.usage(id))!.rxPackets > 0);
    await destroy(id, agent2);
    assert.match((await spyLog()).at(-1)!, new RegExp(`^DEL ${id.value} eth0 netns=${join(s.rootDir, id.value!, 'ns')}$`));
    iso = agent2;
  });

  it('container killed while the agent was down, and an unknown container: recover runs DEL for both', async () => {
    const before = await s.census();
    const dead = await launch([net('spied')]);
    const stray = await launch([net('spied')]);
    await live.get(dead.id.value!)!.kill();
    await live.get(stray.id.value!)!.kill();
    live.delete(dead.id.value!);
    live.delete(stray.id.value!);
    const agent2 = newIsolator();
    await agent2.recover([{ containerId: dead.id, config: config(dead.id.value!, [net('spied')]), pid: dead.proc.pid }], []);
    const dels = (await spyLog()).filter((l) => l.startsWith('DEL '));
    assert.ok(dels.some((l) => l.startsWith(`DEL ${dead.id.value} eth0 netns=/`)));
    assert.ok(dels.some((l) => l.startsWith(`DEL ${stray.id.value} eth0 netns=/`)));
    assert.deepEqual(agent2.containers(), []);
    assert.deepEqual(await s.census(), before);
    iso = agent2;
  });

  it('after a reboot (namespace handle gone) DEL runs without CNI_NETNS and the address is released', async () => {
    const before = await s.census();
    const { id } = await launch([net('spied')]);
    await live.get(id.value!)!.kill();
    live.delete(id.value!);
    await sh('umount', [join(s.rootDir, id.value!, 'ns')]); // what a reboot does to the handle
    const agent2 = newIsolator();
    await agent2.recover([], [id]); // a known orphan: the containerizer cleans it up
    assert.deepEqual(agent2.containers(), [id.value]);
    await agent2.cleanup(id);
    assert.equal((await spyLog()).at(-1), `DEL ${id.value} eth0 netns=`);
    // What the isolator owns (address, checkpoint, rules, mounts) is gone at once. The host end of
    // the veth goes when the kernel has torn the dead namespace down, asynchronously after its last
    // process and mount went; a DEL without a namespace cannot remove it earlier.
    assert.deepEqual({ ...(await s.census()), veths: before.veths }, before);
    await eventually(async () => ((await s.census()).veths === before.veths ? true : undefined), "the dead namespace's veth to go with it", 10_000);
    iso = agent2;
  });
});
