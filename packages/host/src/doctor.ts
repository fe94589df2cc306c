import { statfs } from 'node:fs/promises';
import { planBootstrap, type Action, type Plan } from './bootstrap.js';
import { dockerVersion } from './docker.js';
import { run } from './exec.js';

/** One thing `doctor` looked at. */
export interface Check {
  id: string;
  /** `ok`, `missing` (bootstrap can fix it), `fail` (needs a hand), `warn` (works, with a caveat). */
  status: 'ok' | 'missing' | 'fail' | 'warn';
  what: string;
  /** What was seen, e.g. a version or the error a probe printed. */
  detail?: string;
  /** How to fix it. */
  fix?: string;
}

export interface Diagnosis {
  checks: Check[];
  /** True when nothing is `fail` or `missing`: ippc can run a cluster here. */
  ready: boolean;
  plan: Plan;
}

/** A probe that runs a shell snippet in a throwaway network namespace, so it changes nothing on the host. */
async function inScratchNetns(script: string): Promise<{ ok: boolean; output: string }> {
  try {
    const r = await run('unshare', ['--net', 'sh', '-ec', script], { timeoutMs: 10_000 });
    return { ok: r.exitCode === 0, output: (r.stderr || r.stdout).trim() };
  } catch (err) {
    return { ok: false, output: (err as Error).message };
  }
}

function describeAction(a: Action): string {
  switch (a.kind) {
    case 'install-packages':
      return `apt-get install -y ${a.packages.join(' ')}`;
    case 'start-dockerd':
      return 'start dockerd';
    case 'build-base-image':
      return `build ${a.ref}`;
    case 'build-node-image':
      return `build ${a.ref}`;
  }
}

/**
 * Looks at everything ippc needs on this host and says what is missing and how to fix it. Never
 * changes anything (kernel probes run in throwaway namespaces) and never fails fast: every check
 * runs and reports.
 */
export async function diagnose(): Promise<Diagnosis> {
  const plan = await planBootstrap();
  const { facts } = plan;
  const checks: Check[] = [];
  const major = Number(process.versions.node.split('.')[0]);
  checks.push({ id: 'node', status: major >= 20 ? 'ok' : 'fail', what: 'Node.js 20 or newer', detail: process.version, fix: 'install Node.js 20' });
  checks.push({ id: 'root', status: facts.isRoot ? 'ok' : 'fail', what: 'running as root (namespaces, iptables, bridges)', fix: 'run as root (sudo)' });
  for (const f of plan.findings) {
    checks.push({ id: f.id, status: f.ok ? 'ok' : 'missing', what: f.what, fix: f.ok ? undefined : `${f.fix} (or: scripts/setup)` });
  }
  const docker = await dockerVersion();
  checks.push({
    id: 'dockerd',
    status: docker ? 'ok' : 'missing',
    what: 'a Docker daemon answering on DOCKER_HOST or /var/run/docker.sock',
    detail: docker ? `Docker ${docker.version}, API ${docker.apiVersion}` : 'no answer',
    fix: docker ? undefined : 'scripts/setup starts dockerd (log: /var/log/ippc/dockerd.log)',
  });
  for (const a of plan.actions.filter((x) => x.kind === 'build-base-image' || x.kind === 'build-node-image')) {
    checks.push({
      id: a.kind === 'build-base-image' ? 'base-image' : 'node-image',
      status: 'missing',
      what: `image ${'ref' in a ? a.ref : ''}`,
      fix: `${describeAction(a)} (scripts/setup)`,
    });
  }
  if (!plan.actions.some((a) => a.kind === 'build-base-image' || a.kind === 'build-node-image') && docker) {
    checks.push({ id: 'images', status: 'ok', what: 'base and node images built', detail: `${plan.images.base}, ${plan.images.node}` });
  }
  if (facts.isRoot) {
    const netns = await inScratchNetns('ip link set lo up');
    checks.push({
      id: 'netns',
      status: netns.ok ? 'ok' : 'fail',
      what: 'new network namespaces',
      detail: netns.ok ? undefined : netns.output,
      fix: 'a kernel with network namespaces (CONFIG_NET_NS) and unshare from util-linux',
    });
    const links = await inScratchNetns('ip link add ippcdoc0 type bridge && ip link add ippcdoc1 type veth peer name ippcdoc2');
    checks.push({
      id: 'links',
      status: links.ok ? 'ok' : 'fail',
      what: 'bridge and veth links',
      detail: links.ok ? undefined : links.output,
      fix: 'load the bridge and veth kernel modules',
    });
    if (facts.commands.nft) {
      const nft = await inScratchNetns('nft add table inet ippcdoctor && nft list tables');
      checks.push({
        id: 'nftables',
        status: nft.ok ? 'ok' : 'fail',
        what: 'nftables in the kernel',
        detail: nft.ok ? undefined : nft.output,
        fix: 'load nf_tables',
      });
    }
  }
  checks.push({
    id: 'ipv6',
    status: facts.ipv6 ? 'ok' : 'warn',
    what: 'IPv6 (for dual-stack networks and the IPv6 scenarios)',
    detail: facts.ipv6 ? undefined : 'no /proc/net/if_inet6: IPv6 scenarios are skipped',
  });
  for (const path of ['/var/lib', '/tmp']) {
    try {
      const s = await statfs(path);
      const freeGiB = (s.bavail * s.bsize) / 2 ** 30;
      checks.push({
        id: `disk:${path}`,
        status: freeGiB >= 4 ? 'ok' : freeGiB >= 1 ? 'warn' : 'fail',
        what: `free disk under ${path}`,
        detail: `${freeGiB.toFixed(1)} GiB`,
        fix: freeGiB >= 4 ? undefined : 'free some space (docker system prune removes unused images)',
      });
    } catch {
      // path absent: nothing to say
    }
  }
  return { checks, ready: !checks.some((c) => c.status === 'fail' || c.status === 'missing'), plan };
}
