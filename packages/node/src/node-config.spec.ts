import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isIppcError, silentLogger, type ContainerConfig, type Isolator } from '@ippc/core';
import { ContainerInfo_Type } from '@ippc/proto';
import { Registry } from 'prom-client';
import { installDefaultNetworks, parseNetworkSubnets } from './cni-networks.js';
import { cniRootDir, createCniIsolatorFromFlags, flagBool, networkIsolatorOptions, parseDefaultContainerDns } from './cni-options.js';
import { dockerContainerizerOptions, parseDockerLabels, parseHostNetwork, parseHostPortsVia, sandboxHostPath } from './docker-options.js';
import { BUILTIN_MODULES, buildContainerizers, resolveIsolation, timedIsolator } from './modules.js';

const invalid = (re: RegExp) => (err: unknown) => isIppcError(err, 'AGENT_CONFIG_INVALID') && re.test((err as Error).message);
const dirs = { workDir: '/var/lib/ippc', runtimeDir: '/var/run/ippc' };
const log = silentLogger();

describe('--default_container_dns', () => {
  it('splits CNI entries into per-network and default DNS', () => {
    const parsed = parseDefaultContainerDns(
      JSON.stringify({
        mesos: [
          { network_mode: 'CNI', network_name: 'blue', dns: { nameservers: ['10.0.0.53'], search: ['blue.test'], options: ['ndots:2'] } },
          { network_mode: 'CNI', dns: { nameservers: ['10.0.0.1'] } },
        ],
        docker: [{ network_mode: 'BRIDGE', dns: { nameservers: ['8.8.8.8'] } }],
      }),
    );
    assert.deepEqual(parsed.cni, {
      networks: { blue: { nameservers: ['10.0.0.53'], search: ['blue.test'], options: ['ndots:2'] } },
      default: { nameservers: ['10.0.0.1'] },
    });
    assert.equal(parsed.docker.length, 1);
    assert.deepEqual(parseDefaultContainerDns(undefined), { cni: {}, docker: [] });
  });

  it("refuses what Mesos refuses, with Mesos's messages", () => {
    const dns = { nameservers: ['10.0.0.1'] };
    const cases: Array<[unknown, RegExp]> = [
      [{ mesos: [{ dns }] }, /^UNKNOWN network mode configured in `--default_container_dns`$/],
      [{ mesos: [{ network_mode: 'HOST', dns }] }, /^Configuring DNS for HOST network with `--default_container_dns` is not yet supported$/],
      [
        {
          mesos: [
            { network_mode: 'CNI', dns },
            { network_mode: 'CNI', dns },
          ],
        },
        /^Multiple DNS configuration without network name for CNI network in `--default_container_dns` is not allowed$/,
      ],
      [
        {
          mesos: [
            { network_mode: 'CNI', network_name: 'a', dns },
            { network_mode: 'CNI', network_name: 'a', dns },
          ],
        },
        /^Multiple DNS configuration with the same network name 'a' for CNI network in `--default_container_dns` is not allowed$/,
      ],
      [
        {
          docker: [
            { network_mode: 'BRIDGE', dns },
            { network_mode: 'BRIDGE', dns },
          ],
        },
        /^Multiple DNS configuration for Docker default bridge network in `--default_container_dns` is not allowed$/,
      ],
      [
        {
          docker: [
            { network_mode: 'USER', dns },
            { network_mode: 'USER', dns },
          ],
        },
        /^Multiple DNS configuration without network name for user-defined CNM network/,
      ],
      [
        {
          docker: [
            { network_mode: 'USER', network_name: 'n', dns },
            { network_mode: 'USER', network_name: 'n', dns },
          ],
        },
        /same network name 'n' for user-defined CNM network/,
      ],
      [{ mesos: [{ network_mode: 'CNI', dns: { nameservers: '10.0.0.1' } }] }, /'mesos\[0\]\.dns\.nameservers' must be a list of strings/],
      [{ other: [] }, /unknown key 'other'/],
    ];
    for (const [value, re] of cases) assert.throws(() => parseDefaultContainerDns(JSON.stringify(value)), invalid(re), re.source);
    assert.throws(() => parseDefaultContainerDns('{nope'), invalid(/not JSON/));
  });

  it('reads file:// values', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'an-dns-'));
    try {
      await writeFile(join(dir, 'dns.json'), JSON.stringify({ mesos: [{ network_mode: 'CNI', dns: { nameservers: ['10.0.0.9'] } }] }));
      assert.deepEqual(parseDefaultContainerDns(`file://${join(dir, 'dns.json')}`).cni.default, { nameservers: ['10.0.0.9'] });
      assert.throws(() => parseDefaultContainerDns(`file://${join(dir, 'none.json')}`), invalid(/Cannot read/));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('network/cni from flags', () => {
  it("reads Mesos's flags: folders, search path, root dir (persist or not), DNS", () => {
    const o = networkIsolatorOptions(
      {
        network_cni_config_dir: '/etc/cni',
        network_cni_plugins_dir: '/opt/a:/usr/lib/cni',
        default_container_dns: JSON.stringify({ mesos: [{ network_mode: 'CNI', dns: { nameservers: ['1.2.3.4'] } }] }),
      },
      dirs,
      log,
    )!;
    assert.equal(o.configDir, '/etc/cni');
    assert.deepEqual(o.pluginDirs, ['/opt/a', '/usr/lib/cni']);
    assert.equal(o.rootDir, '/var/run/ippc/isolators/network/cni');
    assert.deepEqual(o.defaultDns, { default: { nameservers: ['1.2.3.4'] } });
    assert.equal(cniRootDir({ network_cni_root_dir_persist: 'true' }, dirs), '/var/lib/ippc/isolators/network/cni');
  });

  it("needs both folders, or neither (Mesos's messages)", () => {
    assert.equal(networkIsolatorOptions({}, dirs, log), undefined);
    assert.throws(
      () => networkIsolatorOptions({ network_cni_config_dir: '/etc/cni' }, dirs, log),
      invalid(/^Missing required '--network_cni_plugins_dir' flag$/),
    );
    assert.throws(
      () => networkIsolatorOptions({ network_cni_plugins_dir: '/usr/lib/cni' }, dirs, log),
      invalid(/^Missing required '--network_cni_config_dir' flag$/),
    );
  });

  it('without folders: containers on the host network pass, a named network is unknown', async () => {
    const iso = createCniIsolatorFromFlags({}, dirs, log);
    const config = (names: string[]): ContainerConfig => ({
      containerId: { value: 'c1' },
      executor: { executorId: { value: 'e' }, resources: [] },
      containerInfo: {
        type: ContainerInfo_Type.MESOS,
        networkInfos: names.map((name) => ({ name, groups: [], ipAddresses: [], portMappings: [] })),
        volumes: [],
      } as never,
      sandboxDirectory: '/tmp',
    });
    assert.equal(await iso.prepare(config([])), undefined);
    await assert.rejects(iso.prepare(config(['blue'])), (err) => (err as Error).message === "Unknown CNI network 'blue'");
  });

  it('--network_cni_metrics=false hides usage', () => {
    const on = createCniIsolatorFromFlags({ network_cni_config_dir: '/etc/cni', network_cni_plugins_dir: '/usr/lib/cni' }, dirs, log);
    const off = createCniIsolatorFromFlags(
      { network_cni_config_dir: '/etc/cni', network_cni_plugins_dir: '/usr/lib/cni', network_cni_metrics: 'false' },
      dirs,
      log,
    );
    assert.equal(typeof on.usage, 'function');
    assert.equal(off.usage, undefined);
    assert.equal(off.name, 'network/cni');
  });

  it('--network_cni_plugin_timeout: a positive duration, refused otherwise', () => {
    assert.equal(
      networkIsolatorOptions({ network_cni_config_dir: '/etc/cni', network_cni_plugins_dir: '/usr/lib/cni' }, dirs, log)?.invoker,
      undefined,
      'the invoker default (120 s)',
    );
    assert.equal(
      typeof networkIsolatorOptions(
        { network_cni_config_dir: '/etc/cni', network_cni_plugins_dir: '/usr/lib/cni', network_cni_plugin_timeout: '2secs' },
        dirs,
        log,
      )?.invoker?.exec,
      'function',
    );
    for (const bad of ['soon', '0secs', '-1secs']) {
      assert.throws(
        () =>
          networkIsolatorOptions({ network_cni_config_dir: '/etc/cni', network_cni_plugins_dir: '/usr/lib/cni', network_cni_plugin_timeout: bad }, dirs, log),
        (err: Error) => err.message === `--network_cni_plugin_timeout: '${bad}' is not a positive duration, e.g. 30secs`,
      );
    }
  });

  it('booleans', () => {
    assert.equal(flagBool(undefined, true), true);
    assert.equal(flagBool('false', true), false);
    assert.equal(flagBool('1', false), true);
    assert.throws(() => flagBool('maybe', true), invalid(/not a boolean/));
  });
});

describe('isolation and modules', () => {
  it("adds network/cni unless a network isolator is named, and refuses two (Mesos's rule)", () => {
    assert.deepEqual(resolveIsolation([], ['mesos']), ['network/cni']);
    assert.deepEqual(resolveIsolation(['network/cni'], ['docker', 'mesos']), ['network/cni']);
    assert.deepEqual(resolveIsolation(['network/ports'], ['mesos']), ['network/ports', 'network/cni']);
    assert.deepEqual(resolveIsolation([], ['docker']), [], 'isolators belong to the Mesos containerizer');
    assert.throws(
      () => resolveIsolation(['network/cni', 'network/port_mapping'], ['mesos']),
      invalid(/^Using multiple network isolators simultaneously is disallowed/),
    );
  });

  it('builds mesos and docker, and network/cni, from flags', async () => {
    const containerizers = await buildContainerizers(['docker', 'mesos'], ['network/cni'], BUILTIN_MODULES, {
      flags: { docker_socket: '/nonexistent/docker.sock', docker_scope: 'unit' },
      workDir: '/tmp/an-unit',
      runtimeDir: '/tmp/an-unit/run',
      agentIp: '127.0.0.1',
      hostname: 'h',
      log,
    });
    assert.deepEqual(
      containerizers.map((c) => c.name),
      ['docker', 'mesos'],
    );
    await assert.rejects(
      buildContainerizers(['lxc'], [], BUILTIN_MODULES, { flags: {}, workDir: '/tmp', runtimeDir: '/tmp', agentIp: '127.0.0.1', hostname: 'h', log }),
      invalid(/built in are mesos and docker/),
    );
  });

  it('times isolator calls into a histogram and passes everything else through', async () => {
    const registry = new Registry();
    const { Histogram } = await import('prom-client');
    const h = new Histogram({ name: 'h_seconds', help: 'h', labelNames: ['isolator', 'operation'], registers: [registry] });
    let isolated = 0;
    const iso: Isolator & { extra: () => string } = {
      name: 'test/x',
      extra: () => 'kept',
      recover: async () => {},
      prepare: async () => undefined,
      isolate: async () => {
        isolated++;
      },
      status: async () => ({ networkInfos: [] }),
      cleanup: async () => {
        throw new Error('cleanup failed');
      },
    };
    const timed = timedIsolator(iso, h, log) as typeof iso;
    await timed.isolate({ value: 'c' }, 1);
    await assert.rejects(timed.cleanup({ value: 'c' }), /cleanup failed/);
    assert.equal(isolated, 1);
    assert.equal(timed.extra(), 'kept');
    assert.equal(timed.name, 'test/x');
    const text = await registry.metrics();
    assert.match(text, /h_seconds_count\{isolator="test\/x",operation="isolate"\} 1/);
    assert.match(text, /h_seconds_count\{isolator="test\/x",operation="cleanup"\} 1/, 'failures are timed too');
  });
});

describe('docker from flags', () => {
  it('HOST network, labels, sandbox mapping', () => {
    assert.equal(parseHostNetwork(undefined), 'host');
    assert.deepEqual(parseHostNetwork('container:agent-1'), { container: 'agent-1' });
    assert.throws(() => parseHostNetwork('bridge'), invalid(/use 'host' or 'container:/));
    assert.deepEqual(parseDockerLabels('a=1;b=x=y'), { a: '1', b: 'x=y' });
    assert.throws(() => parseDockerLabels('nokey'), invalid(/not key=value/));
    const map = sandboxHostPath('/srv/agent1', '/var/lib/ippc')!;
    assert.equal(map('/var/lib/ippc/slaves/S0/frameworks/f/executors/e/runs/c'), '/srv/agent1/slaves/S0/frameworks/f/executors/e/runs/c');
    assert.equal(map('/elsewhere/x'), undefined, 'not under the work dir: not mounted');
    assert.equal(sandboxHostPath('none', '/var/lib/ippc')!('/var/lib/ippc/x'), undefined);
    assert.equal(sandboxHostPath(undefined, '/w'), undefined);
    assert.throws(() => sandboxHostPath('relative', '/w'), invalid(/absolute path/));
  });

  it("--docker_host_ports_via: the IPv4 address of the daemon's host, or nothing", () => {
    assert.equal(parseHostPortsVia(undefined), undefined);
    assert.equal(parseHostPortsVia(''), undefined);
    assert.equal(parseHostPortsVia('10.99.0.1'), '10.99.0.1');
    for (const bad of ['gateway', '10.99.0.1/24', 'fd99::1', '10.99.0', '10.99.0.256']) {
      const message = `--docker_host_ports_via=${bad}: give the IPv4 address at which this agent reaches the Docker daemon's host`;
      assert.throws(
        () => parseHostPortsVia(bad),
        (e: unknown) => isIppcError(e, 'AGENT_CONFIG_INVALID') && e.message.startsWith(message),
      );
    }
  });

  it('builds the docker containerizer with --docker_host_ports_via, and refuses a bad one', async () => {
    const ctx = { workDir: '/tmp/an-unit', runtimeDir: '/tmp/an-unit/run', agentIp: '127.0.0.1', hostname: 'h', log };
    const flags = { docker_socket: '/nonexistent/docker.sock', docker_scope: 'unit' };
    const [docker] = await buildContainerizers(['docker'], [], BUILTIN_MODULES, { ...ctx, flags: { ...flags, docker_host_ports_via: '10.99.0.1' } });
    assert.equal(docker?.name, 'docker');
    await assert.rejects(
      buildContainerizers(['docker'], [], BUILTIN_MODULES, { ...ctx, flags: { ...flags, docker_host_ports_via: 'gateway' } }),
      invalid(/^--docker_host_ports_via=gateway: /),
    );
  });

  it("maps Mesos's flags to the containerizer's options", () => {
    const o = dockerContainerizerOptions(
      { docker_kill_orphans: 'false', cgroups_enable_cfs: 'true', sandbox_directory: '/mnt/sb', docker_scope: 's' },
      { workDir: '/w', defaultGracePeriodMs: 2000, log },
    );
    assert.equal(o.killOrphans, false);
    assert.equal(o.cgroupsEnableCfs, true);
    assert.equal(o.pullImages, false);
    assert.equal(o.mappedDirectory, '/mnt/sb');
    assert.equal(o.scope, 's');
    assert.equal(o.defaultGracePeriodMs, 2000);
    assert.equal(o.hostNetwork, 'host');
  });
});

describe('default networks', () => {
  const made: string[] = [];
  after(async () => {
    for (const d of made) await rm(d, { recursive: true, force: true });
  });

  it('parses --install_cni_networks', () => {
    assert.deepEqual(parseNetworkSubnets('ippc-bridge=10.236.1.0/24,fd10:236:1::/64; ippc-ptp=10.236.2.0/24'), {
      'ippc-bridge': ['10.236.1.0/24', 'fd10:236:1::/64'],
      'ippc-ptp': ['10.236.2.0/24'],
    });
    assert.throws(() => parseNetworkSubnets('blue=10.0.0.0/24'), invalid(/unknown network 'blue'/));
    assert.throws(() => parseNetworkSubnets('ippc-ptp'), invalid(/give ippc-ptp a subnet/));
    assert.throws(() => parseNetworkSubnets('ippc-ptp=10.0.0.0'), invalid(/not a subnet in CIDR form/));
    assert.throws(() => parseNetworkSubnets('ippc-ptp=10.0.0.0/8;ippc-ptp=10.0.0.0/8'), invalid(/named twice/));
  });

  it("writes this agent's networks: subnets, an IPv6 range with its route, sockets, bridges, ippc-isolation chained", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'an-net-'));
    made.push(dir);
    const configDir = join(dir, 'net.d');
    const written = await installDefaultNetworks({
      configDir,
      subnets: { 'ippc-bridge': ['10.236.1.0/24', 'fd10:236:1::/64'], 'ippc-local': ['10.236.3.0/24'] },
      ipamSocket: '/run/x/ipam.sock',
      isolationSocket: '/run/x/isolation.sock',
      bridgeName: 'br-a',
      localBridgeName: 'br-b',
      localDataDir: '/var/lib/x',
    });
    assert.deepEqual((await readdir(configDir)).sort(), ['ippc-bridge.conflist', 'ippc-local.conflist']);
    assert.equal(written.length, 2);
    assert.deepEqual((await readdir(dir)).sort(), ['net.d'], 'no scratch left beside the folder');
    const bridge = JSON.parse(await readFile(join(configDir, 'ippc-bridge.conflist'), 'utf8')) as { plugins: Array<Record<string, unknown>> };
    assert.deepEqual(
      bridge.plugins.map((p) => p.type),
      ['bridge', 'ippc-isolation', 'portmap'],
    );
    assert.equal(bridge.plugins[0]!.bridge, 'br-a');
    assert.deepEqual(bridge.plugins[0]!.ipam, {
      type: 'ippc-ipam',
      ranges: [[{ subnet: '10.236.1.0/24' }], [{ subnet: 'fd10:236:1::/64' }]],
      routes: [{ dst: '0.0.0.0/0' }, { dst: '::/0' }],
      daemonSocket: '/run/x/ipam.sock',
    });
    assert.deepEqual(bridge.plugins[1], { type: 'ippc-isolation', socket: '/run/x/isolation.sock' });
    const local = JSON.parse(await readFile(join(configDir, 'ippc-local.conflist'), 'utf8')) as { plugins: Array<Record<string, unknown>> };
    assert.deepEqual(local.plugins[0]!.ipam, {
      type: 'host-local',
      dataDir: '/var/lib/x',
      ranges: [[{ subnet: '10.236.3.0/24' }]],
      routes: [{ dst: '0.0.0.0/0' }],
    });
    // Again, without isolation: the files are replaced.
    await installDefaultNetworks({ configDir, subnets: { 'ippc-bridge': ['fd10:236:9::/64'] } });
    const v6 = JSON.parse(await readFile(join(configDir, 'ippc-bridge.conflist'), 'utf8')) as {
      plugins: Array<{ type: string; ipam?: { routes: unknown[] } }>;
    };
    assert.deepEqual(
      v6.plugins.map((p) => p.type),
      ['bridge', 'portmap'],
    );
    assert.deepEqual(v6.plugins[0]!.ipam!.routes, [{ dst: '::/0' }], 'an IPv6-only network gets only the IPv6 default route');
  });
});
