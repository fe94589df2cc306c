import { CniError, compareVersions, silentLogger, type CniRequest, type Logger } from '@ippc/core';
import { IpamError } from '../errors.js';
import type { IpamApi } from '../types.js';
import { add } from './add.js';
import { check } from './check.js';
import { CNI_ERROR_CODES, errorOutput } from './cni-errors.js';
import { parseConf, requireEnv } from './net-conf.js';
import { createPoolCache, type PoolCache } from './pools.js';

/** CNI spec versions this plugin speaks. Results follow the config's `cniVersion`. */
export const SUPPORTED_CNI_VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;

/** What the plugin prints and how it exits. `output` is '' when the command prints nothing. */
export interface CniResponse {
  ok: boolean;
  output: string;
}

export interface CniHandlerOptions {
  ipam: IpamApi;
  /** This node's name: the lease's node and owner, and the scope of CNI GC. */
  node: string;
  logger?: Logger;
}

export interface CniHandler {
  handle(request: CniRequest): Promise<CniResponse>;
}

/** What the verbs share: the IPAM, this node, the log, and the pools this daemon ensured. */
export interface HandlerContext {
  ipam: IpamApi;
  node: string;
  log: Logger;
  pools: PoolCache;
}

/**
 * The logic of the `ippc-ipam` CNI IPAM plugin, run by the long-running node daemon: the
 * executable in the CNI plugin folder only forwards its environment and standard input here.
 */
export function createCniHandler(options: CniHandlerOptions): CniHandler {
  const { ipam, node } = options;
  const log = options.logger ?? silentLogger();
  const ctx: HandlerContext = { ipam, node, log, pools: createPoolCache(ipam) };

  return {
    async handle(req) {
      let cniVersion = '1.0.0';
      try {
        if (req.command === 'VERSION') {
          let v = '1.0.0';
          try {
            const c = JSON.parse(req.stdin) as { cniVersion?: unknown };
            if (typeof c?.cniVersion === 'string') v = c.cniVersion;
          } catch {
            // VERSION may come with an empty config
          }
          return { ok: true, output: JSON.stringify({ cniVersion: v, supportedVersions: SUPPORTED_CNI_VERSIONS }) };
        }
        const conf = parseConf(req.stdin);
        cniVersion = conf.cniVersion;
        if (!(SUPPORTED_CNI_VERSIONS as readonly string[]).includes(cniVersion)) {
          throw new CniError(
            CNI_ERROR_CODES.INCOMPATIBLE_VERSION,
            `ippc-ipam does not speak CNI ${cniVersion}; it speaks ${SUPPORTED_CNI_VERSIONS.join(', ')}`,
          );
        }
        switch (req.command) {
          case 'ADD':
            return { ok: true, output: JSON.stringify(await add(ctx, req, conf)) };
          case 'DEL': {
            // No netns needed: IPAM releases even when the namespace is gone (CNI spec: DEL must succeed if already gone).
            const env = requireEnv(req);
            await ipam.release({ network: conf.name, containerId: env.containerId, ifName: env.ifName });
            return { ok: true, output: '' };
          }
          case 'CHECK':
            if (compareVersions(cniVersion, '0.4.0') < 0)
              throw new CniError(CNI_ERROR_CODES.INCOMPATIBLE_VERSION, `CHECK needs cniVersion 0.4.0 or later, the config says ${cniVersion}`);
            await check(ctx, req, conf);
            return { ok: true, output: '' };
          case 'GC': {
            const list = conf['cni.dev/valid-attachments'] ?? conf['cni.dev/attachments'] ?? [];
            const valid = list.filter((a) => a.containerID && a.ifname).map((a) => ({ containerId: a.containerID!, ifName: a.ifname! }));
            const r = await ipam.garbageCollect({ network: conf.name, node, valid });
            log.info({ network: conf.name, reclaimed: r.reclaimed.length, suspected: r.suspected.length }, 'CNI GC');
            return { ok: true, output: '' };
          }
          case 'STATUS':
            try {
              await ipam.listPools(conf.name);
            } catch (err) {
              throw new CniError(CNI_ERROR_CODES.STATUS_NOT_AVAILABLE, `the IPAM service is not available: ${(err as Error).message}`);
            }
            return { ok: true, output: '' };
          default:
            throw new CniError(CNI_ERROR_CODES.INVALID_ENV, `unknown CNI_COMMAND: ${req.command || '(empty)'}`);
        }
      } catch (err) {
        if (!(err instanceof CniError) && !(err instanceof IpamError)) log.error({ err: (err as Error).message }, 'CNI call failed');
        return errorOutput(cniVersion, err);
      }
    },
  };
}
