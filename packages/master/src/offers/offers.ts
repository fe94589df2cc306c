import { allocateResources, frameworkRole } from '@ippc/mesos';
import { schedulerv1, type Offer, type Resource } from '@ippc/proto';
import { sendToFramework, type AgentEntry, type FrameworkEntry, type MasterContext, type OfferEntry } from '../model.js';

const { Event_Type } = schedulerv1;

// Outstanding offers: made to one framework for one agent's free resources, then accepted,
// declined (with a refusal filter), rescinded, or timed out (`--offer_timeout`).

/** Makes an offer of `available` on `agent` to `f` and records it (the caller sends it). */
export function makeOffer(m: MasterContext, f: FrameworkEntry, agent: AgentEntry, available: Resource[]): Offer {
  const id = `${m.id}-O${m.sequence.offer++}`;
  const role = frameworkRole(f.info);
  const [host, portText] = agent.pid.replace(/^[^@]*@/, '').split(':');
  const offer: Offer = {
    id: { value: id },
    frameworkId: { value: f.id },
    agentId: { value: agent.id },
    hostname: agent.info.hostname ?? '',
    url: { scheme: 'http', address: { hostname: agent.info.hostname, ip: host, port: Number(portText ?? 5051) }, path: '/slave(1)', query: [] },
    resources: allocateResources(available, role),
    attributes: agent.info.attributes ?? [],
    executorIds: [...(agent.executors.get(f.id)?.keys() ?? [])].map((value) => ({ value })),
    allocationInfo: { role },
  };
  const entry: OfferEntry = { offer, frameworkId: f.id, agentId: agent.id };
  if (m.settings.offerTimeoutMs !== undefined) {
    entry.timer = setTimeout(() => rescindOffer(m, id), m.settings.offerTimeoutMs);
    entry.timer.unref();
  }
  m.offers.set(id, entry);
  f.offers.add(id);
  agent.offers.add(id);
  return offer;
}

/** Takes an offer back; the framework gets RESCIND when `tell`. */
export function removeOffer(m: MasterContext, offerId: string, tell: boolean): OfferEntry | undefined {
  const o = m.offers.get(offerId);
  if (!o) return undefined;
  if (o.timer) clearTimeout(o.timer);
  m.offers.delete(offerId);
  m.frameworks.get(o.frameworkId)?.offers.delete(offerId);
  m.agents.get(o.agentId)?.offers.delete(offerId);
  if (tell) {
    m.counters.offersRescinded++;
    const f = m.frameworks.get(o.frameworkId);
    if (f) sendToFramework(f, { type: Event_Type.RESCIND, rescind: { offerId: { value: offerId } } });
  }
  m.changed();
  return o;
}

/** Takes an offer back, tells its framework, and offers the resources again. */
export function rescindOffer(m: MasterContext, offerId: string): void {
  if (removeOffer(m, offerId, true)) m.scheduleAllocation();
}

/** Sets the framework's refusal filter for the agent after a DECLINE or a partly used ACCEPT. */
export function refuse(f: FrameworkEntry, agentId: string, refuseSeconds: number | undefined): void {
  // Mesos's Filters.refuse_seconds: default 5 s, negative means the default; 0 sets no filter.
  const seconds = refuseSeconds === undefined || refuseSeconds < 0 ? 5 : Math.min(refuseSeconds, 365 * 24 * 3600);
  if (seconds > 0) f.filters.set(agentId, Date.now() + seconds * 1000);
}

/** DECLINE: the offers go back to the pool, refused to this framework for a while. */
export function decline(m: MasterContext, f: FrameworkEntry, offerIds: string[], refuseSeconds: number | undefined): void {
  for (const id of offerIds) {
    const o = m.offers.get(id);
    if (!o || o.frameworkId !== f.id) {
      m.log.warn({ frameworkId: f.id, offerId: id }, 'ignoring decline of an offer that is no longer valid');
      continue;
    }
    removeOffer(m, id, false);
    m.counters.offersDeclined++;
    refuse(f, o.agentId, refuseSeconds);
  }
  m.scheduleAllocation();
}
