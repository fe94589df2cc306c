import { installCniForwarder, type CniForwarderFlavor } from '@ippc/core';
import { CNI_URL_PATH, DEFAULT_NODE_DAEMON_SOCKET, SUPPORTED_CNI_VERSIONS } from './handler.js';

export type IsolationPluginFlavor = CniForwarderFlavor;

export interface InstallIsolationPluginOptions {
  /** The CNI plugin folder to install into (e.g. /opt/cni/bin, or a folder put first on CNI_PATH). */
  dir: string;
  /**
   * 'native': the static C forwarder compiled with `cc` (about 1 ms per exec; build it on a machine
   * with gcc and copy or mount the binary where there is none); 'sh': POSIX sh + curl (no
   * compiler needed, 12-15 ms slower per call). Default 'native' when it compiles, else 'sh'.
   */
  flavor?: IsolationPluginFlavor;
  /** File name. Default 'ippc-isolation' (the `type` in the conflist). */
  name?: string;
}

/**
 * Installs the chained CNI plugin `ippc-isolation` into a CNI plugin folder, atomically: @ippc/core's
 * CNI forwarder built to find the node daemon's socket at the config's top-level `socket`
 * (default /run/ippc/isolation.sock) and call `POST /cni`. VERSION is answered by the executable;
 * every other verb by `ippc-isolation-node`. Throws `CniForwarderError`
 * (`CNI_FORWARDER_BUILD_FAILED` when flavor 'native' was asked for and does not compile).
 *
 * @example
 * ```ts
 * const { path, flavor } = installIsolationPlugin({ dir: '/opt/cni/bin' });
 * ```
 */
export function installIsolationPlugin(options: InstallIsolationPluginOptions): { path: string; flavor: IsolationPluginFlavor } {
  return installCniForwarder({
    dir: options.dir,
    name: options.name ?? 'ippc-isolation',
    defaultSocket: DEFAULT_NODE_DAEMON_SOCKET,
    socketKey: 'socket',
    urlPath: CNI_URL_PATH,
    host: 'ippc-isolation',
    supportedVersions: SUPPORTED_CNI_VERSIONS,
    daemon: 'ippc-isolation-node',
    hint: 'start the node daemon, then retry',
    flavor: options.flavor,
  });
}
