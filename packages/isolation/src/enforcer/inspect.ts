import { IsolationError } from '../errors.js';
import type { Member } from '../model.js';
import type { EnforcerContext } from './context.js';
import type { EnforcerView } from './enforcer.js';
import { readRoutes } from './routes.js';
import { compileRuleset } from './ruleset.js';

// What the kernel holds, read back: the table's sets and ippc's routes.

async function listTable(ctx: EnforcerContext): Promise<{ nftables?: Record<string, { name?: string; elem?: unknown[] }>[] } | undefined> {
  const res = await ctx.runner.run('nft', ['-j', 'list', 'table', 'inet', ctx.table]);
  if (res.code !== 0) return undefined;
  return JSON.parse(res.stdout) as { nftables?: Record<string, { name?: string; elem?: unknown[] }>[] };
}

export async function inspect(ctx: EnforcerContext): Promise<EnforcerView> {
  const json = await listTable(ctx);
  const sets: Record<string, string[]> = {};
  for (const item of json?.nftables ?? []) {
    const set = item.set;
    if (!set?.name) continue;
    sets[set.name] = (set.elem ?? []).map((e) => (typeof e === 'string' ? e : JSON.stringify(e))).sort();
  }
  const routes = ctx.manageRoutes ? [...(await readRoutes(ctx))].map(([destination, via]) => ({ destination, via })) : [];
  return { tablePresent: json !== undefined, sets, routes };
}

/** Throws ISOLATION_CHECK_FAILED unless every address of `member` is in the sets of `view` it should be in. */
export function checkMemberInView(ctx: EnforcerContext, member: Member, view: EnforcerView): void {
  if (!view.tablePresent)
    throw new IsolationError(
      'ISOLATION_CHECK_FAILED',
      `the isolation table inet ${ctx.table} is missing on agent ${ctx.agentId}: restart ippc-isolation-node to rebuild it`,
    );
  const rs = compileRuleset({ members: [member], rules: [] }, ctx.agentId, ctx.table);
  const missing: string[] = [];
  for (const s of rs.sets.values()) for (const e of s.elements) if (!view.sets[s.name]?.includes(e)) missing.push(`${e} in ${s.name}`);
  if (missing.length > 0) {
    throw new IsolationError(
      'ISOLATION_CHECK_FAILED',
      `container ${member.containerId}/${member.ifName} is not isolated as attached: missing ${missing.join(', ')}`,
      { details: { missing } },
    );
  }
}
