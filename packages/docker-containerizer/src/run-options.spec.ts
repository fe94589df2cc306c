// The run-options builder alone (no daemon): every Mesos rule and message of
// `Docker::RunOptions::create`, the `net`/`network` override, the port-mapping checks against the
// task's `ports` resources, and the translation of other parameters into the create body.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ContainerInfo_DockerInfo_Network as Network,
  ContainerInfo_Type,
  Environment_Variable_Type,
  Value_Type,
  type ContainerInfo,
  type ContainerInfo_DockerInfo,
  type Resource,
} from '@ippc/proto';
import { DockerContainerizerError } from './errors.js';
import { createRunOptions, type RunOptionsInput } from './run-options.js';

const IMAGE = 'ippc/base:test';

function container(docker: Partial<ContainerInfo_DockerInfo> = {}, rest: Partial<ContainerInfo> = {}): ContainerInfo {
  return {
    type: ContainerInfo_Type.DOCKER,
    networkInfos: [],
    ...rest,
    docker: { image: IMAGE, portMappings: [], parameters: [], ...docker },
  };
}

function ports(...ranges: Array<[number, number]>): Resource {
  return { name: 'ports', type: Value_Type.RANGES, ranges: { range: ranges.map(([begin, end]) => ({ begin, end })) }, reservations: [] };
}

function scalar(name: string, value: number): Resource {
  return { name, type: Value_Type.SCALAR, scalar: { value }, reservations: [] };
}

function build(containerInfo: ContainerInfo, extra: Partial<RunOptionsInput> = {}) {
  return createRunOptions({
    containerInfo,
    command: { value: 'sleep 1', uris: [], arguments: [] },
    name: 'mesos-c1',
    resources: [],
    ...extra,
  });
}

function rejects(fn: () => unknown, message: string, code = 'DOCKER_RUN_OPTIONS_INVALID'): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof DockerContainerizerError, `expected DockerContainerizerError, got ${String(err)}`);
    assert.equal(err.message, message);
    assert.equal(err.code, code);
    return true;
  });
}

describe('network modes', () => {
  it('defaults to HOST, which is Docker host mode unless the agent names its own container', () => {
    const host = build(container());
    assert.equal(host.mode, Network.HOST);
    assert.equal(host.networkMode, 'host');
    assert.equal(host.body.HostConfig.NetworkMode, 'host');
    const inAgent = build(container(), { hostNetwork: { container: 'agent-1' } });
    assert.equal(inAgent.body.HostConfig.NetworkMode, 'container:agent-1');
  });

  it('maps BRIDGE and NONE to Docker bridge and none', () => {
    assert.equal(build(container({ network: Network.BRIDGE })).body.HostConfig.NetworkMode, 'bridge');
    assert.equal(build(container({ network: Network.NONE })).body.HostConfig.NetworkMode, 'none');
  });

  it('maps USER to the network named by the only NetworkInfo', () => {
    const o = build(container({ network: Network.USER }, { networkInfos: [{ name: 'ippc-dkr-blue', ipAddresses: [], groups: [], portMappings: [] }] }));
    assert.equal(o.networkMode, 'ippc-dkr-blue');
    assert.equal(o.body.HostConfig.NetworkMode, 'ippc-dkr-blue');
  });

  it('USER without NetworkInfo: No network info found in container info', () => {
    rejects(() => build(container({ network: Network.USER })), 'No network info found in container info');
  });

  it('USER with two NetworkInfos: Only a single network can be defined in Docker run', () => {
    const two = { name: 'a', ipAddresses: [], groups: [], portMappings: [] };
    rejects(
      () => build(container({ network: Network.USER }, { networkInfos: [two, { ...two, name: 'b' }] })),
      'Only a single network can be defined in Docker run',
    );
  });

  it('USER whose NetworkInfo has no name: No network name found in network info', () => {
    rejects(
      () => build(container({ network: Network.USER }, { networkInfos: [{ ipAddresses: [], groups: ['web'], portMappings: [] }] })),
      'No network name found in network info',
    );
  });

  it('ignores network_infos for HOST, BRIDGE and NONE (as Mesos does)', () => {
    const infos = [
      { name: 'x', ipAddresses: [], groups: [], portMappings: [] },
      { ipAddresses: [], groups: [], portMappings: [] },
    ];
    for (const network of [Network.HOST, Network.BRIDGE, Network.NONE]) {
      assert.doesNotThrow(() => build(container({ network }, { networkInfos: infos })));
    }
  });

  it('an unknown mode: Unsupported Network mode: <n>', () => {
    rejects(() => build(container({ network: 9 as Network })), 'Unsupported Network mode: 9');
  });
});

