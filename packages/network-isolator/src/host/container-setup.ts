import { readFileSync } from 'node:fs';
import type { ContainerSetup, HostOps } from './host-ops.js';
import { exec, shellQuote } from './exec.js';
import { refuseShared } from './namespaces.js';
import { residentHelper, type Syscalls } from './perl-helper.js';

// Setting a container up from inside its namespaces: file binds, hostname, loopback. Done by the
// resident perl helper when there is one, else by util-linux (nsenter, sh, mount, ip).

/** How the setup is done: the `nsenter` binary, and the perl helper's syscall numbers (undefined: util-linux). */
export interface SetupTools {
  nsenter: string;
  perlSyscalls: () => Promise<Syscalls | undefined>;
}

/** Whether the container's root mount still propagates to the host (then it must become a slave first). */
async function needsRslave(pid: number): Promise<boolean> {
  let mountinfo: string;
  try {
    mountinfo = readFileSync(`/proc/${pid}/mountinfo`, 'utf8');
  } catch {
    mountinfo = ' shared:';
  }
  return mountinfo.includes(' shared:');
}

/** `HostOps.setupContainer`. */
export async function setupContainer(tools: SetupTools, pid: number, setup: ContainerSetup): Promise<void> {
  const { nsenter, perlSyscalls } = tools;
  await refuseShared(pid, ['mnt', 'uts', 'net']);
  // A mount namespace cloned from a shared root would propagate our binds back to the host: make
  // it a slave first (Mesos's setup helper always does; we skip it when it already is).
  const rslave = await needsRslave(pid);
  const sys = await perlSyscalls();
  if (sys) return residentHelper(sys).run(pid, '', rslave, setup).done;
  const lines = ['set -e'];
  if (rslave) lines.push('mount --make-rslave /');
  for (const b of setup.binds) {
    const t = shellQuote(b.target);
    lines.push(`[ -e ${t} ] || : > ${t}`, `mount --bind ${shellQuote(b.source)} ${t}`);
  }
  if (setup.hostname !== undefined) lines.push(`printf '%s' ${shellQuote(setup.hostname)} > /proc/sys/kernel/hostname`);
  if (setup.loopbackUp) lines.push('ip link set dev lo up');
  const ns = ['--mount', ...(setup.hostname !== undefined ? ['--uts'] : []), ...(setup.loopbackUp ? ['--net'] : [])];
  await exec(nsenter, [`--target=${pid}`, ...ns, '--', 'sh', '-c', lines.join('\n')]);
}

/** `HostOps.enterContainer`: the handle and the setup by one helper request, else `ops.holdNetns` and `ops.setupContainer`. */
export function enterContainer(
  tools: SetupTools,
  ops: Pick<HostOps, 'holdNetns' | 'setupContainer'>,
  pid: number,
  handle: string,
  setup: ContainerSetup,
): { held: Promise<void>; done: Promise<void> } {
  const { perlSyscalls } = tools;
  const checked = Promise.all([refuseShared(pid, ['net', 'mnt', 'uts']), needsRslave(pid), perlSyscalls()]);
  const both = checked.then(([, rslave, sys]) =>
    sys ? residentHelper(sys).run(pid, handle, rslave, setup) : { held: ops.holdNetns(pid, handle), done: ops.setupContainer(pid, setup) },
  );
  const held = both.then((b) => b.held);
  const done = both.then((b) => b.done);
  done.catch(() => undefined);
  return { held, done };
}
