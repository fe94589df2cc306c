import type { CheckReport, Endpoint } from './check.js';

// The SVG picture of `net check`: the observed matrix on the left, the topology on the right.

/** What the topology half of the picture shows: agents, their addresses and subnets, and routes. */
export interface Topology {
  agents: { id: string; nodeAddresses: string[]; subnets: string[] }[];
  routes?: { agentId: string; destination: string; via: string }[];
}

const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function groupColors(endpoints: Endpoint[]): Map<string, string> {
  const groups = [...new Set(endpoints.flatMap((e) => e.groups))].sort();
  return new Map(groups.map((g, i) => [g, PALETTE[i % PALETTE.length]!]));
}

/** Where a half of the picture ends: its right edge and its bottom. */
interface Extent {
  width: number;
  height: number;
}

/**
 * An SVG image (hand-built text, no dependencies): the observed matrix with mismatches and unknown
 * rows marked, and the topology (agents, their endpoints coloured by group, the routes).
 */
export function renderCheckSvg(report: CheckReport, topology?: Topology): string {
  const colors = groupColors(report.endpoints);
  const parts: string[] = [];
  const matrix = drawMatrix(report, colors, parts);
  const topo = drawTopology(report.endpoints, topology, colors, matrix.width + 20, parts);
  const width = Math.max(topo.width, matrix.width) + 20;
  const height = Math.max(matrix.height, topo.height);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}

/** The title, the observed matrix (one cell per pair, with its story as a tooltip) and its legend. */
function drawMatrix(report: CheckReport, colors: Map<string, string>, parts: string[]): Extent {
  const eps = report.endpoints;
  const n = eps.length;
  const size = 22;
  const label = Math.min(220, 14 + 7 * Math.max(...eps.map((e) => e.id.length), 4));
  const mx = label + 10;
  const my = label + 40;
  const wrong = new Set(report.mismatches.map((m) => `${m.from}\u0000${m.to}`));
  const matrixWidth = mx + n * size + 20;
  parts.push(
    `<text x="10" y="22" font-size="16" font-weight="bold">ippc net check: ${esc(report.status.toUpperCase())} (${report.counts.mismatches} mismatches, ${report.counts.unknownRows} unknown rows)</text>`,
  );
  parts.push(`<text x="10" y="42" font-size="11" fill="#444">row → column: can the row's endpoint open a connection to the column's</text>`);
  eps.forEach((e, i) => {
    const color = e.groups.length > 0 ? colors.get(e.groups[0]!)! : e.kind === 'container' ? '#666' : '#000';
    parts.push(`<text x="${mx - 6}" y="${my + i * size + size * 0.7}" font-size="11" text-anchor="end" fill="${color}">${esc(e.id)}</text>`);
    parts.push(`<text transform="translate(${mx + i * size + size * 0.7},${my - 6}) rotate(-60)" font-size="11" fill="${color}">${esc(e.id)}</text>`);
  });
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const x = mx + j * size;
      const y = my + i * size;
      let fill = '#ffffff';
      let mark = '';
      const title =
        i === j
          ? 'self'
          : `${eps[i]!.id} -> ${eps[j]!.id}: expected ${report.expected[i]![j] ? 'allowed' : 'blocked'} (${report.reasons[i]![j]}), observed ${report.observed[i]![j] === null ? 'unknown' : report.observed[i]![j] ? 'allowed' : 'blocked'}`;
      if (i === j) fill = '#eeeeee';
      else if (report.rows[i]!.status === 'unknown') {
        fill = '#ffe08a';
        mark = '?';
      } else if (wrong.has(`${eps[i]!.id}\u0000${eps[j]!.id}`)) {
        fill = '#e15759';
        mark = '!';
      } else fill = report.observed[i]![j] ? '#8cd17d' : '#555555';
      parts.push(`<rect x="${x}" y="${y}" width="${size - 1}" height="${size - 1}" fill="${fill}"><title>${esc(title)}</title></rect>`);
      if (mark) parts.push(`<text x="${x + size / 2 - 0.5}" y="${y + size * 0.72}" font-size="13" text-anchor="middle" font-weight="bold">${mark}</text>`);
    }
  }
  const ly = my + n * size + 24;
  const legend: [string, string][] = [
    ['#8cd17d', 'allowed'],
    ['#555555', 'blocked'],
    ['#e15759', 'differs from policy'],
    ['#ffe08a', 'unknown (control failed)'],
  ];
  // Stacked, so the legend stays under the matrix however narrow it is.
  legend.forEach(([c, t], k) => {
    parts.push(`<rect x="10" y="${ly + k * 18}" width="14" height="14" fill="${c}"/><text x="30" y="${ly + k * 18 + 12}" font-size="12">${esc(t)}</text>`);
  });
  return { width: matrixWidth, height: ly + legend.length * 18 + 10 };
}

const boxW = 230;
const rowH = 18;

