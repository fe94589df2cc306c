import { addResources, isTerminalState, scalarOf, subtractResources, unallocateResources } from '@ippc/mesos';
import { schedulerv1, type Offer, type Resource } from '@ippc/proto';
import { sendToFramework, type AgentEntry, type FrameworkEntry, type MasterContext } from '../model.js';
import { makeOffer } from './offers.js';

const { Event_Type } = schedulerv1;

// The allocator: what each agent has free, and who gets it. Mesos's hierarchical DRF allocator,
// reduced to what ippc needs: one offer per agent per run to the framework with the lowest dominant
// share that neither filters nor suppresses the agent.

/** Mesos's allocatable minimum (master/constants.hpp: MIN_CPUS 0.01, MIN_MEM 32 MB). */
const allocatable = (r: readonly Resource[]): boolean => scalarOf(r, 'cpus') >= 0.01 || scalarOf(r, 'mem') >= 32;

/** What an agent has neither used nor offered, without allocation info. */
export function available(m: MasterContext, agent: AgentEntry): Resource[] {
  return subtractResources(subtractResources(agent.total, used(m, agent)), offered(m, agent));
}

/** Resources of the agent's non-terminal tasks and custom executors, without allocation info. */
export function used(m: MasterContext, agent: AgentEntry): Resource[] {
  let out: Resource[] = [];
  for (const f of m.frameworks.values()) {
    for (const t of f.tasks.values()) {
      if (t.agentId?.value === agent.id && !isTerminalState(t.state)) out = addResources(out, unallocateResources(t.resources ?? []));
    }
  }
  for (const byId of agent.executors.values()) for (const e of byId.values()) out = addResources(out, unallocateResources(e.resources ?? []));
  return out;
}

/** Resources of the agent's outstanding offers, without allocation info. */
export function offered(m: MasterContext, agent: AgentEntry): Resource[] {
  let out: Resource[] = [];
  for (const id of agent.offers) {
    const o = m.offers.get(id);
    if (o) out = addResources(out, unallocateResources(o.offer.resources ?? []));
  }
  return out;
}

/** Allocated share of the cluster (DRF's dominant share over cpus and mem). */
function share(m: MasterContext, f: FrameworkEntry): number {
  let cpus = 0;
  let mem = 0;
  let totalCpus = 0;
  let totalMem = 0;
  for (const a of m.agents.values()) {
    totalCpus += scalarOf(a.total, 'cpus');
    totalMem += scalarOf(a.total, 'mem');
  }
  for (const t of f.tasks.values()) {
    if (isTerminalState(t.state)) continue;
    cpus += scalarOf(t.resources ?? [], 'cpus');
    mem += scalarOf(t.resources ?? [], 'mem');
  }
  for (const id of f.offers) {
    const o = m.offers.get(id);
    cpus += scalarOf(o?.offer.resources ?? [], 'cpus');
    mem += scalarOf(o?.offer.resources ?? [], 'mem');
  }
  return Math.max(totalCpus ? cpus / totalCpus : 0, totalMem ? mem / totalMem : 0);
}

/** Subscribed frameworks that may be offered the agent now (not suppressed, not filtering it). */
function candidatesFor(m: MasterContext, agentId: string, t: number): FrameworkEntry[] {
  return [...m.frameworks.values()].filter((f) => {
    if (!f.conn || f.suppressed) return false;
    const until = f.filters.get(agentId);
    if (until !== undefined && until > t) return false;
    if (until !== undefined) f.filters.delete(agentId);
    return true;
  });
}

/**
 * One allocation run: each connected agent's free resources go, as one offer, to the subscribed
 * framework with the lowest dominant share that neither filters nor suppresses it.
 */
export function allocate(m: MasterContext): void {
  if (m.stopped) return;
  const t = Date.now();
  const batches = new Map<FrameworkEntry, Offer[]>();
  for (const agent of m.agents.values()) {
    if (!agent.conn) continue;
    const free = available(m, agent);
    if (!allocatable(free)) continue;
    const candidates = candidatesFor(m, agent.id, t);
    if (candidates.length === 0) continue;
    candidates.sort((a, b) => share(m, a) - share(m, b) || a.registeredTime - b.registeredTime);
    const f = candidates[0]!;
    const offer = makeOffer(m, f, agent, free);
    batches.set(f, [...(batches.get(f) ?? []), offer]);
  }
  for (const [f, offers] of batches) {
    m.counters.offersSent += offers.length;
    sendToFramework(f, { type: Event_Type.OFFERS, offers: { offers } });
  }
  if (batches.size > 0) m.changed();
}
