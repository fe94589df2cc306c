import { IsolationError } from '../errors.js';
import type { EnforcerContext } from './context.js';

// Bridged traffic between containers on one bridge crosses the forward hook only through
// br_netfilter: without it they would bypass isolation. Checked (and set if possible) once.

export async function checkBridgeNetfilter(ctx: EnforcerContext): Promise<void> {
  if (ctx.netfilterChecked || !ctx.requireBridgeNetfilter) return;
  for (const key of ['bridge-nf-call-iptables', 'bridge-nf-call-ip6tables']) {
    const res = await ctx.runner.run('cat', [`/proc/sys/net/bridge/${key}`]);
    const value = res.stdout.trim();
    if (res.code !== 0) {
      throw new IsolationError(
        'ISOLATION_BRIDGE_NETFILTER',
        `net.bridge.${key} is missing: bridged traffic between containers would bypass isolation. Load br_netfilter (modprobe br_netfilter) on the host`,
      );
    }
    if (value !== '1') {
      const set = await ctx.runner.run('sysctl', ['-q', '-w', `net.bridge.${key}=1`]);
      if (set.code !== 0) {
        throw new IsolationError(
          'ISOLATION_BRIDGE_NETFILTER',
          `net.bridge.${key} is ${value} and cannot be set to 1 (${set.stderr.trim()}): bridged traffic would bypass isolation. Start the agent with --sysctl net.bridge.${key}=1`,
        );
      }
    }
  }
  ctx.netfilterChecked = true;
}
