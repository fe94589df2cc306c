import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IpamError } from '../errors.js';

/** The plugin sources shipped with the package. */
export const PLUGIN_SOURCES = {
  native: fileURLToPath(new URL('../../cni/ippc-ipam.c', import.meta.url)),
  sh: fileURLToPath(new URL('../../cni/ippc-ipam.sh', import.meta.url)),
};

export type PluginFlavor = 'native' | 'sh';

export interface InstallPluginOptions {
  /** The CNI plugin folder to install into (e.g. /opt/cni/bin or a test's temp dir). */
  dir: string;
  /**
   * 'native': a static C forwarder compiled with `cc` (about 1 ms per exec); 'sh': POSIX sh +
   * curl (no compiler needed, about 15 ms slower per call). Default 'native' when `cc` works, else 'sh'.
   */
  flavor?: PluginFlavor;
  /** File name. Default 'ippc-ipam' (the `type` in the CNI config). */
  name?: string;
}

function hasCompiler(): boolean {
  try {
    execFileSync('cc', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Installs the thin `ippc-ipam` executable into a CNI plugin folder (atomically: a runtime may be
 * executing the old one). The logic runs in the node daemon (`createIpamNodeDaemon`).
 */
export function installIpamPlugin(options: InstallPluginOptions): { path: string; flavor: PluginFlavor } {
  const flavor = options.flavor ?? (hasCompiler() ? 'native' : 'sh');
  mkdirSync(options.dir, { recursive: true });
  const path = join(options.dir, options.name ?? 'ippc-ipam');
  const tmp = `${path}.tmp-${process.pid}`;
  if (flavor === 'native') {
    try {
      execFileSync('cc', ['-O2', '-static', '-o', tmp, PLUGIN_SOURCES.native], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? '';
      throw new IpamError('IPAM_BAD_REQUEST', `cannot compile the native ippc-ipam plugin with cc: ${stderr || (err as Error).message}; install gcc or use flavor 'sh'`, {
        cause: err,
        output: { stderr },
      });
    }
  } else {
    if (!existsSync(PLUGIN_SOURCES.sh)) throw new IpamError('IPAM_BAD_REQUEST', `plugin script missing: ${PLUGIN_SOURCES.sh}`);
    copyFileSync(PLUGIN_SOURCES.sh, tmp);
  }
  chmodSync(tmp, 0o755);
  renameSync(tmp, path);
  return { path, flavor };
}
