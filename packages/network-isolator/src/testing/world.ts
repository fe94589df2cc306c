import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import type { ContainerConfig } from '@ippc/core';
import { ContainerInfo_Type, type ExecutorInfo, type NetworkInfo } from '@ippc/proto';
import { createNetworkIsolator, type NetworkIsolatorOptions } from '../isolator/isolator.js';
import { captureLogger, createFakeHost, createFakeInvoker, fakeBridge, passThrough, type FakeCall, type FakePlugin } from './fakes.js';

// The isolator's unit tests share this world of fakes (a spec file per verb, in src/isolator/).
// Importing it registers the removal of its scratch folders after the file's tests.

const scratch: string[] = [];
after(async () => {
  for (const d of scratch) await rm(d, { recursive: true, force: true });
});

export function net(name: string, extra: Partial<NetworkInfo> = {}): NetworkInfo {
  return { name, ipAddresses: [], groups: [], portMappings: [], ...extra };
}

export function config(id: string, networkInfos: NetworkInfo[], extra: { hostname?: string; type?: ContainerInfo_Type } = {}): ContainerConfig {
  return {
    containerId: { value: id },
    executor: { resources: [] } as unknown as ExecutorInfo,
    containerInfo: { type: extra.type ?? ContainerInfo_Type.MESOS, networkInfos, ...(extra.hostname ? { hostname: extra.hostname } : {}) },
    sandboxDirectory: '/tmp',
  };
}

/** A world of fakes: config folder with blue (conflist), green (single 0.2.0-style) and red networks. */
export async function world(plugins: Record<string, FakePlugin> = {}, options: Partial<NetworkIsolatorOptions> = {}) {
  const base = await mkdtemp(join(tmpdir(), 'cni-iso-'));
  scratch.push(base);
  const configDir = join(base, 'net.d');
  const rootDir = join(base, 'root');
  await mkdir(configDir);
  await writeFile(
    join(configDir, '10-blue.conflist'),
    JSON.stringify({
      cniVersion: '1.0.0',
      name: 'blue',
      plugins: [
        { type: 'bridge', ipam: { type: 'host-local' } },
        { type: 'portmap', capabilities: { portMappings: true } },
        { type: 'bandwidth', capabilities: { bandwidth: true } },
      ],
    }),
  );
  await writeFile(join(configDir, '20-green.json'), JSON.stringify({ name: 'green', type: 'ptp', ipam: { type: 'static' }, capabilities: { ips: true } }));
  await writeFile(join(configDir, '30-red.conf'), JSON.stringify({ cniVersion: '0.4.0', name: 'red', type: 'macvlan' }));
  const seenConf: string[] = [];
  // Every interface plugin checks that network.conf is on disk when its ADD runs (Mesos's order).
  const checkConf =
    (inner: FakePlugin, netName: string): FakePlugin =>
    (call: FakeCall) => {
      if (call.command === 'ADD') {
        const path = join(rootDir, call.env.CNI_CONTAINERID!, netName, 'network.conf');
        if (existsSync(path)) seenConf.push(readFileSync(path, 'utf8'));
        else throw new Error(`network.conf of ${netName} missing at ADD`);
      }
      return inner(call);
    };
  const invoker = createFakeInvoker(
    {
      bridge: checkConf(fakeBridge('10.220.7', { ipv6: 'fd10:220:7::' }), 'blue'),
      portmap: passThrough,
      bandwidth: passThrough,
      ptp: checkConf(fakeBridge('10.220.8'), 'green'),
      macvlan: checkConf(fakeBridge('10.220.9', { dns: { nameservers: ['10.220.9.53'], search: ['mesos'] } }), 'red'),
      ...plugins,
    },
    ['host-local', 'static'],
  );
  const host = createFakeHost();
  const { logger, lines } = captureLogger();
  const make = (extra: Partial<NetworkIsolatorOptions> = {}) =>
    createNetworkIsolator({ configDir, rootDir, pluginDirs: ['/fake/cni'], invoker, host, logger, ...options, ...extra });
  return { base, configDir, rootDir, invoker, host, lines, seenConf, isolator: make(), make };
}