describe('hostname', () => {
  it('HOST with a hostname: Unable to set hostname with host network mode (also when HOST is the agent container)', () => {
    rejects(() => build(container({}, { hostname: 'web' })), 'Unable to set hostname with host network mode');
    rejects(() => build(container({}, { hostname: 'web' }), { hostNetwork: { container: 'agent' } }), 'Unable to set hostname with host network mode');
  });

  it('other modes set it', () => {
    assert.equal(build(container({ network: Network.BRIDGE }, { hostname: 'web' })).body.Hostname, 'web');
    assert.equal(build(container({ network: Network.NONE }, { hostname: 'web' })).body.Hostname, 'web');
  });
});

describe('port mappings', () => {
  const mapping = (hostPort: number, containerPort = 80, protocol?: string) => ({ hostPort, containerPort, protocol });

  it('HOST and NONE: Port mappings are only supported for bridge and user-defined networks', () => {
    for (const network of [Network.HOST, Network.NONE]) {
      rejects(
        () => build(container({ network, portMappings: [mapping(32000)] }), { resources: [ports([32000, 32000])] }),
        'Port mappings are only supported for bridge and user-defined networks',
      );
    }
  });

  it('no resources at all: Port mappings require resources', () => {
    rejects(() => build(container({ network: Network.BRIDGE, portMappings: [mapping(32000)] })), 'Port mappings require resources');
  });

  it('resources without ports: Port mappings require port resources', () => {
    rejects(
      () => build(container({ network: Network.BRIDGE, portMappings: [mapping(32000)] }), { resources: [scalar('cpus', 0.1), scalar('mem', 32)] }),
      'Port mappings require port resources',
    );
  });

  it('a host port outside every offered range: Port [<p>] not included in resources', () => {
    const resources = [ports([32000, 32001], [32010, 32010])];
    rejects(() => build(container({ network: Network.BRIDGE, portMappings: [mapping(32002)] }), { resources }), 'Port [32002] not included in resources');
    rejects(
      () => build(container({ network: Network.BRIDGE, portMappings: [mapping(32000), mapping(31999, 81)] }), { resources }),
      'Port [31999] not included in resources',
    );
  });

  it('mappings inside the ranges (task and executor resources together) become port bindings', () => {
    const o = build(
      container(
        {
          network: Network.USER,
          portMappings: [mapping(32000, 80), mapping(32010, 53, 'UDP'), mapping(32001, 80)],
        },
        { networkInfos: [{ name: 'ippc-dkr-x', ipAddresses: [], groups: [], portMappings: [] }] },
      ),
      { resources: [ports([32000, 32001]), scalar('cpus', 0.1), ports([32010, 32010])] },
    );
    assert.deepEqual(o.body.HostConfig.PortBindings, {
      '80/tcp': [
        { HostIp: '', HostPort: '32000' },
        { HostIp: '', HostPort: '32001' },
      ],
      '53/udp': [{ HostIp: '', HostPort: '32010' }],
    });
    assert.deepEqual(o.body.ExposedPorts, { '80/tcp': {}, '53/udp': {} });
  });
});

