import { familyBits } from '@ippc/core';
import { parseAddress, parseCidr } from '../ip.js';
import type { RouteSpec } from '../model.js';
import type { EnforcerContext } from './context.js';
import { must } from './runner.js';

// The routes to other agents' container subnets: `ip route ... proto <N>`, where the protocol
// number marks the routes as ippc's own.

export async function readRoutes(ctx: EnforcerContext): Promise<Map<string, string>> {
  const routes = new Map<string, string>();
  for (const fam of ['-4', '-6']) {
    const res = await must(ctx.runner, 'reading routes', 'ip', ['-j', fam, 'route', 'show', 'proto', String(ctx.proto)]);
    const list = JSON.parse(res.stdout.trim() || '[]') as { dst: string; gateway?: string }[];
    for (const r of list)
      routes.set(r.dst.includes('/') ? parseCidr(r.dst, true).text : parseCidr(`${r.dst}/${familyBits(parseAddress(r.dst).family)}`).text, r.gateway ?? '');
  }
  return routes;
}

export async function syncRoutes(ctx: EnforcerContext, desired: RouteSpec[]): Promise<{ added: number; removed: number; errors: string[] }> {
  if (!ctx.manageRoutes) return { added: 0, removed: 0, errors: [] };
  const { runner, proto } = ctx;
  const appliedRoutes = (ctx.appliedRoutes ??= await readRoutes(ctx));
  const want = new Map(desired.map((r) => [r.destination, r.via]));
  const lines: string[] = [];
  for (const [dst] of appliedRoutes) if (!want.has(dst)) lines.push(`route del ${dst} proto ${proto}`);
  const removed = lines.length;
  for (const [dst, via] of want) if (appliedRoutes.get(dst) !== via) lines.push(`route replace ${dst} via ${via} proto ${proto}`);
  if (lines.length === 0) return { added: 0, removed: 0, errors: [] };
  const errors: string[] = [];
  const batch = await runner.run('ip', ['-batch', '-'], lines.join('\n') + '\n');
  if (batch.code !== 0) {
    // One by one, so one unreachable next hop does not hold back the other routes.
    for (const line of lines) {
      const res = await runner.run('ip', line.split(' '));
      if (res.code !== 0 && !(line.startsWith('route del') && /No such process/.test(res.stderr))) errors.push(`${line}: ${res.stderr.trim()}`);
    }
  }
  // What failed is retried on the next apply: forget what the kernel holds.
  ctx.appliedRoutes = errors.length > 0 ? undefined : want;
  return { added: lines.length - removed, removed, errors };
}

/** Deletes every route of ippc's protocol. */
export async function removeRoutes(ctx: EnforcerContext): Promise<void> {
  const routes = await readRoutes(ctx);
  for (const [dst] of routes) await ctx.runner.run('ip', ['route', 'del', dst, 'proto', String(ctx.proto)]);
}
