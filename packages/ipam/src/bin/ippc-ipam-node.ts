#!/usr/bin/env -S node --import tsx
// ippc-ipam-node: the node daemon behind the `ippc-ipam` CNI IPAM plugin, run alone (the agent
// embeds the same library, createIpamNodeDaemon).
//
//   node --import tsx packages/ipam/src/bin/ippc-ipam-node.ts --service HOST:PORT [--socket PATH]
//        [--node NAME] [--install-plugin DIR [--flavor native|sh]] [--no-auth]
//
// Token: IPPC_TOKEN. Prints one JSON line {"socket"} on standard output once listening.
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { createLogger } from '@ippc/core';
import { createIpamClient } from '../client.js';
import { DEFAULT_DAEMON_SOCKET, createIpamNodeDaemon } from '../cni/node-daemon.js';
import { installIpamPlugin, type PluginFlavor } from '../cni/plugin.js';

const log = createLogger({ component: 'ipam-node' });

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      service: { type: 'string' },
      socket: { type: 'string', default: DEFAULT_DAEMON_SOCKET },
      node: { type: 'string', default: hostname() },
      'install-plugin': { type: 'string' },
      flavor: { type: 'string' },
      'no-auth': { type: 'boolean' },
    },
  });
  if (!values.service) throw new Error('--service HOST:PORT (the ippc-ipam-server address) is required');
  const auth = values['no-auth'] ? { disabled: true as const } : process.env.IPPC_TOKEN ? { token: process.env.IPPC_TOKEN } : undefined;
  if (!auth) throw new Error('no credentials: set IPPC_TOKEN, or pass --no-auth for local play');
  if (values['install-plugin']) {
    const installed = installIpamPlugin({ dir: values['install-plugin'], flavor: values.flavor as PluginFlavor | undefined });
    log.info(installed, 'installed the ippc-ipam CNI plugin');
  }
  const ipam = createIpamClient({ address: values.service, auth });
  const daemon = createIpamNodeDaemon({ ipam, socketPath: values.socket, node: values.node, logger: log });
  await daemon.start();
  process.stdout.write(JSON.stringify({ socket: daemon.socketPath, node: values.node }) + '\n');
  const stop = async () => {
    await daemon.close();
    ipam.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

main().catch((err: unknown) => {
  process.stderr.write(`ippc-ipam-node: ${(err as Error).message}\n`);
  process.exit(1);
});
