import { resolve } from 'node:path';
import type { CniRequest, CniResponse } from '@ippc/core';
import { DEFAULT_NODE_DAEMON_SOCKET } from './handler.js';

// Why: a process that embeds the node daemon (ippc's Mesos agent) and runs the CNI chain itself
// would otherwise exec the `ippc-isolation` forwarder, which only sends the call back to this very
// process over the socket. Starting any process from Node costs more than the daemon's own work
// for an ADD, so the call is answered here, with the same request the forwarder would send and the
// same answer it would print. The plugin stays installed: other runtimes run it, and it runs here
// whenever this handler declines.

/** One plugin run (the CNI_* environment and stdin), as a CNI runtime's invoker hands it over. */
export interface CniPluginRun {
  env: Record<string, string>;
  stdin: string;
}

/** What the forwarder would have produced: exit code 0 with the result, or 1 with a CNI error JSON. */
export interface CniPluginOutput {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/** The part of the node daemon the in-process plugin uses. */
export interface InProcessCniTarget {
  readonly socketPath: string;
  readonly serving: boolean;
  cni(req: CniRequest): Promise<CniResponse>;
}

/**
 * The `ippc-isolation` plugin answered by `daemon` in this process, for a CNI runtime's in-process
 * seam (e.g. `createExecInvoker({ inProcess: { 'ippc-isolation': plugin } })` of
 * @ippc/network-isolator). Resolves `undefined` (run the binary instead) when the daemon is not
 * serving (the forwarder then reports that nobody answers, as it does today) or when the network
 * config names another daemon's socket (`socket`, default /run/ippc/isolation.sock).
 */
export function createInProcessCniPlugin(daemon: InProcessCniTarget): (run: CniPluginRun) => Promise<CniPluginOutput | undefined> {
  const mine = resolve(daemon.socketPath);
  return async (run) => {
    if (!daemon.serving) return undefined;
    let socket = DEFAULT_NODE_DAEMON_SOCKET;
    try {
      const config = JSON.parse(run.stdin) as { socket?: unknown };
      if (typeof config === 'object' && config !== null && typeof config.socket === 'string' && config.socket !== '') socket = config.socket;
    } catch {
      // Not JSON: the forwarder would send it to its default socket; the handler then says what is wrong.
    }
    if (resolve(socket) !== mine) return undefined;
    const e = run.env;
    const out = await daemon.cni({
      command: e.CNI_COMMAND ?? '',
      containerId: e.CNI_CONTAINERID ?? '',
      netns: e.CNI_NETNS ?? '',
      ifName: e.CNI_IFNAME ?? '',
      args: e.CNI_ARGS ?? '',
      stdin: run.stdin,
    });
    return { exitCode: out.status === 200 ? 0 : 1, stdout: out.body, stderr: '' };
  };
}