describe('the net/network parameter', () => {
  it('overrides the mode, and the first one wins', () => {
    const o = build(
      container({
        parameters: [
          { key: 'net', value: 'none' },
          { key: 'network', value: 'bridge' },
        ],
      }),
    );
    assert.equal(o.networkMode, 'none');
    assert.equal(o.body.HostConfig.NetworkMode, 'none');
    assert.equal(o.mode, Network.HOST);
    const n = build(container({ network: Network.BRIDGE, parameters: [{ key: 'network', value: 'ippc-dkr-y' }] }));
    assert.equal(n.body.HostConfig.NetworkMode, 'ippc-dkr-y');
  });

  it('applies after the checks, which use the DockerInfo mode', () => {
    // Mesos checks hostname and port mappings against DockerInfo.network, then applies the override.
    rejects(() => build(container({ parameters: [{ key: 'net', value: 'bridge' }] }, { hostname: 'web' })), 'Unable to set hostname with host network mode');
    rejects(() => build(container({ network: Network.USER, parameters: [{ key: 'net', value: 'bridge' }] })), 'No network info found in container info');
    const o = build(container({ network: Network.BRIDGE, parameters: [{ key: 'net', value: 'host' }] }, { hostname: 'web' }));
    assert.equal(o.body.HostConfig.NetworkMode, 'host');
  });
});

describe('other parameters', () => {
  it('become their create-body equivalents', () => {
    const o = build(
      container(
        {
          network: Network.USER,
          parameters: [
            { key: 'env', value: 'A=1' },
            { key: 'e', value: 'B=x=y' },
            { key: 'label', value: 'team=blue' },
            { key: 'user', value: 'nobody' },
            { key: 'workdir', value: '/tmp' },
            { key: 'memory', value: '64m' },
            { key: 'cpus', value: '0.5' },
            { key: 'ulimit', value: 'nofile=1024:2048' },
            { key: 'sysctl', value: 'net.ipv4.ip_forward=1' },
            { key: 'add-host', value: 'db:10.230.0.9' },
            { key: 'dns', value: '10.230.0.53' },
            { key: 'dns-opt', value: 'ndots:1' },
            { key: 'cap-add', value: 'NET_ADMIN' },
            { key: 'read-only', value: 'true' },
            { key: 'init', value: 'false' },
            { key: 'tmpfs', value: '/run:size=1m' },
            { key: 'ip', value: '10.230.1.20' },
            { key: 'ip6', value: 'fd10:230:1::20' },
            { key: 'network-alias', value: 'web' },
            { key: 'log-opt', value: 'max-size=1m' },
            { key: 'stop-signal', value: 'SIGINT' },
          ],
        },
        { networkInfos: [{ name: 'ippc-dkr-u', ipAddresses: [], groups: [], portMappings: [] }] },
      ),
    );
    const h = o.body.HostConfig;
    assert.ok(o.body.Env?.includes('A=1'));
    assert.ok(o.body.Env?.includes('B=x=y'));
    assert.equal(o.body.Labels?.team, 'blue');
    assert.equal(o.body.User, 'nobody');
    assert.equal(o.body.WorkingDir, '/tmp');
    assert.equal(o.body.StopSignal, 'SIGINT');
    assert.equal(h.Memory, 64 * 1024 * 1024);
    assert.equal(h.NanoCpus, 500_000_000);
    assert.deepEqual(h.Ulimits, [{ Name: 'nofile', Soft: 1024, Hard: 2048 }]);
    assert.deepEqual(h.Sysctls, { 'net.ipv4.ip_forward': '1' });
    assert.deepEqual(h.ExtraHosts, ['db:10.230.0.9']);
    assert.deepEqual(h.Dns, ['10.230.0.53']);
    assert.deepEqual(h.DnsOptions, ['ndots:1']);
    assert.deepEqual(h.CapAdd, ['NET_ADMIN']);
    assert.equal(h.ReadonlyRootfs, true);
    assert.equal(h.Init, false);
    assert.deepEqual(h.Tmpfs, { '/run': 'size=1m' });
    assert.deepEqual(h.LogConfig, { Type: '', Config: { 'max-size': '1m' } });
    assert.deepEqual(o.body.NetworkingConfig?.EndpointsConfig?.['ippc-dkr-u'], {
      IPAMConfig: { IPv4Address: '10.230.1.20', IPv6Address: 'fd10:230:1::20' },
      Aliases: ['web'],
    });
  });

  it('an endpoint parameter follows the net override', () => {
    const o = build(
      container({
        network: Network.BRIDGE,
        parameters: [
          { key: 'ip', value: '10.230.2.5' },
          { key: 'net', value: 'ippc-dkr-z' },
        ],
      }),
    );
    assert.deepEqual(Object.keys(o.body.NetworkingConfig?.EndpointsConfig ?? {}), ['ippc-dkr-z']);
  });

  it('an unknown flag fails clearly, naming what is supported', () => {
    assert.throws(
      () => build(container({ parameters: [{ key: 'frobnicate', value: '1' }] })),
      (err: unknown) =>
        err instanceof DockerContainerizerError &&
        err.code === 'DOCKER_PARAMETER_UNSUPPORTED' &&
        err.message.startsWith(
          "Unsupported docker parameter '--frobnicate=1': ippc translates only these docker run flags to the Engine API: net, network, env,",
        ),
    );
  });

  it('flags that would take the container away from the containerizer are refused with the reason', () => {
    rejects(
      () => build(container({ parameters: [{ key: 'name', value: 'x' }] })),
      "Unsupported docker parameter '--name=x': the container name is always mesos-<container id> (Mesos: Parameter in DockerInfo must not be 'name')",
      'DOCKER_PARAMETER_UNSUPPORTED',
    );
    for (const key of ['rm', 'restart', 'tty', 'detach']) {
      assert.throws(() => build(container({ parameters: [{ key, value: 'true' }] })), /Unsupported docker parameter/);
    }
  });

  it('a malformed value fails with what was expected', () => {
    rejects(
      () => build(container({ parameters: [{ key: 'memory', value: 'lots' }] })),
      "Invalid value 'lots' for docker parameter '--memory': expected a size such as 64m or 1g",
    );
    rejects(
      () => build(container({ parameters: [{ key: 'read-only', value: 'yes' }] })),
      "Invalid value 'yes' for docker parameter '--read-only': expected true or false",
    );
    rejects(
      () => build(container({ parameters: [{ key: 'env', value: 'NOVALUE' }] })),
      "Invalid value 'NOVALUE' for docker parameter '--env': expected KEY=VALUE",
    );
  });

  it('the containerizer labels win over --label', () => {
    const o = build(container({ parameters: [{ key: 'label', value: 'org.ippc.owner=me' }] }), { labels: { 'org.ippc.owner': 'ippc' } });
    assert.equal(o.body.Labels?.['org.ippc.owner'], 'ippc');
  });
});

