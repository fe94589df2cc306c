import { readFile } from 'node:fs/promises';
import { exists } from '@ippc/core';
import { containerIdToString } from '@ippc/mesos';
import type { ContainerID } from '@ippc/proto';
import { CniPluginError, NetworkIsolatorError } from '../errors.js';
import { parseNetworkConfig } from '../cni/config.js';
import { paths } from '../checkpoint.js';
import type { IsolatorContext } from './context.js';
import { capabilityArgsFor } from './request.js';

/** The isolator's `check()`: CNI CHECK for every network of a live container, with its checkpointed config. */
export function check(ctx: IsolatorContext, containerId: ContainerID): Promise<void> {
  const { rootDir, runtime, infos } = ctx;
  const cid = containerIdToString(containerId);
  return ctx.locks.run(cid, async () => {
    const info = infos.get(cid);
    if (!info) throw new NetworkIsolatorError('CNI_CHECK_FAILED', `Unknown container ${cid}`);
    for (const n of info.networks) {
      const confPath = paths.networkConfig(rootDir, cid, n.name);
      if (!(await exists(confPath))) throw new NetworkIsolatorError('CNI_CHECK_FAILED', `Container ${cid} is not attached to CNI network '${n.name}'`);
      const list = parseNetworkConfig(await readFile(confPath, 'utf8'));
      try {
        await runtime.checkNetworkList(list, {
          containerId: cid,
          netns: paths.netns(rootDir, cid),
          ifName: n.ifName,
          capabilityArgs: capabilityArgsFor(n.networkInfo),
        });
      } catch (err) {
        if (err instanceof CniPluginError) {
          throw new NetworkIsolatorError(
            'CNI_CHECK_FAILED',
            `The CNI plugin '${err.plugin}' failed to check container ${cid} on CNI network '${n.name}': stdout='${err.stdout}', stderr='${err.stderr}'`,
            { cause: err, output: err.output },
          );
        }
        throw err;
      }
    }
  });
}
