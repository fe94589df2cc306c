import type { CniTrace } from '../cni/handler.js';
import { IsolationError } from '../errors.js';
import { memberKeyString, type Member, type MemberKey } from '../model.js';
import { sameMembership } from '../state.js';
import { record } from './checkpoint.js';
import type { NodeDaemonContext } from './context.js';
import { enforce } from './enforce.js';
import { push } from './sync.js';
import { waitFor } from './wait.js';

// Local first: a member is recorded in the checkpoint and enforced here before the call returns;
// the service is told afterwards, in the background.

function conflict(ctx: NodeDaemonContext, m: Member): IsolationError | undefined {
  const key = memberKeyString(m);
  const mine = new Set(m.addresses);
  for (const other of ctx.local.values()) {
    if (memberKeyString(other) === key) continue;
    const addr = other.addresses.find((a) => mine.has(a));
    if (addr) return inUse(addr, memberKeyString(other));
  }
  // Another agent's member, as the service last said. (This agent's own members are known
  // from the checkpoint: the service's view of them may lag behind a DEL.)
  for (const other of ctx.base?.members ?? []) {
    if (other.agentId === ctx.me) continue;
    const addr = other.addresses.find((a) => mine.has(a));
    if (addr) return inUse(addr, memberKeyString(other));
  }
  return undefined;
}
const inUse = (address: string, holder: string) =>
  new IsolationError(
    'ISOLATION_ADDRESS_IN_USE',
    `address ${address} is still attached to ${holder}: detach that container first (or deregister its agent if it is gone)`,
    { details: { address, holder } },
  );

const notEnforced = (ctx: NodeDaemonContext, what: string) => () =>
  `${what} was not enforced on agent ${ctx.me} within ${ctx.applyTimeoutMs} ms (${ctx.connected ? 'connected' : 'not connected to the isolation service'}${ctx.lastError ? `; last error: ${ctx.lastError}` : ''}): retry, and check ippc-isolation-node's log`;

const journalFailed = (ctx: NodeDaemonContext, cause: unknown) =>
  new IsolationError('ISOLATION_ENFORCEMENT_FAILED', `cannot write the checkpoint journal ${ctx.journalFile}: ${(cause as Error).message}`, { cause });

/** Of `enforce`: the apply that covered the change, split into nft's round trip and the rest. */
function noteApply(ctx: NodeDaemonContext, trace: CniTrace | undefined): void {
  const lastApply = ctx.apply.lastApply;
  if (!trace?.note || !lastApply) return;
  trace.note('enforce.nft', lastApply.kernelMs);
  trace.note('enforce.compile', lastApply.durationMs - lastApply.kernelMs);
}

/** Records the member, enforces it locally, and resolves; the service learns it in the background. */
export async function attach(ctx: NodeDaemonContext, member: Member, trace?: CniTrace): Promise<void> {
  const m = { ...member, agentId: ctx.me };
  const key = memberKeyString(m);
  const version = await ctx.checkpoint.lock.run(async () => {
    const err = conflict(ctx, m);
    if (err) throw err;
    const old = ctx.local.get(key);
    if (old && sameMembership(old, m)) return ctx.localVersion;
    const next = old ? { ...m, attachedAtMs: old.attachedAtMs } : m;
    // The checkpoint first (a failed write leaves nothing behind), then the kernel.
    try {
      record(ctx, { set: next });
    } catch (cause) {
      throw journalFailed(ctx, cause);
    }
    ctx.local.set(key, next);
    const v = ++ctx.localVersion;
    trace?.mark('record');
    void enforce(ctx);
    return v;
  });
  // Membership takes effect here, before ADD returns (and so before the task is RUNNING). The
  // service is told afterwards (setImmediate: after this answer is on its way), so its round
  // trip and what comes back through the watch do not hold up the answer.
  try {
    await waitFor(ctx, () => (ctx.applied?.localVersion ?? -1) >= version, ctx.applyTimeoutMs, notEnforced(ctx, `container ${m.containerId}/${m.ifName}`));
    trace?.mark('enforce');
    noteApply(ctx, trace);
  } finally {
    setImmediate(() => void push(ctx));
  }
}

/** Forgets the member, removes it locally, and resolves; the service learns it in the background. */
export async function detach(ctx: NodeDaemonContext, key: MemberKey, trace?: CniTrace): Promise<void> {
  const k = memberKeyString({ ...key, agentId: ctx.me });
  const version = await ctx.checkpoint.lock.run(async () => {
    const old = ctx.local.get(k);
    if (!old) return undefined;
    try {
      record(ctx, { del: k });
    } catch (cause) {
      throw journalFailed(ctx, cause);
    }
    ctx.local.delete(k);
    const v = ++ctx.localVersion;
    trace?.mark('record');
    void enforce(ctx);
    return v;
  });
  if (version === undefined) return;
  // Gone from the local sets before DEL returns. A DEL that cannot be enforced still succeeds:
  // the member is out of the checkpoint, and the enforcer retries with a rebuild.
  await waitFor(ctx, () => (ctx.applied?.localVersion ?? -1) >= version, ctx.applyTimeoutMs, notEnforced(ctx, `the removal of ${k}`)).catch((err: unknown) =>
    ctx.log.error({ err }, 'DEL recorded but not yet enforced'),
  );
  trace?.mark('enforce');
  noteApply(ctx, trace);
  // The service keeps the address "in use" for IPAM until it hears of the removal and every
  // agent has applied it: told in the background, on reconnect if it is away now.
  setImmediate(() => void push(ctx));
}

/** Throws unless the member is attached here as given, held by the service, and in the kernel's sets. */
export async function check(ctx: NodeDaemonContext, member: Member): Promise<void> {
  const { me } = ctx;
  const m = { ...member, agentId: me };
  const key = memberKeyString(m);
  const mine = ctx.local.get(key);
  if (!mine) throw new IsolationError('ISOLATION_CHECK_FAILED', `container ${m.containerId}/${m.ifName} is not attached on agent ${me}: ADD it again`);
  if (!sameMembership(mine, m))
    throw new IsolationError(
      'ISOLATION_CHECK_FAILED',
      `container ${m.containerId}/${m.ifName} is attached with ${mine.addresses.join(',')} in [${mine.groups.join(',')}], not ${m.addresses.join(',')} in [${m.groups.join(',')}]`,
    );
  // Other agents learn of the member through the service: give a pending sync its time.
  const held = () => ctx.live && ctx.connected && (ctx.base?.members.some((x) => sameMembership(x, m)) ?? false);
  await waitFor(
    ctx,
    held,
    ctx.applyTimeoutMs,
    () =>
      `the isolation service does not hold container ${m.containerId}/${m.ifName} as attached${ctx.syncError ? ` (${ctx.syncError})` : ctx.connected ? '' : ' (not connected to it)'}: the node daemon keeps telling it; retry`,
  ).catch((err: unknown) => {
    throw new IsolationError('ISOLATION_CHECK_FAILED', (err as Error).message, { cause: err });
  });
  await ctx.enforcer.verifyMember(m);
}
