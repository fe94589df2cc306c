import { randomBytes, randomUUID } from 'node:crypto';
import Docker from 'dockerode';
import { compileConfig, type ClusterConfig } from '../config.js';
import { defaultWorkspaceDir } from '../workspace.js';
import type { StartClusterOptions, StartPhase } from './options.js';

/** What every action of a start reads: the options compiled once, the deadline, the clock. */
export interface CreateContext {
  readonly options: StartClusterOptions;
  readonly docker: Docker;
  readonly config: ClusterConfig;
  readonly workspaceDir: string;
  /** Test clusters: `s-<uuid>`, on everything they create (the session reaper removes it); detached clusters: none. */
  readonly session: string | undefined;
  /** Readiness deadline of the whole start (epoch ms). */
  readonly deadline: number;
  /** The token the components share; none with authentication disabled. */
  readonly token: string | undefined;
  /** When the start began (`performance.now()`). */
  readonly t0: number;
  /** Per phase, in milliseconds, and the moments marked on the way. */
  readonly timings: Record<string, number>;
  /** Runs one phase, timing it and telling `onProgress` when it starts and ends. */
  phase<T>(name: StartPhase, fn: () => Promise<T>): Promise<T>;
  /** Records now (ms since the start) under `key` (`<node> started at`, `<daemon> ready at`). */
  mark(key: string): void;
}

export function createContext(options: StartClusterOptions): CreateContext {
  const t0 = performance.now();
  const timings: Record<string, number> = {};
  const phase = async <T>(name: StartPhase, fn: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    options.onProgress?.({ phase: name, status: 'start' });
    const out = await fn();
    timings[name] = Math.round(performance.now() - t);
    options.onProgress?.({ phase: name, status: 'done', ms: timings[name] });
    return out;
  };
  const docker = options.docker ?? new Docker();
  const config = compileConfig({
    ...(options.config ?? {}),
    ...(options.name ? { name: options.name } : {}),
    ...(options.agents ? { agents: options.agents } : {}),
  });
  const workspaceDir = options.workspaceDir ?? defaultWorkspaceDir();
  const session = options.detached ? undefined : `s-${randomUUID()}`;
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  const token = config.auth.disabled ? undefined : (config.auth.token ?? randomBytes(24).toString('base64url'));
  const mark = (key: string) => (timings[key] = Math.round(performance.now() - t0));
  return { options, docker, config, workspaceDir, session, deadline, token, t0, timings, phase, mark };
}
