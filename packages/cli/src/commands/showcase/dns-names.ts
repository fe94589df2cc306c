import { Resolver } from 'node:dns/promises';
import type { Cluster } from '@ippc/testbed';

/**
 * Discovery: each running task's Mesos-DNS name (`<task>.<framework>.<domain>`) asked of the
 * cluster's DNS, a few times while the DNS catches up with the master's state (it reads it every
 * 500 ms). Returns the answer per task id (`error: CODE` when none came).
 */
export async function resolveNames(
  cluster: Cluster,
  tasks: { id: string; name: string; framework: string; address?: string }[],
): Promise<Map<string, { name: string; answer: string }>> {
  const resolver = new Resolver({ timeout: 1000, tries: 1 });
  resolver.setServers([cluster.dns.address]);
  const out = new Map<string, { name: string; answer: string }>();
  await Promise.all(
    tasks.map(async (t) => {
      const name = `${t.name}.${t.framework}.${cluster.config.dns.domain}`;
      let answer = '';
      for (let attempt = 0; attempt < 6; attempt++) {
        try {
          answer = (await resolver.resolve4(name)).join(',');
          if (!t.address || answer.split(',').includes(t.address)) break;
        } catch (err) {
          answer = `error: ${(err as { code?: string }).code ?? (err as Error).message}`;
        }
        await new Promise((r) => setTimeout(r, 500));
      }
      out.set(t.id, { name, answer });
    }),
  );
  return out;
}
