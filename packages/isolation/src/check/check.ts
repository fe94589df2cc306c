import { sleep } from '@ippc/core';
import type { Rule } from '../model.js';
import { decide, type Peer, type Traffic } from '../policy.js';

// The reachability check behind `ippc net check`: the expected matrix from the policy, every pair
// probed in parallel, a positive control per row, one retry of mismatches, and a report.

export type EndpointKind = 'container' | 'host-task' | 'agent';

/** Something that can open and accept connections: a container, a host-network task, an agent. */
export interface Endpoint {
  /** Unique, short: a row/column label (`a1/web-1`, `a2`, `a2/task-x`). */
  id: string;
  kind: EndpointKind;
  /** The agent it runs on (an agent endpoint: itself). */
  agentId: string;
  /** The address others connect to: the container's own, or the agent's for host endpoints. */
  address: string;
  /** The port its probe server listens on. Default: the check's port. */
  port?: number;
  /** `NetworkInfo.groups` of a container; empty for hosts and containers that named none. */
  groups: string[];
}

export interface ProbeResult {
  /** The target's probe server answered (and was the target that was meant). */
  reachable: boolean;
  /** `connected`, `timeout`, `refused`, `wrong target: <id>`, an error code... */
  detail?: string;
}

/**
 * The one thing `net check` needs from a cluster: open a TCP connection from inside one endpoint
 * (its network namespace) to another endpoint's address and port, within `timeoutMs`.
 * Implementations: {@link createNamespaceProber} (scratch namespaces); a cluster runs the same
 * probe agent inside its agent containers and container namespaces.
 */
export interface Prober {
  probe(from: Endpoint, to: Endpoint, port: number, options: { timeoutMs: number }): Promise<ProbeResult>;
}

export interface NetCheckOptions {
  endpoints: Endpoint[];
  /** The operator rules in force (the defaults are built in). */
  rules: Rule[];
  prober: Prober;
  /** Port probed when an endpoint names none. Default 8080. */
  port?: number;
  /** Protocol the probes use (rules are matched with it). Default tcp. */
  protocol?: Traffic['protocol'];
  /** Probes in flight at once. Default 16. */
  concurrency?: number;
  /** Per probe. Default 1000 ms. */
  timeoutMs?: number;
  /** Re-probes of mismatching cells. Default 1. */
  retries?: number;
  /** Pause before a retry round (lets a change settle). Default 250 ms. */
  retryDelayMs?: number;
  /** Row id → id of its known-open target; default: a host endpoint (hosts are never isolated). */
  controls?: Record<string, string>;
  /** Called after each probe, for progress output. */
  onProbe?: (done: number, total: number) => void;
}

export interface Mismatch {
  from: string;
  to: string;
  expected: boolean;
  observed: boolean;
  /** Why the policy expects what it expects. */
  reason: string;
  /** What the probe saw. */
  detail: string;
}

export interface RowStatus {
  id: string;
  /** The known-open target probed as the row's positive control. */
  control?: string;
  /** `unknown`: the control failed, so a blocked cell in this row proves nothing. */
  status: 'ok' | 'unknown' | 'no-control';
}

export interface CheckReport {
  endpoints: Endpoint[];
  port: number;
  protocol: Traffic['protocol'];
  /** [from][to] in `endpoints` order; the diagonal is `null`. */
  expected: (boolean | null)[][];
  reasons: string[][];
  /** [from][to]: null on the diagonal and in unknown rows. */
  observed: (boolean | null)[][];
  details: string[][];
  rows: RowStatus[];
  mismatches: Mismatch[];
  counts: { cells: number; probes: number; expectedAllowed: number; observedAllowed: number; mismatches: number; unknownRows: number; retried: number };
  /** `fail`: a mismatch in a row whose control passed; `inconclusive`: no mismatch but unknown rows. */
  status: 'pass' | 'fail' | 'inconclusive';
  durationMs: number;
}

export function peerOf(e: Endpoint): Peer {
  return e.kind === 'container' ? { kind: 'member', agentId: e.agentId, groups: e.groups } : { kind: 'host', agentId: e.agentId, groups: [] };
}

/** The expected matrix from the policy: [from][to] allowed, with the reason. */
export function expectedMatrix(
  endpoints: Endpoint[],
  rules: Rule[],
  port: number,
  protocol: Traffic['protocol'] = 'tcp',
): { allowed: (boolean | null)[][]; reasons: string[][] } {
  const allowed: (boolean | null)[][] = [];
  const reasons: string[][] = [];
  endpoints.forEach((from, i) => {
    allowed.push([]);
    reasons.push([]);
    endpoints.forEach((to, j) => {
      if (i === j) {
        allowed[i]!.push(null);
        reasons[i]!.push('self');
        return;
      }
      const v = decide(rules, peerOf(from), peerOf(to), { protocol, port: to.port ?? port });
      allowed[i]!.push(v.allowed);
      reasons[i]!.push(v.reason);
    });
  });
  return { allowed, reasons };
}

/** The control target of each row: a host endpoint the row is expected to reach, nearest first. */
export function chooseControls(endpoints: Endpoint[], expected: (boolean | null)[][], overrides: Record<string, string> = {}): (number | undefined)[] {
  return endpoints.map((from, i) => {
    const given = overrides[from.id];
    if (given !== undefined) {
      const j = endpoints.findIndex((e) => e.id === given);
      return j >= 0 && j !== i ? j : undefined;
    }
    const candidates = endpoints
      .map((to, j) => ({ to, j }))
      .filter(({ j }) => j !== i && expected[i]![j] === true)
      // Hosts are never isolated: a failed probe to one means the source (or its prober) is broken.
      .sort((a, b) => rank(from, a.to) - rank(from, b.to) || a.j - b.j);
    return candidates[0]?.j;
  });
}

