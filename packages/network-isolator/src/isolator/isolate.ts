import { existsSync, writeFileSync } from 'node:fs';
import { containerAddresses, ipFamily, stripPrefix, messageOf as message } from '@ippc/core';
import { containerIdToString } from '@ippc/mesos';
import type { ContainerID } from '@ippc/proto';
import { NetworkIsolatorError, throwAll } from '../errors.js';
import { checkpointSync, paths } from '../checkpoint.js';
import { formatHosts, formatResolvConf, mergeDns } from '../files.js';
import { attach } from './attach.js';
import { teardown } from './cleanup.js';
import { init, type Info, type IsolatorContext } from './context.js';

/**
 * The isolator's `isolate()`: holds the network namespace of the container's first process, runs
 * ADD for every network and sets up hostname and files inside it. When it throws, everything is
 * already undone.
 */
export function isolate(ctx: IsolatorContext, containerId: ContainerID, pid: number): Promise<void> {
  const { logger, infos } = ctx;
  const cid = containerIdToString(containerId);
  return ctx.locks.run(cid, async () => {
    const info = infos.get(cid);
    if (info?.root !== undefined) return bindRootFiles(ctx, info.root, pid);
    if (!info || info.joinsParent || info.networks.length === 0) return;
    if (info.pid !== undefined) throw new NetworkIsolatorError('CNI_ALREADY_PREPARED', `Container ${cid} has already been isolated`);
    await init(ctx);
    info.pid = pid;
    const hostname = info.hostname ?? containerId.value ?? cid;
    try {
      await attachAll(ctx, info, pid, hostname);
      await writeNetworkFiles(ctx, info, pid, hostname);
    } catch (err) {
      // Nothing may stay behind a failed launch: DEL everything whose network.conf was written
      // (also after a failed ADD), drop the handle and the checkpoint.
      try {
        await teardown(ctx, info);
      } catch (cleanupError) {
        logger.error({ containerId: cid, err: message(cleanupError) }, `Failed to clean up container ${cid} after a failed isolate: ${message(cleanupError)}`);
      }
      throw err;
    }
  });
}

/**
 * A nested container in its root's network and UTS namespaces, with a mount namespace of its own:
 * the root's hosts, hostname and resolv.conf (else the host's, as the root sees it) bound over
 * `/etc/...` in it, so it resolves names as the root does. No hostname to set: the UTS is the root's.
 */
async function bindRootFiles(ctx: IsolatorContext, root: string, pid: number): Promise<void> {
  const { rootDir, host } = ctx;
  const binds = [
    { source: paths.hosts(rootDir, root), target: '/etc/hosts' },
    { source: paths.hostname(rootDir, root), target: '/etc/hostname' },
    ...(existsSync(paths.resolvConf(rootDir, root)) ? [{ source: paths.resolvConf(rootDir, root), target: '/etc/resolv.conf' }] : []),
  ];
  await host.setupContainer(pid, { binds, loopbackUp: false }).catch((err: unknown) => {
    throw new NetworkIsolatorError('CNI_SETUP_FAILED', `Failed to setup hostname and network files: ${message(err)}`, { cause: err });
  });
}

/** Mounts the namespace handle and sets up hostname, loopback and file binds, with every network's ADD alongside. */
async function attachAll(ctx: IsolatorContext, info: Info, pid: number, hostname: string): Promise<void> {
  const { rootDir, host } = ctx;
  const { cid } = info;
  // Small files written synchronously, as Mesos does: on a busy host a queue of async file
  // operations costs more than the writes themselves, and this is the launch path.
  checkpointSync(paths.hostname(rootDir, cid), hostname);
  // Rewritten in place once the addresses are known: the bind mount keeps the inode.
  writeFileSync(paths.hosts(rootDir, cid), formatHosts(hostname, undefined));
  // Hostname, loopback and the file binds do not depend on the ADD results: they run alongside
  // the ADDs, which start as soon as the namespace handle is mounted.
  const entered = host.enterContainer(pid, paths.netns(rootDir, cid), {
    hostname,
    loopbackUp: true,
    binds: [
      { source: paths.hosts(rootDir, cid), target: '/etc/hosts' },
      { source: paths.hostname(rootDir, cid), target: '/etc/hostname' },
    ],
  });
  const setup = entered.done.then(
    () => undefined,
    (err: unknown) => new NetworkIsolatorError('CNI_SETUP_FAILED', `Failed to setup hostname and network files: ${message(err)}`, { cause: err }),
  );
  const held = entered.held.then(
    () => true,
    () => false,
  );
  // All attaches in parallel, and wait for all, so no DEL can overtake a pending ADD.
  const results = await Promise.allSettled(info.networks.map((n) => attach(ctx, info, n, held)));
  try {
    await entered.held;
  } catch (err) {
    await setup;
    throw err;
  }
  const failures: unknown[] = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as unknown);
  const setupError = await setup;
  if (setupError) failures.push(setupError);
  if (failures.length > 0) throwAll(failures, 'CNI_ATTACH_FAILED');
}

/** Rewrites /etc/hosts with the first IPv4 address, and writes and binds resolv.conf when DNS is known. */
async function writeNetworkFiles(ctx: IsolatorContext, info: Info, pid: number, hostname: string): Promise<void> {
  const { options, rootDir, logger, host, hostResolvConf } = ctx;
  const { cid } = info;
  let firstIpv4: string | undefined;
  for (const n of info.networks) {
    const v4 = n.result ? containerAddresses(n.result, n.ifName).find((ip) => ipFamily(ip.address) === 4) : undefined;
    if (v4) {
      firstIpv4 = stripPrefix(v4.address);
      break;
    }
  }
  writeFileSync(paths.hosts(rootDir, cid), formatHosts(hostname, firstIpv4));
  const dns = mergeDns(
    info.networks.map((n) =>
      n.result?.dns.nameservers?.length ? n.result.dns : (options.defaultDns?.networks?.[n.name] ?? options.defaultDns?.default ?? {}),
    ),
  );
  if (!dns.nameservers?.length) {
    // The container keeps seeing the host's resolver file (it shares the host's filesystem).
    if (!existsSync(hostResolvConf)) throw new NetworkIsolatorError('CNI_SETUP_FAILED', "Cannot find host's /etc/resolv.conf");
    logger.info({ containerId: cid }, `Unable to find DNS nameservers for container ${cid}, using host '/etc/resolv.conf'`);
  } else {
    logger.info({ containerId: cid }, `DNS nameservers for container ${cid} are: ${dns.nameservers.join(', ')}`);
    checkpointSync(paths.resolvConf(rootDir, cid), formatResolvConf(dns));
    await host
      .setupContainer(pid, { binds: [{ source: paths.resolvConf(rootDir, cid), target: '/etc/resolv.conf' }], loopbackUp: false })
      .catch((err: unknown) => {
        throw new NetworkIsolatorError('CNI_SETUP_FAILED', `Failed to setup hostname and network files: ${message(err)}`, { cause: err });
      });
  }
}
