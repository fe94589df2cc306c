import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Containerizer, Isolator, Logger } from '@ippc/core';
import { createMesosContainerizer } from '@ippc/mesos-containerizer';
import type { InProcessPlugin } from '@ippc/network-isolator';
import { parseDuration } from '@ippc/mesos';
import { Histogram, type Registry } from 'prom-client';
import { createCniIsolatorFromFlags } from './cni-options.js';
import { createDockerFromFlags } from './docker-options.js';
import { AgentError } from '@ippc/agent';

// How the agent binary gets its containerizers and isolators (Mesos: `--containerizers`,
// `--isolation`, `--modules`). Built in: the `mesos` and `docker` containerizers and the
// `network/cni` isolator, configured by the agent's flags. Anything else comes from a module file: an ES
// module (or .ts through tsx) that exports `containerizers` and/or `isolators`, maps from the name
// used on the command line to a factory. Factories receive the agent's flags, so a module reads its
// own (`--network_cni_config_dir`, `--docker_socket`, ...).
//
//   // my-modules.ts
//   export const isolators = { 'network/cni': (ctx) => createCniIsolator({ configDir: ctx.flags.network_cni_config_dir, ... }) };
//   export const containerizers = { docker: (ctx) => createDockerContainerizer({ agentIp: ctx.agentIp, ... }) };
//
//   ippc-agent --modules=./my-modules.ts --isolation=network/cni --containerizers=docker,mesos ...

/** What a module factory is given. */
export interface ModuleContext {
  /** Every flag of the agent by name without dashes, e.g. `network_cni_config_dir`. */
  flags: Record<string, string>;
  workDir: string;
  /** Where runtime checkpoints live (Mesos's `--runtime_dir`). */
  runtimeDir: string;
  agentIp: string;
  agentIp6?: string;
  hostname: string;
  log: Logger;
  /** For containerizer factories: the isolators of `--isolation`, in order. */
  isolators: Isolator[];
  /** The agent's metrics registry (its `/metrics`), for modules that add their own. */
  metrics?: Registry;
  /** CNI plugins the node daemons in this process answer without an exec, by type (see node-services.ts). */
  cniPlugins?: Readonly<Record<string, InProcessPlugin>>;
}

export type IsolatorFactory = (ctx: ModuleContext) => Isolator | Promise<Isolator>;
export type ContainerizerFactory = (ctx: ModuleContext) => Containerizer | Promise<Containerizer>;

export interface AgentModules {
  isolators?: Record<string, IsolatorFactory>;
  containerizers?: Record<string, ContainerizerFactory>;
}

const graceMs = (ctx: ModuleContext) => (ctx.flags.executor_shutdown_grace_period ? parseDuration(ctx.flags.executor_shutdown_grace_period) : undefined);

/**
 * Built into every agent: the Mesos containerizer with the `--isolation` isolators, the Docker
 * containerizer (`--docker_*` flags, see `docker-options.ts`), and the `network/cni` isolator
 * (`--network_cni_*` flags and `--default_container_dns`, see `cni-options.ts`).
 */
export const BUILTIN_MODULES: AgentModules = {
  isolators: {
    'network/cni': (ctx) => createCniIsolatorFromFlags(ctx.flags, ctx, ctx.log.child({ isolator: 'network/cni' }), ctx.cniPlugins),
  },
  containerizers: {
    mesos: (ctx) => createMesosContainerizer({ runtimeDir: ctx.runtimeDir, isolators: ctx.isolators, log: ctx.log.child({ containerizer: 'mesos' }) }),
    docker: (ctx) => {
      const defaultGracePeriodMs = graceMs(ctx);
      return createDockerFromFlags(ctx.flags, {
        workDir: ctx.workDir,
        ...(defaultGracePeriodMs !== undefined ? { defaultGracePeriodMs } : {}),
        log: ctx.log.child({ containerizer: 'docker' }),
      });
    },
  },
};

/**
 * The isolators the Mesos containerizer runs, Mesos's way (containerizer.cpp): at most one
 * `network/*` isolator (`network/ports` aside), and `network/cni` added when none is named, so a
 * task that names a network is attached (or refused with `Unknown CNI network`) rather than
 * silently put on the agent's network.
 */
export function resolveIsolation(names: readonly string[], containerizers: readonly string[]): string[] {
  const out = [...new Set(names)];
  const network = out.filter((n) => n.startsWith('network/') && n !== 'network/ports');
  if (network.length > 1) throw new AgentError('AGENT_CONFIG_INVALID', `Using multiple network isolators simultaneously is disallowed: ${network.join(', ')}`);
  if (network.length === 0 && containerizers.includes('mesos')) out.push('network/cni');
  return out;
}

