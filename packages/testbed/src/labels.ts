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
  /** master | agent | ipam | isolation | dns | reaper | task */
  role: 'org.ippc.role',
  /** `true` on clusters that must outlive the command that started them (`ippc cluster up`). */
  retain: 'org.ippc.retain',
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
