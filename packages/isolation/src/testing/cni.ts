import { access, constants } from 'node:fs/promises';
import { join } from 'node:path';
import type { Scratch } from './scratch.js';

// A minimal CNI runtime for tests and benchmarks, doing what libcni does for a conflist: plugins in
// order for ADD (each gets the previous result as prevResult), in reverse for DEL with the final
// result, forward for CHECK; `args["org.apache.mesos"].network_info` as Mesos injects it. Plugins
// run inside an agent's namespace, as the agent would run them.

export interface Conflist {
  cniVersion: string;
  name: string;
  plugins: Record<string, unknown>[];
}

export interface CniRuntimeCall {
  containerId: string;
  /** `/run/netns/...`; omitted for a DEL after the namespace is gone. */
  netns?: string;
  ifName?: string;
  /** `NetworkInfo` in Mesos's JSON (snake_case), injected as args["org.apache.mesos"].network_info. */
  networkInfo?: Record<string, unknown>;
}

export class CniPluginError extends Error {
  constructor(
    readonly plugin: string,
    readonly command: string,
    readonly code: number | undefined,
    readonly msg: string,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(`plugin ${plugin} failed (${command.toLowerCase()}): ${code !== undefined ? `code ${code}: ` : ''}${msg}`);
    this.name = 'CniPluginError';
  }
}

export interface CniRunner {
  add(conf: Conflist, call: CniRuntimeCall): Promise<Record<string, unknown>>;
  check(conf: Conflist, call: CniRuntimeCall, result: Record<string, unknown>): Promise<void>;
  del(conf: Conflist, call: CniRuntimeCall, result?: Record<string, unknown>): Promise<void>;
  /** Runs one plugin with the given stdin config (for tests of a single plugin). */
  exec(type: string, command: string, call: CniRuntimeCall, config: Record<string, unknown>): Promise<{ stdout: string; stderr: string; code: number | null }>;
}

export function createCniRunner(scratch: Scratch, agentNs: string, cniPath: string[]): CniRunner {
  const found = new Map<string, string>();
  async function find(type: string): Promise<string> {
    const hit = found.get(type);
    if (hit) return hit;
    for (const dir of cniPath) {
      const candidate = join(dir, type);
      try {
        await access(candidate, constants.X_OK);
        found.set(type, candidate);
        return candidate;
      } catch {
        // next folder
      }
    }
    throw new Error(`CNI plugin ${type} not found in ${cniPath.join(':')}`);
  }

  async function exec(type: string, command: string, call: CniRuntimeCall, config: Record<string, unknown>) {
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      CNI_COMMAND: command,
      CNI_CONTAINERID: call.containerId,
      CNI_IFNAME: call.ifName ?? 'eth0',
      CNI_PATH: cniPath.join(':'),
      ...(call.netns ? { CNI_NETNS: call.netns } : {}),
    };
    return scratch.exec(agentNs, await find(type), [], { input: JSON.stringify(config), env });
  }

  function pluginConfig(conf: Conflist, plugin: Record<string, unknown>, call: CniRuntimeCall, prevResult?: Record<string, unknown>): Record<string, unknown> {
    return {
      ...plugin,
      cniVersion: conf.cniVersion,
      name: conf.name,
      ...(call.networkInfo ? { args: { 'org.apache.mesos': { network_info: call.networkInfo } } } : {}),
      ...(prevResult ? { prevResult } : {}),
    };
  }

  async function run(
    conf: Conflist,
    command: string,
    call: CniRuntimeCall,
    plugins: Record<string, unknown>[],
    prev?: Record<string, unknown>,
    accumulate = false,
  ) {
    let result = prev;
    for (const plugin of plugins) {
      const type = String(plugin.type);
      const res = await exec(type, command, call, pluginConfig(conf, plugin, call, result));
      if (res.code !== 0) {
        let parsed: { code?: number; msg?: string } = {};
        try {
          parsed = JSON.parse(res.stdout) as typeof parsed;
        } catch {
          // not JSON
        }
        throw new CniPluginError(type, command, parsed.code, parsed.msg ?? (res.stderr.trim() || res.stdout.trim()), res.stdout, res.stderr);
      }
      if (accumulate) result = JSON.parse(res.stdout) as Record<string, unknown>;
    }
    return result;
  }

  return {
    exec,
    async add(conf, call) {
      return (await run(conf, 'ADD', call, conf.plugins, undefined, true))!;
    },
    async check(conf, call, result) {
      await run(conf, 'CHECK', call, conf.plugins, result);
    },
    async del(conf, call, result) {
      await run(conf, 'DEL', call, [...conf.plugins].reverse(), result);
    },
  };
}