describe('command, environment, sandbox and resources', () => {
  it('a shell command runs as /bin/sh -c <value>', () => {
    const o = build(container());
    assert.deepEqual(o.body.Entrypoint, ['/bin/sh']);
    assert.deepEqual(o.body.Cmd, ['-c', 'sleep 1']);
  });

  it('an --entrypoint parameter wins over the shell entrypoint (as the later docker run flag would)', () => {
    assert.deepEqual(build(container({ parameters: [{ key: 'entrypoint', value: '/bin/busybox' }] })).body.Entrypoint, ['/bin/busybox']);
  });

  it('a shell without a value: Shell specified but no command value provided', () => {
    rejects(() => build(container(), { command: { uris: [], arguments: [] } }), 'Shell specified but no command value provided');
    rejects(() => build(container(), { command: undefined }), 'Shell specified but no command value provided');
  });

  it('shell=false passes value and arguments to the image entrypoint', () => {
    const o = build(container(), { command: { shell: false, value: 'sleep', arguments: ['5'], uris: [] } });
    assert.equal(o.body.Entrypoint, undefined);
    assert.deepEqual(o.body.Cmd, ['sleep', '5']);
    const bare = build(container(), { command: { shell: false, arguments: [], uris: [] } });
    assert.equal(bare.body.Cmd, undefined);
  });

  it('the agent environment wins over CommandInfo, MESOS_SANDBOX is the mapped folder, names sorted', () => {
    const o = build(container(), {
      environment: { PORT0: '32000', MESOS_TASK_ID: 't1' },
      command: {
        value: 'true',
        uris: [],
        arguments: [],
        environment: {
          variables: [
            { name: 'PORT0', value: '1' },
            { name: 'GREETING', value: 'hi' },
            { name: 'TOKEN', type: Environment_Variable_Type.SECRET, secret: { value: { data: Buffer.from('s3cret') } } },
          ],
        },
      },
      sandbox: { hostPath: '/tmp/dkr-x/sandbox', containerPath: '/mnt/mesos/sandbox' },
      resources: [{ ...scalar('cpus', 0.1), allocationInfo: { role: 'web' } }],
    });
    assert.deepEqual(o.body.Env, [
      'GREETING=hi',
      'MESOS_ALLOCATION_ROLE=web',
      'MESOS_CONTAINER_NAME=mesos-c1',
      'MESOS_SANDBOX=/mnt/mesos/sandbox',
      'MESOS_TASK_ID=t1',
      'PORT0=32000',
      'TOKEN=s3cret',
    ]);
    assert.deepEqual(o.body.HostConfig.Binds, ['/tmp/dkr-x/sandbox:/mnt/mesos/sandbox']);
    assert.equal(o.body.name, 'mesos-c1');
    assert.equal(o.body.Image, IMAGE);
  });

  it('cpus and mem become CPU shares and a memory limit with Mesos minimums', () => {
    const o = build(container(), { resources: [scalar('cpus', 0.5), scalar('mem', 64), scalar('cpus', 0.25)] });
    assert.equal(o.body.HostConfig.CpuShares, 768);
    assert.equal(o.body.HostConfig.Memory, 64 * 1024 * 1024);
    const tiny = build(container(), { resources: [scalar('cpus', 0.001), scalar('mem', 1)] });
    assert.equal(tiny.body.HostConfig.CpuShares, 2);
    assert.equal(tiny.body.HostConfig.Memory, 32 * 1024 * 1024);
    assert.equal(tiny.body.HostConfig.CpuQuota, undefined);
    assert.equal(build(container(), { resources: [scalar('cpus', 0.5)], cgroupsEnableCfs: true }).body.HostConfig.CpuQuota, 50_000);
  });

  it('limits cap CPU with a CFS quota and memory with a limit above the reservation', () => {
    const o = build(container(), { resources: [scalar('cpus', 0.5), scalar('mem', 64)], limits: { cpus: { value: 2 }, mem: { value: 128 } } });
    assert.equal(o.body.HostConfig.CpuQuota, 200_000);
    assert.equal(o.body.HostConfig.Memory, 128 * 1024 * 1024);
    assert.equal(o.body.HostConfig.MemoryReservation, 64 * 1024 * 1024);
    const unlimited = build(container(), { resources: [scalar('mem', 64)], limits: { cpus: { value: Infinity }, mem: { value: Infinity } } });
    assert.equal(unlimited.body.HostConfig.CpuQuota, undefined);
    assert.equal(unlimited.body.HostConfig.Memory, undefined);
  });

  it('privileged is passed on', () => {
    assert.equal(build(container({ privileged: true })).body.HostConfig.Privileged, true);
    assert.equal(build(container()).body.HostConfig.Privileged, undefined);
  });

  it('a ContainerInfo without docker or image is refused', () => {
    rejects(() => build({ type: ContainerInfo_Type.DOCKER, networkInfos: [] }), "DockerInfo 'docker' is not set for DOCKER typed ContainerInfo");
    rejects(() => build({ type: ContainerInfo_Type.DOCKER, networkInfos: [], docker: { portMappings: [], parameters: [] } }), "DockerInfo 'image' is not set");
  });
});
