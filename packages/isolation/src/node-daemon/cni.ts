import { createCniDaemon, type CniDaemon, type CniRequest, type CniResponse } from '@ippc/core';
import { CNI_URL_PATH, handleCni, type CniBackend, type CniTrace } from '../cni/handler.js';
import { IsolationError } from '../errors.js';
import type { NodeDaemonContext } from './context.js';
import { attach, check, detach } from './members.js';
import { endpoints } from './status.js';

// The CNI side: the socket the chained `ippc-isolation` plugin forwards to (@ippc/core's CNI
// daemon), the same handling for a call made in process, and where each call's time went.

/** CNI calls whose phase timings `GET /timings` shows. */
const TIMINGS_KEPT = 256;

/** The daemon's CNI side: its socket, and one call answered as the socket answers it. */
export interface NodeDaemonCni {
  readonly daemon: CniDaemon;
  /**
   * One CNI call, from the socket or in process: `received` names the phase up to now (reading
   * the body; none in process), `answer` hands the response out before the bookkeeping.
   */
  serve(req: CniRequest, started: number, received: string | undefined, answer: (out: CniResponse) => void): Promise<CniResponse>;
}

function backendOf(ctx: NodeDaemonContext): CniBackend {
  return {
    attach: (member, trace) => attach(ctx, member, trace),
    detach: (key, trace) => detach(ctx, key, trace),
    check: (member) => check(ctx, member),
    async gc(network, valid) {
      const keep = new Set(valid.map((v) => `${v.containerId}/${v.ifName}`));
      for (const m of [...ctx.local.values()]) if (m.network === network && !keep.has(`${m.containerId}/${m.ifName}`)) await detach(ctx, m);
    },
    async status() {
      if (!ctx.connected)
        throw new IsolationError(
          'ISOLATION_UNAVAILABLE',
          `agent ${ctx.me} is not connected to the isolation service${ctx.lastError ? `: ${ctx.lastError}` : ''}`,
        );
    },
  };
}

function phaseTrace(ctx: NodeDaemonContext, command: string, started: number): CniTrace & { done(): void } {
  let last = started;
  const phases: Record<string, number> = {};
  return {
    mark(phase) {
      const now = performance.now();
      phases[phase] = (phases[phase] ?? 0) + (now - last);
      last = now;
    },
    note(part, ms) {
      phases[part] = ms;
    },
    // Observed once the answer is out: the histogram's own cost stays off the CNI path.
    done() {
      for (const [phase, ms] of Object.entries(phases)) ctx.metrics.cniPhaseSeconds.observe({ command, phase }, ms / 1000);
      ctx.timings.push({ command, phases });
      if (ctx.timings.length > TIMINGS_KEPT) ctx.timings.shift();
    },
  };
}

export function createNodeDaemonCni(ctx: NodeDaemonContext): NodeDaemonCni {
  const backend = backendOf(ctx);
  const { cniSeconds, cniRequests } = ctx.metrics;
  async function serve(req: CniRequest, started: number, received: string | undefined, answer: (out: CniResponse) => void): Promise<CniResponse> {
    const { command } = req;
    const trace = command === 'ADD' || command === 'DEL' ? phaseTrace(ctx, command, started) : undefined;
    if (received) trace?.mark(received);
    const out = await handleCni(req, backend, ctx.me, trace);
    cniSeconds.observe({ command }, (performance.now() - started) / 1000);
    cniRequests.inc({ command, result: out.status === 200 ? 'ok' : 'error' });
    if (out.status !== 200) ctx.log.warn({ command, containerId: req.containerId, error: out.body }, 'CNI call failed');
    answer(out);
    trace?.mark('answer');
    if (trace) setImmediate(() => trace.done());
    return out;
  }
  const daemon = createCniDaemon({
    socketPath: ctx.socketPath,
    path: CNI_URL_PATH,
    handle: (req, call) => serve(req, call.startedAt, 'body', call.answer),
    serve: endpoints(ctx),
    log: ctx.log,
  });
  return { daemon, serve };
}
