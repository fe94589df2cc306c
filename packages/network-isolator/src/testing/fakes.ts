import { Writable } from 'node:stream';
import { createLogger, type Logger, type NetworkUsage } from '@ippc/core';
import type { CniInvoker, PluginOutput, PluginRun } from '../cni/invoker.js';
import type { ContainerSetup, HostOps } from '../host/host-ops.js';

// Fakes at the two seams of the isolator, for unit tests that need neither root nor real plugins.

/** One recorded plugin run. */
export interface FakeCall {
  type: string;
  command: string;
  env: Record<string, string>;
  /** The parsed stdin. */
  request: Record<string, unknown>;
}

/** What a fake plugin answers: an object is printed as JSON with exit 0. */
export type FakePlugin = (call: FakeCall) => PluginOutput | Record<string, unknown> | undefined;

/**
 * A {@link CniInvoker} whose plugins are functions. `find` knows the plugins in `plugins` plus
 * `extra` (binaries that exist but are never run, e.g. IPAM plugins the interface plugin calls).
 */
export function createFakeInvoker(plugins: Record<string, FakePlugin>, extra: string[] = []): CniInvoker & { calls: FakeCall[] } {
  const calls: FakeCall[] = [];
  return {
    calls,
    async find(type) {
      return type in plugins || extra.includes(type) ? `/fake/cni/${type}` : undefined;
    },
    async exec(path: string, run: PluginRun): Promise<PluginOutput> {
      const type = path.split('/').pop()!;
      const call: FakeCall = { type, command: run.env.CNI_COMMAND ?? '', env: run.env, request: JSON.parse(run.stdin) as Record<string, unknown> };
      calls.push(call);
      const plugin = plugins[type];
      if (!plugin) throw new Error(`fake plugin ${type} has no implementation`);
      const out = plugin(call);
      if (out === undefined) return { exitCode: 0, stdout: '', stderr: '' };
      if ('exitCode' in out && 'stdout' in out) return out as PluginOutput;
      return { exitCode: 0, stdout: JSON.stringify(out), stderr: '' };
    },
  };
}

/** A fake interface plugin: ADD answers a 1.0.0 result with the next address of `subnet24` (e.g. `10.220.9`). */
export function fakeBridge(subnet24: string, options: { ipv6?: string; dns?: Record<string, unknown> } = {}): FakePlugin {
  let next = 2;
  return (call) => {
    if (call.command !== 'ADD') return undefined;
    const ips: Record<string, unknown>[] = [{ interface: 2, address: `${subnet24}.${next++}/24`, gateway: `${subnet24}.1` }];
    if (options.ipv6) ips.push({ interface: 2, address: `${options.ipv6}${next - 1}/64` });
    return {
      cniVersion: (call.request.cniVersion as string) ?? '1.0.0',
      interfaces: [{ name: 'br0' }, { name: 'veth0' }, { name: call.env.CNI_IFNAME, sandbox: call.env.CNI_NETNS }],
      ips,
      routes: [{ dst: '0.0.0.0/0' }],
      dns: options.dns ?? {},
    };
  };
}

/** A chained plugin that passes `prevResult` through unchanged (what portmap, firewall, ... print). */
export const passThrough: FakePlugin = (call) => (call.command === 'ADD' ? (call.request.prevResult as Record<string, unknown>) : undefined);

/** A plugin that fails every command it is given with a CNI error object. */
export function failing(commands: string[], msg = 'Plugin failed'): FakePlugin {
  return (call) =>
    commands.includes(call.command)
      ? { exitCode: 1, stdout: JSON.stringify({ cniVersion: '1.0.0', code: 7, msg }), stderr: `${call.command} failed\n` }
      : call.command === 'ADD'
        ? (call.request.prevResult as Record<string, unknown>)
        : undefined;
}

/** A {@link HostOps} that records what it is asked and pretends: handles are "held" in memory. */
export interface FakeHost extends HostOps {
  held: Map<string, number>;
  setups: Array<{ pid: number; setup: ContainerSetup }>;
  /** pids that count as running (any namespace). */
  running: Set<number>;
  /** Make `setupContainer` fail with this message. */
  failSetup?: string;
  counters: Map<string, NetworkUsage>;
}

export function createFakeHost(): FakeHost {
  const host: FakeHost = {
    held: new Map(),
    setups: [],
    running: new Set(),
    counters: new Map(),
    async prepareRoot() {},
    async releaseRoot() {},
    async holdNetns(pid, handle) {
      const { writeFile } = await import('node:fs/promises');
      await writeFile(handle, '', { flag: 'a' });
      host.held.set(handle, pid);
    },
    async releaseNetns(handle) {
      host.held.delete(handle);
    },
    async isNetnsHandle(handle) {
      return host.held.has(handle);
    },
    async isRunningIn(pid, handle) {
      return host.running.has(pid) && host.held.get(handle) === pid;
    },
    async setupContainer(pid, setup) {
      host.setups.push({ pid, setup });
      if (host.failSetup) throw new Error(host.failSetup);
    },
    enterContainer(pid, handle, setup) {
      const held = host.holdNetns(pid, handle);
      return { held, done: held.then(() => host.setupContainer(pid, setup)) };
    },
    async interfaceCounters() {
      return new Map(host.counters);
    },
  };
  return host;
}

/** A logger whose lines land in `lines` (parsed), so tests can check Mesos's log messages. */
export function captureLogger(): { lines: Array<{ level: string; msg: string; [key: string]: unknown }>; logger: Logger } {
  const lines: Array<{ level: string; msg: string }> = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as { level: string; msg: string });
      done();
    },
  });
  return { lines, logger: createLogger({ component: 'test', level: 'debug', destination }) };
}