/** Topology: one box per agent, its endpoints inside, the cluster network below, then the routes and the group colours. */
function drawTopology(eps: Endpoint[], topology: Topology | undefined, colors: Map<string, string>, tx: number, parts: string[]): Extent {
  const agentIds = topology?.agents.map((a) => a.id) ?? [...new Set(eps.map((e) => e.agentId))].sort();
  const maxBoxH = drawAgentBoxes(eps, topology, colors, agentIds, tx, parts);
  const netY = 50 + maxBoxH + 40;
  if (agentIds.length > 0) {
    const x0 = tx + boxW / 2;
    const x1 = tx + (agentIds.length - 1) * (boxW + 20) + boxW / 2;
    parts.push(`<line x1="${x0 - 40}" y1="${netY}" x2="${x1 + 40}" y2="${netY}" stroke="#333" stroke-width="4"/>`);
    parts.push(`<text x="${x0 - 40}" y="${netY + 18}" font-size="11">cluster network</text>`);
    agentIds.forEach((_, k) => {
      const x = tx + k * (boxW + 20) + boxW / 2;
      parts.push(`<line x1="${x}" y1="${50 + maxBoxH}" x2="${x}" y2="${netY}" stroke="#333" stroke-width="2"/>`);
    });
  }
  // Each agent's routes under its own box; routes of an agent not drawn go in a column after them.
  const routes = topology?.routes ?? [];
  const columns = new Map<number, string[]>();
  for (const r of routes) {
    const k = agentIds.indexOf(r.agentId);
    const col = k >= 0 ? k : agentIds.length;
    columns.set(col, [...(columns.get(col) ?? []), k >= 0 ? `${r.destination} via ${r.via}` : `${r.agentId}: ${r.destination} via ${r.via}`]);
  }
  let routeRows = 0;
  for (const [col, lines] of columns) {
    const x = tx + col * (boxW + 20);
    const shown = lines.slice(0, 40);
    parts.push(`<text x="${x}" y="${netY + 40}" font-size="10" font-weight="bold">routes</text>`);
    shown.forEach((line, r) => parts.push(`<text x="${x}" y="${netY + 54 + r * 14}" font-size="10">${esc(line)}</text>`));
    routeRows = Math.max(routeRows, shown.length + 1);
  }
  const groupsY = netY + 50 + routeRows * 14;
  [...colors].forEach(([g, c], k) => {
    parts.push(
      `<circle cx="${tx + 6 + (k % 4) * 120}" cy="${groupsY + Math.floor(k / 4) * 18}" r="6" fill="${c}"/><text x="${tx + 16 + (k % 4) * 120}" y="${groupsY + 4 + Math.floor(k / 4) * 18}" font-size="11">${esc(g)}</text>`,
    );
  });
  const topologyColumns = agentIds.length + (columns.has(agentIds.length) ? 1 : 0);
  return { width: tx + topologyColumns * (boxW + 20), height: groupsY + 30 + Math.ceil(colors.size / 4) * 18 };
}

/** One box per agent: its addresses and subnets, then its endpoints coloured by group. Returns the tallest box's height. */
function drawAgentBoxes(eps: Endpoint[], topology: Topology | undefined, colors: Map<string, string>, agentIds: string[], tx: number, parts: string[]): number {
  let maxBoxH = 0;
  // Subnets two per line: a box is 230 px wide, and an agent usually has three to six of them.
  const infoLines = (id: string): string[] => {
    const info = topology?.agents.find((a) => a.id === id);
    if (!info) return [];
    const lines = [info.nodeAddresses.join(' ')];
    for (let i = 0; i < info.subnets.length; i += 2) lines.push(info.subnets.slice(i, i + 2).join(' '));
    return lines;
  };
  agentIds.forEach((id, k) => {
    const x = tx + k * (boxW + 20);
    const y = 50;
    const lines = infoLines(id);
    const mine = eps.filter((e) => e.agentId === id);
    const top = 40 + lines.length * 12;
    const h = top + 8 + mine.length * rowH;
    maxBoxH = Math.max(maxBoxH, h);
    parts.push(`<rect x="${x}" y="${y}" width="${boxW}" height="${h}" rx="8" fill="#f7f7f7" stroke="#333"/>`);
    parts.push(`<text x="${x + 10}" y="${y + 18}" font-size="13" font-weight="bold">agent ${esc(id)}</text>`);
    lines.forEach((line, r) => parts.push(`<text x="${x + 10}" y="${y + 34 + r * 12}" font-size="10">${esc(line)}</text>`));
    mine.forEach((e, r) => {
      const ey = y + top + 12 + r * rowH;
      const fill = e.groups.length > 0 ? colors.get(e.groups[0]!)! : e.kind === 'container' ? '#bbbbbb' : '#ffffff';
      parts.push(`<circle cx="${x + 16}" cy="${ey - 4}" r="6" fill="${fill}" stroke="#333"/>`);
      const groups = e.kind === 'container' ? (e.groups.length > 0 ? `[${e.groups.join(',')}]` : '[no group]') : `(${e.kind})`;
      parts.push(`<text x="${x + 28}" y="${ey}" font-size="11">${esc(`${e.id} ${e.address} ${groups}`)}</text>`);
    });
  });
  return maxBoxH;
}
