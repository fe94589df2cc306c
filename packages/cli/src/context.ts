import { attachCluster, listClusters, removeCluster, startCluster } from '@ippc/testbed';

/**
 * What the commands need from the testbed, in one object so specs can hand in fakes (the real
 * thing is exercised by the integration tests through the `ippc` binary).
 */
export interface Testbed {
  startCluster: typeof startCluster;
  attachCluster: typeof attachCluster;
  listClusters: typeof listClusters;
  removeCluster: typeof removeCluster;
}

export const realTestbed: Testbed = { startCluster, attachCluster, listClusters, removeCluster };

/** The cluster a command works on: the flag, else `IPPC_CLUSTER`, else `ippc` (the cluster file's default name). */
export function clusterName(flag: string | undefined): string {
  return flag ?? process.env.IPPC_CLUSTER ?? 'ippc';
}

/** Where text for people goes while a command runs (progress); results go to standard output. */
export type Progress = (line: string) => void;

export const stderrProgress: Progress = (line) => process.stderr.write(`${line}\n`);