function rank(from: Endpoint, to: Endpoint): number {
  const host = to.kind !== 'container';
  if (host && to.agentId === from.agentId) return 0;
  if (host) return 1;
  if (to.groups.length === 0) return 2;
  return 3;
}

/** Runs `tasks` with at most `limit` in flight. */
async function pool<T>(tasks: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array<T>(tasks.length);
  let next = 0;
  const workers = Array.from({ length: Math.max(1, Math.min(limit, tasks.length)) }, async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]!();
    }
  });
  await Promise.all(workers);
  return results;
}

/**
 * Probes every ordered pair of endpoints and compares with the policy.
 *
 * @example
 * ```ts
 * const report = await runNetCheck({ endpoints, rules: await client.listRules(), prober });
 * console.log(formatCheckText(report));
 * ```
 */
export async function runNetCheck(options: NetCheckOptions): Promise<CheckReport> {
  const started = performance.now();
  const { endpoints } = options;
  const port = options.port ?? 8080;
  const protocol = options.protocol ?? 'tcp';
  const ids = new Set<string>();
  for (const e of endpoints) {
    if (ids.has(e.id)) throw new Error(`endpoint id '${e.id}' is used twice: ids label rows and columns and must be unique`);
    ids.add(e.id);
  }
  const { allowed: expected, reasons } = expectedMatrix(endpoints, options.rules, port, protocol);
  const cells: [number, number][] = [];
  endpoints.forEach((_, i) => endpoints.forEach((__, j) => i !== j && cells.push([i, j])));
  const { observed, details, probes, retried } = await probeCells(options, cells, expected, port);
  const { rows, mismatches } = judge(endpoints, cells, expected, reasons, observed, details, options.controls);
  const unknownRows = rows.filter((r) => r.status === 'unknown').length;
  const count = (m: (boolean | null)[][]) => m.flat().filter((v) => v === true).length;
  return {
    endpoints,
    port,
    protocol,
    expected,
    reasons,
    observed,
    details,
    rows,
    mismatches,
    counts: {
      cells: cells.length,
      probes,
      expectedAllowed: count(expected),
      observedAllowed: count(observed),
      mismatches: mismatches.length,
      unknownRows,
      retried,
    },
    status: mismatches.length > 0 ? 'fail' : unknownRows > 0 ? 'inconclusive' : 'pass',
    durationMs: performance.now() - started,
  };
}

/** Probes every cell, then once more each one that disagrees with the policy. */
async function probeCells(options: NetCheckOptions, cells: [number, number][], expected: (boolean | null)[][], port: number) {
  const { endpoints } = options;
  const timeoutMs = options.timeoutMs ?? 1_000;
  const observed: (boolean | null)[][] = endpoints.map(() => endpoints.map(() => null));
  const details: string[][] = endpoints.map(() => endpoints.map(() => ''));
  let probes = 0;
  const probeCell = async ([i, j]: [number, number]) => {
    const from = endpoints[i]!;
    const to = endpoints[j]!;
    let res: ProbeResult;
    try {
      res = await options.prober.probe(from, to, to.port ?? port, { timeoutMs });
    } catch (err) {
      res = { reachable: false, detail: `probe failed: ${(err as Error).message}` };
    }
    probes += 1;
    observed[i]![j] = res.reachable;
    details[i]![j] = res.detail ?? (res.reachable ? 'connected' : 'blocked');
    options.onProbe?.(probes, cells.length);
  };
  await pool(
    cells.map((c) => () => probeCell(c)),
    options.concurrency ?? 16,
  );

  // One retry of what disagrees with the policy (kubernetes netpol e2e: probe, retry once, report).
  let retried = 0;
  for (let round = 0; round < (options.retries ?? 1); round++) {
    const wrong = cells.filter(([i, j]) => observed[i]![j] !== expected[i]![j]);
    if (wrong.length === 0) break;
    retried += wrong.length;
    await sleep(options.retryDelayMs ?? 250);
    await pool(
      wrong.map((c) => () => probeCell(c)),
      options.concurrency ?? 16,
    );
  }
  return { observed, details, probes, retried };
}

/**
 * Each row's control (a pair the policy allows that must connect, or the row is unknown), and the
 * cells of known rows that disagree with the policy. Unknown rows are blanked in `observed`.
 */
function judge(
  endpoints: Endpoint[],
  cells: [number, number][],
  expected: (boolean | null)[][],
  reasons: string[][],
  observed: (boolean | null)[][],
  details: string[][],
  pinned: NetCheckOptions['controls'],
): { rows: RowStatus[]; mismatches: Mismatch[] } {
  const controls = chooseControls(endpoints, expected, pinned);
  const rows: RowStatus[] = endpoints.map((e, i) => {
    const c = controls[i];
    if (c === undefined) return { id: e.id, status: 'no-control' };
    return { id: e.id, control: endpoints[c]!.id, status: observed[i]![c] === true ? 'ok' : 'unknown' };
  });
  const mismatches: Mismatch[] = [];
  cells.forEach(([i, j]) => {
    if (rows[i]!.status === 'unknown') return;
    if (observed[i]![j] !== expected[i]![j]) {
      mismatches.push({
        from: endpoints[i]!.id,
        to: endpoints[j]!.id,
        expected: expected[i]![j]!,
        observed: observed[i]![j]!,
        reason: reasons[i]![j]!,
        detail: details[i]![j]!,
      });
    }
  });
  rows.forEach((r, i) => {
    if (r.status === 'unknown') for (let j = 0; j < endpoints.length; j++) observed[i]![j] = null;
  });
  return { rows, mismatches };
}
