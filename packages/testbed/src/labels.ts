/**
 * Labels are the truth for what the testbed owns (style lesson 4): every container, network and
 * volume it creates carries them, and teardown, the reaper and CI clean up by them alone.
 */
export const LABEL = {
  /** On everything ippc creates: `ippc`. */
  owner: 'org.ippc.owner',
  /** The cluster's name. */
  cluster: 'org.ippc.cluster',
  /** A test session whose resources the reaper removes when the session's process goes away. */
  session: 'org.ippc.session',
  /** master | services (IPAM, isolation provider, DNS) | agent | reaper | network | docker-network */
  role: 'org.ippc.role',
  /** `true` on clusters that must outlive the command that started them (`ippc cluster up`). */
  retain: 'org.ippc.retain',
  /** An agent's index (0-based) in its cluster. */
  index: 'org.ippc.index',
  /** A node's address on the cluster network. */
  address: 'org.ippc.address',
  /** The daemons a node runs, as JSON `[{name, argv, probe}]`, so an attached cluster can restart them. */
  daemons: 'org.ippc.daemons',
  /** On the cluster network: the compiled cluster config, as JSON. */
  config: 'org.ippc.config',
} as const;

export const OWNER = 'ippc';

export function labelsFor(cluster: string, role: string, session?: string, retain = false): Record<string, string> {
  return {
    [LABEL.owner]: OWNER,
    [LABEL.cluster]: cluster,
    [LABEL.role]: role,
    ...(session ? { [LABEL.session]: session } : {}),
    ...(retain ? { [LABEL.retain]: 'true' } : {}),
  };
}
