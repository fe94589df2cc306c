import { isTerminalState } from '@ippc/mesos';
import { AgentInfo_Capability_Type, type ExecutorInfo, type Offer, type Resource } from '@ippc/proto';
import type { FrameworkEntry, Master } from '../master.js';

// Readings of the master's records that more than one view needs: the state JSON (state.ts,
// tasks.ts, snapshot.ts) and the operator API's responses and events (operator-*.ts).

/** What every ippc agent can do, as the master reports it (Mesos's `AgentInfo.Capability`). */
export const AGENT_CAPABILITIES = [
  AgentInfo_Capability_Type.MULTI_ROLE,
  AgentInfo_Capability_Type.HIERARCHICAL_ROLE,
  AgentInfo_Capability_Type.RESERVATION_REFINEMENT,
] as const;

/** Every framework the master knows: the subscribed ones (connected or not, recovered too), then the completed. */
export function knownFrameworks(master: Master): FrameworkEntry[] {
  return [...master.frameworkEntries(), ...master.completedFrameworks];
}

/** The framework's outstanding offers. */
export function frameworkOffers(master: Master, f: FrameworkEntry): Offer[] {
  return [...f.offers].flatMap((id) => {
    const o = master.offers.get(id);
    return o ? [o.offer] : [];
  });
}

/** What the framework's non-terminal tasks use, as recorded (with their allocation info). */
export function frameworkUsed(f: FrameworkEntry): Resource[] {
  return [...f.tasks.values()].filter((t) => !isTerminalState(t.state)).flatMap((t) => t.resources ?? []);
}

/** The framework's custom executors on every agent, with the agent's id. */
export function frameworkExecutors(master: Master, f: FrameworkEntry): { agentId: string; executor: ExecutorInfo }[] {
  return master.agentEntries().flatMap((a) => [...(a.executors.get(f.id)?.values() ?? [])].map((executor) => ({ agentId: a.id, executor })));
}
