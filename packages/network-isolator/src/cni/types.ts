// The CNI data model as the runtime holds it. Results of every spec version (0.1.0 to 1.0.0) are
// read into one internal form, the 1.0.0 shape, and written back in whatever version a plugin
// expects (see result.ts).

/** Spec versions this runtime speaks, oldest first. */
export const SUPPORTED_CNI_VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0'] as const;
export type CniVersion = (typeof SUPPORTED_CNI_VERSIONS)[number];

export interface CniInterface {
  name: string;
  mac?: string;
  /** The netns path for an interface inside the container; absent for host-side interfaces. */
  sandbox?: string;
  mtu?: number;
}

export interface CniIpConfig {
  /** CIDR, e.g. `10.220.1.5/24` or `fd10:220::5/64`. */
  address: string;
  gateway?: string;
  /** Index into `interfaces`. */
  interface?: number;
}

export interface CniRoute {
  dst: string;
  gw?: string;
  [key: string]: unknown;
}

export interface CniDns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

/** A plugin's ADD result in the internal (1.0.0-shaped) form. `cniVersion` is the version it came in. */
export interface CniResult {
  cniVersion: string;
  interfaces: CniInterface[];
  ips: CniIpConfig[];
  routes: CniRoute[];
  dns: CniDns;
}

/** One plugin object of a network configuration (`type` plus anything the plugin reads). */
export interface PluginConfig {
  type: string;
  /** The object as written in the file (and as checkpointed, with `args` injected). */
  raw: Record<string, unknown>;
}

/**
 * A network configuration: a conflist (`plugins: [...]`), or a single plugin config treated as a
 * list of one (`single: true`; sent to the plugin as it is, Mesos's way).
 */
export interface NetworkConfigList {
  name: string;
  /** `cniVersion` of the file; a single config without one is treated as `0.1.0` (the spec's default). */
  cniVersion: string;
  disableCheck: boolean;
  single: boolean;
  plugins: PluginConfig[];
  /** The whole JSON object as written. */
  raw: Record<string, unknown>;
}

/** Per-attachment parameters (libcni's RuntimeConf). */
export interface RuntimeConf {
  /** CNI_CONTAINERID. */
  containerId: string;
  /** CNI_NETNS; omitted on DEL when the namespace is gone. */
  netns?: string;
  /** CNI_IFNAME. */
  ifName: string;
  /** CNI_ARGS as key/value pairs (deprecated by the spec; Mesos never sets it). */
  args?: Array<[string, string]>;
  /** Capability arguments (`portMappings`, `bandwidth`, `ips`, ...): injected as `runtimeConfig` into plugins that declare them. */
  capabilityArgs?: Record<string, unknown>;
}

/** The CNI error object a failing plugin prints on stdout. */
export interface CniErrorObject {
  cniVersion?: string;
  code: number;
  msg: string;
  details?: string;
}
