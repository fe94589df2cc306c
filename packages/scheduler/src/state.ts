import { sleep } from '@ippc/core';
import { SchedulerError } from './errors.js';
import type { AgentStateJson, MasterStateJson } from '@ippc/mesos';

// Readers of the state endpoints, for tools that follow the cluster (DNS, the CLI, tests).

/** `GET /master/state` (or an agent's `/state` with `path`), with the state version the master sent. */
export async function fetchMasterState(
  url: string,
  options: { since?: number; timeoutSeconds?: number; signal?: AbortSignal } = {},
): Promise<{ state: MasterStateJson; version: number }> {
  const u = new URL('/master/state', url);
  if (options.since !== undefined) {
    u.searchParams.set('since', String(options.since));
    u.searchParams.set('timeout', String(options.timeoutSeconds ?? 30));
  }
  let res: Response;
  try {
    res = await fetch(u, { signal: options.signal ?? AbortSignal.timeout(((options.timeoutSeconds ?? 30) + 10) * 1000) });
  } catch (err) {
    throw new SchedulerError('STATE_UNAVAILABLE', `cannot read ${u.href}: ${(err as Error).message}`, { cause: err });
  }
  if (!res.ok) throw new SchedulerError('STATE_UNAVAILABLE', `${u.href} answered HTTP ${res.status}`);
  const state = (await res.json()) as MasterStateJson;
  if (!Array.isArray(state.frameworks) || !Array.isArray(state.slaves)) throw new SchedulerError('STATE_UNAVAILABLE', `${u.href} is not a Mesos master state`);
  return { state, version: Number(res.headers.get('ippc-state-version') ?? -1) };
}

/** `GET /state` of an agent. */
export async function fetchAgentState(url: string, signal?: AbortSignal): Promise<AgentStateJson> {
  const u = new URL('/state', url);
  let res: Response;
  try {
    res = await fetch(u, { signal: signal ?? AbortSignal.timeout(10_000) });
  } catch (err) {
    throw new SchedulerError('STATE_UNAVAILABLE', `cannot read ${u.href}: ${(err as Error).message}`, { cause: err });
  }
  if (!res.ok) throw new SchedulerError('STATE_UNAVAILABLE', `${u.href} answered HTTP ${res.status}`);
  return (await res.json()) as AgentStateJson;
}

/**
 * Calls `onState` with the master's state now and after every change, using the master's long
 * poll (`/master/state?since=<version>&timeout=<s>`), until `signal` aborts. Errors (master down)
 * are passed to `onError` and retried after `retryMs`.
 */
export async function watchMasterState(
  url: string,
  onState: (state: MasterStateJson, version: number) => void | Promise<void>,
  options: { signal: AbortSignal; timeoutSeconds?: number; retryMs?: number; onError?: (err: Error) => void },
): Promise<void> {
  let since: number | undefined;
  while (!options.signal.aborted) {
    try {
      const { state, version } = await fetchMasterState(url, {
        ...(since !== undefined ? { since } : {}),
        timeoutSeconds: options.timeoutSeconds ?? 30,
        signal: options.signal,
      });
      if (since === undefined || version !== since) await onState(state, version);
      since = version;
    } catch (err) {
      if (options.signal.aborted) return;
      options.onError?.(err as Error);
      since = undefined;
      await sleep(options.retryMs ?? 1000);
    }
  }
}
