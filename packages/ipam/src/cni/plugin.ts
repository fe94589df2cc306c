import { CNI_FORWARDER_SOURCES, installCniForwarder, type CniForwarderFlavor } from '@ippc/core';
import { SUPPORTED_CNI_VERSIONS } from './cni-handler.js';
import { CNI_URL_PATH, DEFAULT_DAEMON_SOCKET } from './node-daemon.js';

/** The forwarder sources the plugin is built from (shared by every ippc CNI plugin, in @ippc/core). */
export const PLUGIN_SOURCES = CNI_FORWARDER_SOURCES;

export type PluginFlavor = CniForwarderFlavor;

export interface InstallPluginOptions {
  /** The CNI plugin folder to install into (e.g. /opt/cni/bin or a test's temp dir). */
  dir: string;
  /**
   * 'native': the static C forwarder compiled with `cc` (about 1 ms per exec); 'sh': POSIX sh +
   * curl (no compiler needed, 12-15 ms slower per call). Default 'native' when it compiles, else 'sh'.
   */
  flavor?: PluginFlavor;
  /** File name. Default 'ippc-ipam' (the `type` in the CNI config). */
  name?: string;
}

/**
 * Installs the thin `ippc-ipam` executable into a CNI plugin folder (atomically: a runtime may be
 * executing the old one): @ippc/core's CNI forwarder, built to find its socket at
 * `ipam.daemonSocket` (default /run/ippc/ipam.sock) and call `POST /v1/cni`. The logic runs in
 * the node daemon (`createIpamNodeDaemon`). Throws `CniForwarderError` (`CNI_FORWARDER_BUILD_FAILED`
 * when flavor 'native' was asked for and does not compile).
 */
export function installIpamPlugin(options: InstallPluginOptions): { path: string; flavor: PluginFlavor } {
  return installCniForwarder({
    dir: options.dir,
    name: options.name ?? 'ippc-ipam',
    defaultSocket: DEFAULT_DAEMON_SOCKET,
    socketKey: 'ipam.daemonSocket',
    urlPath: CNI_URL_PATH,
    host: 'ippc-ipam',
    // VERSION is answered by the executable: the same list the daemon checks against.
    supportedVersions: SUPPORTED_CNI_VERSIONS,
    daemon: 'the ippc-ipam node daemon',
    hint: 'start ippc-ipam-node (or the agent) and retry',
    flavor: options.flavor,
  });
}
