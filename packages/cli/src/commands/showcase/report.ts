import { renderTable } from '@ippc/core';
import type { Cluster } from '@ippc/testbed';
import type { NetCheckRun } from '../../net-check.js';
import { containerizerText, networksText, type TaskView } from '../../tasks-view.js';
import { netCheckText } from '../net.js';
import type { Outcome } from './launch.js';

/** What a showcase run found, for its report. */
export interface ShowcaseFindings {
  cluster: Cluster;
  /** The name it was asked for (the tear-down line names it). */
  name: string;
  /** When the showcase started the cluster. */
  readyAfterMs: number | undefined;
  outcomes: Outcome[];
  /** `/master/state`'s view of the showcase's tasks. */
  views: TaskView[];
  /** The cluster DNS's answer per task id. */
  dns: Map<string, { name: string; answer: string }>;
  check: NetCheckRun & { svgPath: string };
}

/** The showcase's table of tasks, the matrix and how to tear down, as text and as JSON; `ok` when every task ran and the matrix passed. */
export function showcaseReport(findings: ShowcaseFindings): { ok: boolean; report: Record<string, unknown>; text: string } {
  const { cluster, name, readyAfterMs, outcomes, views, dns, check } = findings;
  const dnsText = (id: string, address: string | undefined) => {
    const d = dns.get(id);
    if (!d) return '-';
    return d.answer === address ? d.name : `${d.name} -> ${d.answer || 'nothing'}`;
  };
  const rows = [
    ['TASK', 'STATE', 'AGENT', 'CONTAINERIZER', 'NETWORKS', 'GROUPS', 'ADDRESSES', 'DNS NAME', 'SHOWS'],
    ...outcomes.map((o) => {
      const v = views.find((t) => t.id === o.id);
      return [
        o.name,
        o.state.replace(/^TASK_/, ''),
        v?.agent ?? '-',
        v ? containerizerText(v) : '-',
        v ? networksText(v) : '-',
        v?.groups.join(',') || '-',
        v?.addresses.join(',') || '-',
        dnsText(o.id ?? '', v?.addresses[0]),
        o.why,
      ];
    }),
  ];
  const failed = outcomes.filter((o) => o.state !== 'TASK_RUNNING');

  const down = `ippc cluster down${name === 'ippc' ? '' : ` --name ${name}`}`;
  const text = [
    `cluster ${cluster.name}: ${cluster.agents.length} agents, master ${cluster.master.url}${readyAfterMs !== undefined ? `, ready after ${(readyAfterMs / 1000).toFixed(1)} s` : ''}`,
    '',
    'tasks (DNS NAME: <task>.<framework>.<domain>, asked of the cluster DNS, answers the address shown; otherwise "-> answer")',
    renderTable(rows),
    ...(failed.length ? ['', 'tasks that did not run:', ...failed.map((o) => `  ${o.name}: ${o.state}${o.message ? `: ${o.message}` : ''}`)] : []),
    '',
    netCheckText(check),
    '',
    `tear down: ${down}   (from the repository: npm run -s ippc -- cluster down)`,
  ].join('\n');
  const report = {
    cluster: {
      name: cluster.name,
      agents: cluster.agents.map((a) => a.address),
      master: cluster.master.url,
      ...(readyAfterMs !== undefined ? { readyAfterMs } : {}),
    },
    tasks: outcomes.map((o) => ({ ...o, view: views.find((t) => t.id === o.id), dns: dns.get(o.id ?? '') })),
    netCheck: {
      status: check.report.status,
      mismatches: check.report.mismatches,
      counts: check.report.counts,
      endpoints: check.endpoints.map(({ netns: _n, ...e }) => e),
      skipped: check.skipped,
    },
    svg: check.svgPath,
    teardown: down,
  };
  return { ok: failed.length === 0 && check.report.status === 'pass', report, text };
}