const OPERATIONS = ['recover', 'prepare', 'isolate', 'cleanup'] as const;

/**
 * Wraps an isolator so the time of each lifecycle call lands in
 * `ippc_agent_isolator_seconds{isolator, operation}` and `isolate` is logged with its duration
 * (for `network/cni` that is the network set-up: the netns handle, every CNI ADD, the /etc files).
 */
export function timedIsolator(iso: Isolator, histogram: Histogram<'isolator' | 'operation'>, log: Logger): Isolator {
  return new Proxy(iso, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function' || !(OPERATIONS as readonly (string | symbol)[]).includes(prop)) return value;
      const fn = value as (...args: unknown[]) => Promise<unknown>;
      return async (...args: unknown[]) => {
        const t0 = performance.now();
        try {
          return await fn.apply(target, args);
        } finally {
          const ms = performance.now() - t0;
          histogram.observe({ isolator: target.name, operation: String(prop) }, ms / 1000);
          if (prop === 'isolate')
            log.info({ isolator: target.name, containerId: (args[0] as { value?: string } | undefined)?.value, ms: Math.round(ms * 10) / 10 }, 'isolated');
        }
      };
    },
  });
}

function isolatorHistogram(registry: Registry): Histogram<'isolator' | 'operation'> {
  const existing = registry.getSingleMetric('ippc_agent_isolator_seconds');
  if (existing) return existing as Histogram<'isolator' | 'operation'>;
  return new Histogram({
    name: 'ippc_agent_isolator_seconds',
    help: "Time of the isolators' lifecycle calls (isolate of network/cni: the container's network set-up)",
    labelNames: ['isolator', 'operation'],
    buckets: [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5],
    registers: [registry],
  });
}

/** Imports module files and merges their factories over the built-in ones (later files win). */
export async function loadModules(files: readonly string[], cwd = process.cwd()): Promise<AgentModules> {
  const out: Required<AgentModules> = { isolators: { ...BUILTIN_MODULES.isolators }, containerizers: { ...BUILTIN_MODULES.containerizers } };
  for (const file of files) {
    const path = isAbsolute(file) ? file : resolve(cwd, file);
    let mod: AgentModules;
    try {
      mod = (await import(pathToFileURL(path).href)) as AgentModules;
    } catch (err) {
      throw new AgentError('AGENT_CONFIG_INVALID', `Cannot load module file ${path}: ${(err as Error).message}`, { cause: err });
    }
    if (!mod.isolators && !mod.containerizers) {
      throw new AgentError('AGENT_CONFIG_INVALID', `Module file ${path} exports neither 'isolators' nor 'containerizers'`);
    }
    Object.assign(out.isolators, mod.isolators ?? {});
    Object.assign(out.containerizers, mod.containerizers ?? {});
  }
  return out;
}

/** Builds the isolators, then the containerizers in order, from their names. */
export async function buildContainerizers(
  containerizerNames: readonly string[],
  isolatorNames: readonly string[],
  modules: AgentModules,
  ctx: Omit<ModuleContext, 'isolators'>,
): Promise<Containerizer[]> {
  const isolators: Isolator[] = [];
  for (const name of isolatorNames) {
    const factory = modules.isolators?.[name];
    if (!factory) {
      throw new AgentError(
        'AGENT_CONFIG_INVALID',
        `Unknown isolator '${name}': load it with --modules=FILE (a module exporting isolators['${name}']); known: ${Object.keys(modules.isolators ?? {}).join(', ') || 'none'}`,
      );
    }
    const iso = await factory({ ...ctx, isolators: [] });
    isolators.push(ctx.metrics ? timedIsolator(iso, isolatorHistogram(ctx.metrics), ctx.log) : iso);
  }
  const out: Containerizer[] = [];
  for (const name of containerizerNames) {
    const factory = modules.containerizers?.[name];
    if (!factory) {
      throw new AgentError(
        'AGENT_CONFIG_INVALID',
        `Unknown containerizer '${name}': built in are mesos and docker; load others with --modules=FILE (a module exporting containerizers['${name}'])`,
      );
    }
    out.push(await factory({ ...ctx, isolators }));
  }
  if (out.length === 0) throw new AgentError('AGENT_CONFIG_INVALID', '--containerizers names none: give at least one, e.g. --containerizers=mesos');
  return out;
}
