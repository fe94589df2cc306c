// Mesos's offer validation (src/master/validation.cpp `offer::`).

/** What offer validation needs to know about an outstanding offer. */
export interface OfferFacts {
  frameworkId: string;
  agentId: string;
  role: string;
}

/** `validation::offer::validate`: unique, outstanding, this framework's, one role, one agent. */
export function validateOffers(offerIds: readonly string[], lookup: (id: string) => OfferFacts | undefined, frameworkId: string): string | undefined {
  const seen = new Set<string>();
  for (const id of offerIds) {
    if (seen.has(id)) return `Duplicate offer ${id} in offer list`;
    seen.add(id);
  }
  for (const id of offerIds) if (!lookup(id)) return `Offer ${id} is no longer valid`;
  for (const id of offerIds) {
    const o = lookup(id)!;
    if (o.frameworkId !== frameworkId) return `Offer ${id} has invalid framework ${o.frameworkId} while framework ${frameworkId} is expected`;
  }
  let role: string | undefined;
  for (const id of offerIds) {
    const o = lookup(id)!;
    if (role === undefined) role = o.role;
    else if (o.role !== role)
      return `Aggregated offers must be allocated to the same role. Offer ${id} uses role '${o.role} but another is using role '${role}`;
  }
  let agent: string | undefined;
  for (const id of offerIds) {
    const o = lookup(id)!;
    if (agent === undefined) agent = o.agentId;
    if (o.agentId !== agent) return `Aggregated offers must belong to one single agent. Offer ${id} uses agent ${o.agentId} and agent ${agent}`;
  }
  return undefined;
}
