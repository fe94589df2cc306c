// One CNI call as the daemon side of a thick plugin sees it, whoever delivered it: the forwarder
// over the socket (createCniDaemon reads it from the request) or a runtime in the same process.

/** One CNI call: the plugin's `CNI_*` environment and its standard input. */
export interface CniRequest {
  /** `CNI_COMMAND`: ADD, DEL, CHECK, GC, STATUS, VERSION ('' when unset). */
  command: string;
  /** `CNI_CONTAINERID`. */
  containerId?: string;
  /** `CNI_NETNS`. */
  netns?: string;
  /** `CNI_IFNAME`. */
  ifName?: string;
  /** `CNI_ARGS` ("K=V;K2=V2"). */
  args?: string;
  /** `CNI_PATH`. */
  path?: string;
  /** The network configuration JSON (standard input). */
  stdin: string;
}

/** The answer to one call: 200 and the plugin's standard output, or 400 and a CNI error JSON. */
export interface CniResponse {
  status: 200 | 400;
  body: string;
}
