import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Containerizer, Isolator, Logger } from '@ippc/core';
import { createMesosContainerizer } from '@ippc/mesos-containerizer';
import { AgentError } from './errors.js';

// How the agent binary gets its containerizers and isolators (Mesos: `--containerizers`,
// `--isolation`, `--modules`). `mesos` is built in; anything else comes from a module file: an ES
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
}

export type IsolatorFactory = (ctx: ModuleContext) => Isolator | Promise<Isolator>;
export type ContainerizerFactory = (ctx: ModuleContext) => Containerizer | Promise<Containerizer>;

export interface AgentModules {
  isolators?: Record<string, IsolatorFactory>;
  containerizers?: Record<string, ContainerizerFactory>;
}

/** Built into every agent: the Mesos containerizer with the `--isolation` isolators. */
export const BUILTIN_MODULES: AgentModules = {
  containerizers: {
    mesos: (ctx) => createMesosContainerizer({ runtimeDir: ctx.runtimeDir, isolators: ctx.isolators, log: ctx.log.child({ containerizer: 'mesos' }) }),
  },
};

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
      throw new AgentError('AGENT_CONFIG_INVALID', `Unknown isolator '${name}': load it with --modules=FILE (a module exporting isolators['${name}']); known: ${Object.keys(modules.isolators ?? {}).join(', ') || 'none'}`);
    }
    isolators.push(await factory({ ...ctx, isolators: [] }));
  }
  const out: Containerizer[] = [];
  for (const name of containerizerNames) {
    const factory = modules.containerizers?.[name];
    if (!factory) {
      throw new AgentError('AGENT_CONFIG_INVALID', `Unknown containerizer '${name}': built in is mesos; load others with --modules=FILE (a module exporting containerizers['${name}'])`);
    }
    out.push(await factory({ ...ctx, isolators }));
  }
  if (out.length === 0) throw new AgentError('AGENT_CONFIG_INVALID', '--containerizers names none: give at least one, e.g. --containerizers=mesos');
  return out;
}
